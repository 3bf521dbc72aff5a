import { hostname } from 'node:os';
import { assert, type BrokerEndpoint, type Logger, type MetadataImage, type Registry, type ResolvedConfig } from '@fluxo/common';
import type { Partition, ReplicaHost } from '../cluster/partition.js';
import type { TopicRegistry } from '../cluster/topic-registry.js';
import { parseListeners } from '../config/listeners.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { FetcherManager, REPLICATION_LISTENER } from './fetcher-manager.js';
import type { FetcherConfig } from './leader-fetcher.js';
import { createReplicationMetrics, type ReplicationMetrics } from './replication-metrics.js';
import { ReassignmentThrottle } from './reassignment-throttle.js';
import { ReplicationServer } from './replication-server.js';

/** What replication needs of the metadata store: the image, and commit for AlterPartition (ISR changes). */
export type ReplicationMetadata = Pick<MetadataStore, 'image' | 'commit'>;

export interface ReplicationServiceOptions {
  readonly nodeId: number;
  readonly config: ResolvedConfig;
  readonly topics: TopicRegistry;
  readonly metadata: ReplicationMetadata;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly nowMs?: () => number;
}

/** Where the REPLICATION listener binds: `REPLICATION://host:port` in listeners, else port 0 on the client listener's host. */
export function replicationListener(config: ResolvedConfig): { host: string; port: number } {
  const listeners = parseListeners('listeners', config.list('listeners'));
  const own = listeners.find((l) => l.name === REPLICATION_LISTENER);
  if (own !== undefined) return { host: own.host, port: own.port };
  const client = listeners.find((l) => l.name === 'PLAINTEXT');
  return { host: client?.host ?? '127.0.0.1', port: 0 };
}

/**
 * The broker's replication engine (Kafka's ReplicaManager, replication half): the gRPC server followers fetch
 * from, the fetchers this broker's follower partitions use, the ISR expiration task, and the AlterPartition
 * path through the metadata store. Partitions (cluster/partition.ts) hold the per-replica state; the topic
 * registry attaches them here and reports image changes.
 */
export class ReplicationService implements ReplicaHost {
  readonly nodeId: number;
  readonly replicaLagTimeMaxMs: number;
  private readonly metrics: ReplicationMetrics;
  private readonly server: ReplicationServer;
  private readonly fetchers: FetcherManager;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private isrTimer: NodeJS.Timeout | null = null;
  private bound: BrokerEndpoint | null = null;
  private state: 'new' | 'started' | 'stopped' = 'new';

  constructor(private readonly opts: ReplicationServiceOptions) {
    this.nodeId = opts.nodeId;
    this.logger = opts.logger.child({ component: 'replication' });
    this.clock = opts.nowMs ?? Date.now;
    const c = opts.config;
    this.replicaLagTimeMaxMs = c.number('replica.lag.time.max.ms');
    this.metrics = createReplicationMetrics(opts.registry, () => opts.topics.hostedPartitions());
    this.server = new ReplicationServer({
      nodeId: this.nodeId,
      partitions: opts.topics,
      image: () => this.image(),
      logger: this.logger,
      metrics: this.metrics,
      nowMs: this.clock,
      throttle: new ReassignmentThrottle(c.number('leader.replication.throttled.rate'), this.clock),
    });
    const fetcherConfig: FetcherConfig = {
      maxWaitMs: c.number('replica.fetch.wait.max.ms'),
      minBytes: c.number('replica.fetch.min.bytes'),
      maxBytes: c.number('replica.fetch.response.max.bytes'),
      partitionMaxBytes: c.number('replica.fetch.max.bytes'),
      backoffMs: c.number('replica.fetch.backoff.ms'),
      socketTimeoutMs: c.number('replica.socket.timeout.ms'),
    };
    this.fetchers = new FetcherManager(
      {
        nodeId: this.nodeId,
        brokerEpoch: () => this.image().brokers.get(this.nodeId)?.brokerEpoch ?? -1,
        config: fetcherConfig,
        logger: this.logger,
        metrics: this.metrics,
        nowMs: this.clock,
      },
      () => this.image(),
      this.logger,
    );
  }

  /**
   * Binds the REPLICATION listener, attaches the hosted partitions (followers start fetching) and starts the
   * ISR expiration task. Returns the endpoint to register for this broker (advertised host, bound port).
   */
  async start(): Promise<BrokerEndpoint> {
    assert(this.state === 'new', `replication cannot start from state ${this.state}`);
    this.state = 'started';
    const listen = replicationListener(this.opts.config);
    const port = await this.server.listen(listen.host, listen.port);
    this.bound = { listener: REPLICATION_LISTENER, host: this.advertisedHost(listen.host), port };
    this.opts.topics.attachReplication(this);
    const intervalMs = Math.max(1, Math.floor(this.replicaLagTimeMaxMs / 2));
    this.isrTimer = setInterval(() => this.expireIsr(), intervalMs);
    this.isrTimer.unref();
    this.logger.info({ host: listen.host, port, advertised: this.bound, replicaLagTimeMaxMs: this.replicaLagTimeMaxMs }, 'replication listener started');
    return this.bound;
  }

  /** The REPLICATION endpoint (after start). */
  endpoint(): BrokerEndpoint {
    assert(this.bound !== null, 'replication is not started');
    return this.bound;
  }

  /** Stops fetching and serving (before the logs close); pending acks=all produces fail over to the next leader. */
  async stop(): Promise<void> {
    if (this.state !== 'started') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopped';
    if (this.isrTimer !== null) clearInterval(this.isrTimer);
    this.isrTimer = null;
    this.opts.topics.attachReplication(null);
    await this.fetchers.close();
    await this.server.close();
    this.metrics.close();
    this.logger.info('replication stopped');
  }

  private advertisedHost(listenHost: string): string {
    const advertised = this.opts.config.list('advertised.listeners');
    const own = advertised.length > 0 ? parseListeners('advertised.listeners', advertised).find((l) => l.name === REPLICATION_LISTENER) : undefined;
    const host = own?.host ?? listenHost;
    // Kafka advertises the canonical host name for a wildcard listener.
    return host === '' || host === '0.0.0.0' || host === '::' ? hostname() : host;
  }

  private expireIsr(): void {
    for (const p of this.opts.topics.hostedPartitions()) if (p.isLeader) p.maybeShrinkIsr();
  }

  // ------------------------------------------------------------------------------------------ ReplicaHost

  image(): MetadataImage {
    return this.opts.metadata.image();
  }

  nowMs(): number {
    return this.clock();
  }

  follow(p: Partition): void {
    if (this.state === 'started') this.fetchers.follow(p);
  }

  unfollow(p: Partition): void {
    this.fetchers.unfollow(p);
  }

  async alterIsr(p: Partition, isr: readonly number[]): Promise<void> {
    await this.opts.metadata.commit([{ type: 'PartitionChanged', topicId: p.topicId, partition: p.index, partitionEpoch: p.partitionEpoch, leader: this.nodeId, isr }]);
  }

  onIsrChange(kind: 'shrink' | 'expand'): void {
    (kind === 'shrink' ? this.metrics.isrShrinks : this.metrics.isrExpands).inc();
  }

  /** Broker registrations or fencing changed (from the topic registry's metadata listener). */
  onBrokersChanged(): void {
    if (this.state !== 'started') return;
    this.fetchers.onBrokersChanged();
    // Fenced followers leave the ISR at once (KIP-841), not after replica.lag.time.max.ms; outside the
    // metadata listener this runs in, since it commits.
    setImmediate(() => {
      if (this.state === 'started') this.expireIsr();
    });
  }
}
