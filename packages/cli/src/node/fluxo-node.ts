import { join } from 'node:path';
import { ConfigError, gauge, type Logger, type Registry, type ResolvedConfig } from '@fluxo/common';
import type { Broker, Listener, OpsServer } from '@fluxo/broker';
import type { Controller, ControllerConfig, VoterAddress } from '@fluxo/controller';

/** Kafka's KRaft metadata log directory name: the controller's Raft log and snapshots live there. */
export const CONTROLLER_DIR = '__cluster_metadata-0';
/** A cluster-mode broker's copy of the metadata log (LevelDB). */
export const METADATA_COPY_DIR = '__fluxo_metadata_copy';

/** Raft ticks per election timeout: the tick is a tenth of controller.quorum.election.timeout.ms. */
const ELECTION_TICKS = 10;
const HEARTBEAT_TICKS = 2;

export interface NodeParts {
  readonly broker: Broker | null;
  readonly controller: Controller | null;
}

/**
 * One `fluxo start` process. Without controller.quorum.voters it is today's combined single node (the broker
 * is its own controller, metadata in LevelDB). With voters it is a KRaft-style cluster node: process.roles says
 * whether it runs a controller of the quorum (Raft over gRPC on the CONTROLLER listener), a broker that follows
 * the quorum's metadata log and forwards changes to it, or both.
 */
export class FluxoNode {
  private broker: Broker | null = null;
  private controller: Controller | null = null;
  private ops: OpsServer | null = null;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly logger: Logger,
    private readonly registry: Registry,
    private readonly onFatal: (err: Error) => void,
  ) {}

  get parts(): NodeParts {
    return { broker: this.broker, controller: this.controller };
  }

  async start(): Promise<void> {
    const { Broker, parseListeners } = await import('@fluxo/broker');
    const votersText = this.config.stringOrNull('controller.quorum.voters');
    if (votersText === null) {
      this.broker = new Broker({ config: this.config, logger: this.logger, registry: this.registry });
      await this.broker.start();
      // A single node is its own (always active) controller: the "exactly one active controller" signal holds.
      gauge(this.registry, 'fluxo_controller_active', '1 when this node is the active controller (raft leader)').set(1);
      return;
    }
    const { ClusterMetadataStore, Controller, parseQuorumVoters, resolveControllerConfig } = await import('@fluxo/controller');
    const roles = this.config.list('process.roles');
    const nodeId = this.config.number('node.id');
    const voters = parseQuorumVoters(votersText);
    const dataDir = this.config.string('log.dirs');
    const listeners = parseListeners('listeners', this.config.list('listeners'));
    if (roles.includes('controller')) {
      const controllerConfig = resolveControllerConfig({
        nodeId,
        voters,
        dataDir: join(dataDir, CONTROLLER_DIR),
        ...controllerListener(this.config, listeners, voters.get(nodeId)),
        ...raftTiming(this.config),
        brokerSessionTimeoutMs: this.config.number('broker.session.timeout.ms'),
        brokerHeartbeatIntervalMs: this.config.number('broker.heartbeat.interval.ms'),
        snapshotIntervalEntries: this.config.number('metadata.snapshot.interval.entries'),
        autoLeaderRebalanceEnable: this.config.boolean('auto.leader.rebalance.enable'),
        leaderImbalanceCheckIntervalMs: this.config.number('leader.imbalance.check.interval.seconds') * 1000,
        leaderImbalancePerBrokerPercentage: this.config.number('leader.imbalance.per.broker.percentage'),
      });
      this.controller = new Controller(controllerConfig, this.logger, this.registry, this.onFatal);
      await this.controller.start();
    } else if (voters.has(nodeId)) {
      throw new ConfigError('process.roles', `node ${nodeId} is listed in controller.quorum.voters, so it must have the controller role`);
    }
    if (roles.includes('broker')) {
      const store = new ClusterMetadataStore({
        location: join(dataDir, METADATA_COPY_DIR),
        nodeId,
        voters,
        logger: this.logger,
        heartbeatIntervalMs: this.config.number('broker.heartbeat.interval.ms'),
        requestTimeoutMs: this.config.number('request.timeout.ms'),
        controlledShutdownTimeoutMs: this.config.boolean('controlled.shutdown.enable') ? this.config.number('broker.session.timeout.ms') : 0,
      });
      this.broker = new Broker({ config: this.config, logger: this.logger, registry: this.registry, metadataStore: store });
      await this.broker.start();
    } else {
      // A controller-only node still answers /metrics, /health and /ready (ready: a leader is known).
      const metricsPort = this.config.number('metrics.port');
      if (metricsPort >= 0) {
        const { OpsServer } = await import('@fluxo/broker');
        const controller = this.controller;
        this.ops = new OpsServer({
          host: controllerListener(this.config, listeners, voters.get(nodeId)).host,
          port: metricsPort,
          registry: this.registry,
          isReady: () => controller !== null && controller.node.describeQuorum().leaderId !== null,
          logger: this.logger.child({ component: 'ops' }),
        });
        await this.ops.listen();
      }
      this.logger.info({ nodeId, roles, controllerPort: this.controller?.port ?? -1, metricsPort: this.ops?.port ?? -1 }, 'Fluxo controller node started');
    }
  }

  async stop(): Promise<void> {
    // Broker first: its controlled shutdown needs the controllers.
    await this.broker?.stop();
    await this.controller?.stop();
    await this.ops?.stop();
  }
}

function controllerListener(config: ResolvedConfig, listeners: readonly Listener[], self: VoterAddress | undefined): { host: string; port: number } {
  const names = config.list('controller.listener.names').map((n) => n.toUpperCase());
  const listener = listeners.find((l) => names.includes(l.name));
  if (listener !== undefined) return { host: listener.host === '' ? '0.0.0.0' : listener.host, port: listener.port };
  if (self !== undefined) return { host: self.host, port: self.port };
  throw new ConfigError('listeners', `a controller needs a ${names.join('/')}://host:port listener or its own entry in controller.quorum.voters`);
}

/** Kafka's controller.quorum.election.timeout.ms as Raft ticks. */
function raftTiming(config: ResolvedConfig): Pick<ControllerConfig, 'tickMs' | 'electionTicks' | 'heartbeatTicks' | 'proposalTimeoutMs'> {
  const electionMs = config.number('controller.quorum.election.timeout.ms');
  return {
    tickMs: Math.max(1, Math.floor(electionMs / ELECTION_TICKS)),
    electionTicks: ELECTION_TICKS,
    heartbeatTicks: HEARTBEAT_TICKS,
    proposalTimeoutMs: config.number('controller.quorum.request.timeout.ms') * 2,
  };
}
