import { ConfigError } from '@fluxo/common';

export interface VoterAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** Kafka's controller.quorum.voters: `id@host:port,id@host:port,...` (IPv6 hosts in brackets). */
export function parseQuorumVoters(text: string): Map<number, VoterAddress> {
  const voters = new Map<number, VoterAddress>();
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^(\d+)@(\[[^\]]+\]|[^:@]+):(\d+)$/.exec(part);
    if (m === null) throw new ConfigError('controller.quorum.voters', `'${part}' is not of the form id@host:port`);
    const nodeId = Number(m[1]);
    const port = Number(m[3]);
    if (!Number.isSafeInteger(nodeId) || nodeId > 0x7fffffff) throw new ConfigError('controller.quorum.voters', `bad node id in '${part}'`);
    if (port < 1 || port > 65535) throw new ConfigError('controller.quorum.voters', `bad port in '${part}'`);
    if (voters.has(nodeId)) throw new ConfigError('controller.quorum.voters', `node id ${nodeId} listed twice`);
    voters.set(nodeId, { nodeId, host: m[2] as string, port });
  }
  if (voters.size === 0) throw new ConfigError('controller.quorum.voters', 'no voters given');
  return voters;
}

export function voterTarget(v: VoterAddress): string {
  return `${v.host}:${v.port}`;
}

/** Kafka's process.roles: controller, broker, or both. */
export type ProcessRole = 'controller' | 'broker';

export function parseProcessRoles(text: string): ProcessRole[] {
  const roles = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (roles.length === 0) throw new ConfigError('process.roles', 'must name controller, broker or both');
  for (const r of roles) if (r !== 'controller' && r !== 'broker') throw new ConfigError('process.roles', `unknown role '${r}'`);
  if (new Set(roles).size !== roles.length) throw new ConfigError('process.roles', 'a role is listed twice');
  return roles as ProcessRole[];
}

export interface ControllerConfig {
  /** node.id */
  readonly nodeId: number;
  /** controller.quorum.voters; must contain nodeId. */
  readonly voters: ReadonlyMap<number, VoterAddress>;
  readonly dataDir: string;
  /** Listener of the controller's gRPC server (raft + controller API); port 0 = ephemeral. */
  readonly host: string;
  readonly port: number;
  /** Raft tick. Election timeout is randomized in [electionTicks, 2 * electionTicks) ticks. */
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Take a state-machine snapshot (and compact the log) every this many applied entries. */
  readonly snapshotIntervalEntries: number;
  /** Entries kept before the snapshot index for followers slightly behind. */
  readonly snapshotRetainEntries: number;
  /** Kafka broker.session.timeout.ms: a broker not heard from for this long is fenced. */
  readonly brokerSessionTimeoutMs: number;
  /** Kafka broker.heartbeat.interval.ms: returned to brokers as their heartbeat cadence. */
  readonly brokerHeartbeatIntervalMs: number;
  /** A proposal not committed within this fails with REQUEST_TIMED_OUT. */
  readonly proposalTimeoutMs: number;
  readonly maxPendingProposals: number;
  readonly maxQueuedMessagesPerPeer: number;
  /** gRPC message limit (raft batches, API calls). */
  readonly maxMessageBytes: number;
  /** Raft maxSizePerMsgBytes: entry bytes per append. */
  readonly maxAppendBytes: number;
  readonly maxWatchers: number;
  /** Committed batches kept in memory for watchers that reconnect; older ones get a full image. */
  readonly watchRetainBatches: number;
  /** A watcher whose unsent stream buffer grows past this is disconnected (it reconnects and catches up). */
  readonly maxWatchBufferBytes: number;
  /** Kafka auto.leader.rebalance.enable / leader.imbalance.check.interval.seconds / leader.imbalance.per.broker.percentage. */
  readonly autoLeaderRebalanceEnable: boolean;
  readonly leaderImbalanceCheckIntervalMs: number;
  readonly leaderImbalancePerBrokerPercentage: number;
}

export const CONTROLLER_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  tickMs: 100,
  electionTicks: 10,
  heartbeatTicks: 2,
  snapshotIntervalEntries: 1000,
  snapshotRetainEntries: 200,
  brokerSessionTimeoutMs: 9000,
  brokerHeartbeatIntervalMs: 2000,
  proposalTimeoutMs: 5000,
  maxPendingProposals: 1024,
  maxQueuedMessagesPerPeer: 1024,
  maxMessageBytes: 16 * 1024 * 1024,
  maxAppendBytes: 1024 * 1024,
  maxWatchers: 256,
  watchRetainBatches: 4096,
  maxWatchBufferBytes: 8 * 1024 * 1024,
  autoLeaderRebalanceEnable: true,
  leaderImbalanceCheckIntervalMs: 300_000,
  leaderImbalancePerBrokerPercentage: 10,
} as const;

export function resolveControllerConfig(c: Partial<ControllerConfig> & Pick<ControllerConfig, 'nodeId' | 'voters' | 'dataDir'>): ControllerConfig {
  const config: ControllerConfig = { ...CONTROLLER_DEFAULTS, ...c };
  if (!Number.isInteger(config.nodeId) || config.nodeId < 0) throw new ConfigError('node.id', `must be a non-negative integer, got ${config.nodeId}`);
  if (!config.voters.has(config.nodeId)) throw new ConfigError('controller.quorum.voters', `does not contain this node's id ${config.nodeId}`);
  for (const key of [
    'tickMs',
    'electionTicks',
    'heartbeatTicks',
    'snapshotIntervalEntries',
    'brokerSessionTimeoutMs',
    'brokerHeartbeatIntervalMs',
    'proposalTimeoutMs',
    'maxPendingProposals',
    'maxQueuedMessagesPerPeer',
    'maxMessageBytes',
    'maxAppendBytes',
    'maxWatchers',
    'watchRetainBatches',
    'maxWatchBufferBytes',
  ] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v <= 0) throw new ConfigError(key, `must be a positive integer, got ${v}`);
  }
  if (config.maxAppendBytes * 2 > config.maxMessageBytes) throw new ConfigError('maxAppendBytes', 'must be at most half of maxMessageBytes');
  return config;
}
