import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { assert, type Logger, type Registry, type ResolvedConfig } from '@fluxo/common';
import { LogManager, logConfigFromResolved } from '@fluxo/storage';
import type { BrokerContext } from './broker-context.js';
import { PartitionLogHost } from './cluster/partition-log-host.js';
import { TopicAdmin } from './cluster/topic-admin.js';
import { TopicRegistry } from './cluster/topic-registry.js';
import { clientListener } from './config/listeners.js';
import { effectiveTopicConfig } from './config/topic-config.js';
import { lockDataDir } from './data-dir-lock.js';
import { BrokerOffsetsTopic } from './group/broker-offsets-topic.js';
import { groupConfigFrom } from './group/group-config.js';
import { GroupCoordinator } from './group/group-coordinator.js';
import { createHandlerRegistry } from './handlers/index.js';
import { OpsServer } from './http/ops-server.js';
import { BrokerRouter } from './handlers/router.js';
import { LevelMetadataStore } from './metadata/level-metadata-store.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import { createBrokerMetrics } from './metrics.js';
import { SocketServer } from './network/socket-server.js';
import { ReplicationService } from './replication/replication-service.js';

/** The metadata store's directory inside the data dir (not a `<topic>-<partition>` name). */
export const METADATA_DIR = '__fluxo_metadata';

export interface BrokerOptions {
  config: ResolvedConfig;
  logger: Logger;
  registry: Registry;
  /** Defaults to LevelDB in `<log.dirs>/__fluxo_metadata`; the controller-quorum issue passes a Raft-backed one. */
  metadataStore?: MetadataStore;
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * A single Fluxo node: combined controller + broker. Owns the metadata store, the partition logs and the
 * Kafka-protocol listener.
 */
export class Broker {
  private readonly config: ResolvedConfig;
  private readonly logger: Logger;
  private readonly registry: Registry;
  private state: State = 'new';
  private server: SocketServer | null = null;
  private metadata: MetadataStore | null = null;
  private logManager: LogManager | null = null;
  private topicRegistry: TopicRegistry | null = null;
  private replication: ReplicationService | null = null;
  private unlock: (() => Promise<void>) | null = null;
  private unsubscribe: (() => void) | null = null;
  private groups: GroupCoordinator | null = null;
  private unsubscribeGroups: (() => void) | null = null;
  private boundPort = -1;
  private ops: OpsServer | null = null;
  private stopping: Promise<void> | null = null;
  private starting: Promise<void> | null = null;
  private readonly listenHost: string;
  readonly nodeId: number;
  readonly dataDir: string;

  constructor(private readonly opts: BrokerOptions) {
    this.config = opts.config;
    this.nodeId = this.config.number('node.id');
    // The node logger already carries nodeId and role on every line.
    this.logger = opts.logger;
    this.registry = opts.registry;
    this.dataDir = resolve(this.config.string('log.dirs'));
    this.listenHost = clientListener('listeners', this.config.list('listeners')).host;
  }

  /** Bound port (config port 0 = ephemeral). */
  get port(): number {
    assert(this.boundPort >= 0, 'broker is not started');
    return this.boundPort;
  }

  /** The host clients are told to dial (advertised listener host). */
  get host(): string {
    return this.advertised().host;
  }

  start(): Promise<void> {
    assert(this.state === 'new', `broker cannot start from state ${this.state}`);
    this.state = 'starting';
    this.starting = this.startInner().then(
      () => {
        this.state = 'running';
      },
      async (err: unknown) => {
        await this.shutdown().catch((e: unknown) => this.logger.error({ err: e }, 'cleanup after failed start failed'));
        this.state = 'stopped';
        throw err;
      },
    );
    return this.starting;
  }

  private async startInner(): Promise<void> {
    const config = this.config;
    const metricsPort = config.number('metrics.port');
    if (metricsPort >= 0) {
      // First, so /health answers and /ready says 503 during a long recovery.
      const ops = new OpsServer({
        host: this.listenHost,
        port: metricsPort,
        registry: this.registry,
        isReady: () => this.state === 'running',
        logger: this.logger.child({ component: 'ops' }),
      });
      await ops.listen();
      this.ops = ops;
    }
    await mkdir(this.dataDir, { recursive: true });
    this.unlock = await lockDataDir(this.dataDir);
    const metrics = createBrokerMetrics(this.registry);

    const metadata = this.opts.metadataStore ?? new LevelMetadataStore(join(this.dataDir, METADATA_DIR), this.logger.child({ component: 'metadata' }));
    this.metadata = metadata;
    await metadata.open({ clusterId: config.stringOrNull('cluster.id') });
    const image = metadata.image();

    const logManager = new LogManager({
      dataDir: this.dataDir,
      logger: this.logger,
      registry: this.registry,
      configFor: (topic) => {
        const t = metadata.image().topics.get(topic);
        return logConfigFromResolved(effectiveTopicConfig(config, t?.configs ?? {}));
      },
      retentionCheckIntervalMs: config.number('log.retention.check.interval.ms'),
      cleanerBackoffMs: config.number('log.cleaner.backoff.ms'),
      cleanerEnabled: config.boolean('log.cleaner.enable'),
      producerIdExpirationMs: config.number('producer.id.expiration.ms'),
      producerIdExpirationCheckIntervalMs: config.number('producer.id.expiration.check.interval.ms'),
    });
    const host = new PartitionLogHost(this.dataDir, logManager, this.logger.child({ component: 'partitions' }));
    await host.cleanDataDir(image, this.nodeId);
    this.logManager = logManager;
    await logManager.start();

    const topics = new TopicRegistry(config, host, this.logger.child({ component: 'topics' }), (n) => metrics.partitions.set(n));
    this.topicRegistry = topics;
    await topics.load(image);
    this.unsubscribe = metadata.subscribe((records, next) => topics.apply(records, next));
    // ---- replication (replication helper's block): REPLICATION listener, follower fetchers, ISR changes ----
    const replication = new ReplicationService({ nodeId: this.nodeId, config, topics, metadata, logger: this.logger, registry: this.registry });
    this.replication = replication;
    const replicationEndpoint = await replication.start();
    // ---- end of the replication block ----
    const admin = new TopicAdmin(config, metadata, topics, this.logger.child({ component: 'admin' }));
    // After the logs are open: the coordinator rebuilds groups and offsets from __consumer_offsets.
    const groups = new GroupCoordinator({
      config: groupConfigFrom(config),
      // Groups follow the leadership of their __consumer_offsets partition (load on election, unload on resignation).
      topic: new BrokerOffsetsTopic(topics, admin, { metadata, nodeId: this.nodeId }),
      topicPartitions: (name) => topics.topic(name)?.partitionCount,
      logger: this.logger.child({ component: 'groups' }),
      registry: this.registry,
      highWatermark: (topic, partition) => topics.topic(topic)?.partition(partition)?.highWatermark,
    });
    this.groups = groups;
    await groups.start();
    this.unsubscribeGroups = metadata.subscribe((records, _next, previous) => {
      for (const r of records) {
        if (r.type !== 'TopicDeleted') continue;
        const name = previous.topicsById.get(r.topicId)?.name;
        if (name !== undefined) void groups.onTopicDeleted(name).catch((err: unknown) => this.logger.error({ err, topic: name }, 'dropping offsets of a deleted topic failed'));
      }
    });

    const context: BrokerContext = {
      nodeId: this.nodeId,
      config,
      metadata,
      topics,
      admin,
      groups,
      handlers: createHandlerRegistry(),
      metrics,
      logger: this.logger,
      advertised: () => this.advertised(),
      nowMs: () => Date.now(),
    };
    const server = new SocketServer({
      host: this.listenHost,
      port: clientListener('listeners', config.list('listeners')).port,
      limits: {
        maxRequestBytes: config.number('socket.request.max.bytes'),
        maxQueuedRequests: config.number('queued.max.requests'),
        maxQueuedRequestBytes: config.number('queued.max.request.bytes'),
        idleTimeoutMs: config.number('connections.max.idle.ms'),
      },
      router: new BrokerRouter(context),
      logger: this.logger.child({ component: 'network' }),
      connectionsGauge: metrics.connections,
    });
    await server.listen();
    this.server = server;
    this.boundPort = server.port;
    const self = this.advertised();
    await metadata.registerBroker({ nodeId: this.nodeId, rack: self.rack, endpoints: [{ listener: 'PLAINTEXT', host: self.host, port: self.port }, replicationEndpoint] });
    // The parent logger: this line carries nodeId itself (the CLI and test harnesses parse it).
    this.opts.logger.info(
      { host: self.host, port: self.port, metricsPort: this.metricsPort, nodeId: this.nodeId, dataDir: this.dataDir, clusterId: metadata.clusterId(), topics: image.topics.size },
      'Fluxo node started',
    );
  }

  /** The address in Metadata responses: advertised.listeners, else the listener (bound port for port 0). */
  advertised(): { host: string; port: number; rack: string | null } {
    const advertised = this.config.list('advertised.listeners');
    const listener = clientListener(advertised.length > 0 ? 'advertised.listeners' : 'listeners', advertised.length > 0 ? advertised : this.config.list('listeners'));
    let host = listener.host;
    // Kafka advertises the canonical host name for a wildcard listener.
    if (host === '' || host === '0.0.0.0' || host === '::') host = hostname();
    const port = listener.port === 0 ? this.boundPort : listener.port;
    return { host, port, rack: this.config.stringOrNull('broker.rack') };
  }

  /** Graceful: stop accepting, answer in-flight requests (long polls end early), close logs cleanly. */
  stop(): Promise<void> {
    // Idempotent: a second SIGINT while stopping waits for the same shutdown.
    if (this.stopping) return this.stopping;
    if (this.state === 'starting' && this.starting) {
      // Stop requested mid-start (SIGINT during recovery): let start settle, then stop.
      const starting = this.starting;
      this.stopping = starting.then(
        () => {
          this.stopping = null;
          return this.stop();
        },
        () => undefined,
      );
      return this.stopping;
    }
    if (this.state === 'stopped' || this.state === 'new') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    assert(this.state === 'running', `broker cannot stop from state ${this.state}`);
    this.state = 'stopping';
    this.stopping = this.shutdown().then(() => {
      this.state = 'stopped';
      this.logger.info({ dataDir: this.dataDir }, 'Fluxo node stopped');
    });
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    // Kafka's controlled shutdown: leadership moves to other replicas while this node still serves.
    if (this.server !== null) await this.metadata?.controlledShutdown().catch((err: unknown) => this.logger.warn({ err }, 'controlled shutdown failed; stopping anyway'));
    await this.server?.stop();
    this.server = null;
    // Before the logs close: pending joins/syncs answer NOT_COORDINATOR, timers stop.
    this.unsubscribeGroups?.();
    this.unsubscribeGroups = null;
    await this.groups?.stop();
    this.groups = null;
    // ---- replication (replication helper's block): stop fetching and serving before the logs close ----
    await this.replication?.stop();
    this.replication = null;
    // ---- end of the replication block ----
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.topicRegistry?.close();
    this.topicRegistry = null;
    await this.logManager?.close();
    this.logManager = null;
    await this.metadata?.close();
    this.metadata = null;
    await this.unlock?.();
    this.unlock = null;
    await this.ops?.stop();
    this.ops = null;
  }

  /** Bound port of the metrics/health HTTP server, or -1 when `metrics.port` is -1. */
  get metricsPort(): number {
    return this.ops?.port ?? -1;
  }
}
