import {
  ConfigError,
  ErrorCode,
  KafkaProtocolError,
  assert,
  imageDiffRecords,
  randomUuid,
  type BrokerRegistration,
  type Logger,
  type MetadataImage,
  type MetadataRecord,
  type PartitionOutcome,
  type QuorumInfo,
} from '@fluxo/common';
import { MetadataFollower } from '../follower/metadata-follower.js';
import { voterTarget, type VoterAddress } from '../quorum-config.js';
import { ControllerChannel } from './controller-channel.js';

export type ClusterMetadataListener = (records: readonly MetadataRecord[], image: MetadataImage, previous: MetadataImage) => void;

export interface ClusterMetadataStoreOptions {
  /** LevelDB directory of the broker's metadata copy. */
  readonly location: string;
  readonly nodeId: number;
  readonly voters: ReadonlyMap<number, VoterAddress>;
  readonly logger: Logger;
  /** Kafka broker.heartbeat.interval.ms. */
  readonly heartbeatIntervalMs: number;
  /** How long a forwarded commit may look for the active controller (Kafka: request.timeout.ms). */
  readonly requestTimeoutMs: number;
  /** Kafka controlled.shutdown... bound: how long shutdown waits for leadership to move away. */
  readonly controlledShutdownTimeoutMs: number;
}

/**
 * The broker side of cluster mode, shaped as the broker's MetadataStore: the image is a local copy that follows
 * the controllers' committed metadata log (MetadataFollower, kept in LevelDB for restarts); commits go to the
 * active controller (Kafka's request forwarding / AlterPartition) and resolve once the copy has applied them;
 * registration and heartbeats hold the broker's lease. Startup waits until the copy has caught up with the
 * leader's commit index, so the node never acts on metadata older than what it had already seen.
 */
export class ClusterMetadataStore {
  private follower: MetadataFollower | null = null;
  private readonly channel: ControllerChannel;
  private readonly listeners = new Set<ClusterMetadataListener>();
  private last: MetadataImage | null = null;
  private configuredClusterId = '';
  private readonly appliedWaiters: { index: number; resolve: () => void }[] = [];
  private brokerEpoch = -1;
  private registration: BrokerRegistration | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private wantFence = false;
  private closed = false;

  constructor(private readonly opts: ClusterMetadataStoreOptions) {
    this.channel = new ControllerChannel(opts.voters, opts.logger, Math.min(5000, opts.requestTimeoutMs));
  }

  async open(o: { clusterId: string | null }): Promise<void> {
    // Like KRaft's `kafka-storage format -t`: every node of a cluster is given the same id.
    if (o.clusterId === null || o.clusterId.length === 0) throw new ConfigError('cluster.id', 'required when controller.quorum.voters is set (every node of the cluster gets the same id)');
    this.configuredClusterId = o.clusterId;
    const follower = await MetadataFollower.open({
      location: this.opts.location,
      controllers: [...this.opts.voters.values()].map(voterTarget),
      logger: this.opts.logger.child({ component: 'metadata-follower' }),
    });
    this.follower = follower;
    this.last = follower.image();
    follower.subscribe((records, image, index) => this.onApplied(records, image, index));
    follower.start();
    await this.catchUp();
  }

  /** Waits until the copy has applied what the active controller had committed when we asked. */
  private async catchUp(): Promise<void> {
    const started = Date.now();
    for (;;) {
      try {
        const target = await this.channel.call('catch up', async (c) => {
          const q = await c.describeQuorum();
          if (q.leaderId !== q.nodeId) throw Object.assign(new KafkaProtocolError(ErrorCode.NOT_CONTROLLER, 'not the leader'), { leaderId: q.leaderId });
          return q.commitIndex;
        }, this.opts.requestTimeoutMs);
        this.opts.logger.info({ targetIndex: target, appliedIndex: this.appliedIndex() }, 'catching up with the metadata log');
        await this.waitApplied(target);
        this.opts.logger.info({ appliedIndex: this.appliedIndex(), tookMs: Date.now() - started }, 'metadata copy caught up');
        return;
      } catch (err) {
        if (this.closed) throw err;
        this.opts.logger.warn({ err: (err as Error).message }, 'metadata quorum not reachable yet; still waiting');
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.channel.close();
    for (const w of this.appliedWaiters.splice(0)) w.resolve();
    await this.follower?.close();
  }

  clusterId(): string {
    return this.configuredClusterId;
  }

  image(): MetadataImage {
    assert(this.follower !== null, 'metadata store is not open');
    return this.follower.image();
  }

  subscribe(listener: ClusterMetadataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async commit(records: readonly MetadataRecord[]): Promise<MetadataImage> {
    const index = await this.channel.call('forwarded commit', (c) => c.commitRecords(this.opts.nodeId, this.brokerEpoch, records), this.opts.requestTimeoutMs);
    await this.waitApplied(index);
    return this.image();
  }

  async registerBroker(self: BrokerRegistration): Promise<number> {
    assert(self.nodeId === this.opts.nodeId, 'registering another node id');
    this.registration = self;
    await this.register();
    // Heartbeats unfence us (the copy is caught up: open() waited); leaders may be assigned from then on.
    this.scheduleHeartbeat(0);
    await this.until(() => {
      const b = this.image().brokers.get(self.nodeId);
      return b !== undefined && b.brokerEpoch === this.brokerEpoch && !b.fenced;
    });
    this.opts.logger.info({ brokerEpoch: this.brokerEpoch }, 'broker registered and unfenced');
    return this.brokerEpoch;
  }

  private async register(): Promise<void> {
    const self = this.registration;
    assert(self !== null, 'register before registerBroker');
    const incarnationId = randomUuid();
    for (;;) {
      try {
        this.brokerEpoch = await this.channel.call('register broker', (c) => c.registerBroker(self.nodeId, incarnationId, self.rack, self.endpoints.map((e) => ({ ...e }))), this.opts.requestTimeoutMs);
        this.opts.logger.info({ brokerEpoch: this.brokerEpoch, incarnationId, rack: self.rack }, 'broker registration committed');
        return;
      } catch (err) {
        if (this.closed) throw err;
        // DUPLICATE_BROKER_REGISTRATION: our previous incarnation's lease has not expired yet (restart after kill -9).
        this.opts.logger.warn({ err: (err as Error).message }, 'broker registration not accepted yet; retrying');
        await new Promise((r) => setTimeout(r, Math.min(1000, this.opts.heartbeatIntervalMs)));
      }
    }
  }

  private scheduleHeartbeat(delayMs: number): void {
    if (this.closed) return;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = null;
      void this.heartbeat().finally(() => this.scheduleHeartbeat(this.opts.heartbeatIntervalMs));
    }, delayMs);
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.channel.call('broker heartbeat', (c) => c.brokerHeartbeat(this.opts.nodeId, this.brokerEpoch, this.wantFence), this.opts.heartbeatIntervalMs);
    } catch (err) {
      if (this.closed) return;
      const code = err instanceof KafkaProtocolError ? err.code : -1;
      if (code === ErrorCode.STALE_BROKER_EPOCH || code === ErrorCode.BROKER_ID_NOT_REGISTERED) {
        // Our registration was replaced (e.g. the controller fenced and we re-registered elsewhere): register anew.
        this.opts.logger.warn({ err: (err as Error).message }, 'heartbeat refused; registering again');
        await this.register().catch(() => undefined);
      } else {
        this.opts.logger.warn({ err: (err as Error).message }, 'broker heartbeat failed');
      }
    }
  }

  async controlledShutdown(): Promise<void> {
    if (this.brokerEpoch < 0 || this.closed) return;
    this.wantFence = true;
    const started = Date.now();
    try {
      await this.channel.call('controlled shutdown', (c) => c.brokerHeartbeat(this.opts.nodeId, this.brokerEpoch, true), this.opts.controlledShutdownTimeoutMs);
      await this.until(() => this.image().brokers.get(this.opts.nodeId)?.fenced !== false, this.opts.controlledShutdownTimeoutMs);
      this.opts.logger.info({ tookMs: Date.now() - started }, 'controlled shutdown: fenced, partition leadership moved away');
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'controlled shutdown did not complete; stopping anyway');
    }
  }

  async describeQuorum(): Promise<QuorumInfo> {
    const q = await this.channel.call('describe quorum', async (c) => {
      const status = await c.describeQuorum();
      if (status.leaderId !== status.nodeId) throw Object.assign(new KafkaProtocolError(ErrorCode.NOT_CONTROLLER, 'not the leader'), { leaderId: status.leaderId });
      return status;
    }, this.opts.requestTimeoutMs);
    return {
      leaderId: q.leaderId,
      leaderEpoch: q.term,
      highWatermark: q.commitIndex,
      voters: q.voterStates.map((v) => ({ nodeId: v.nodeId, logEndOffset: v.matchIndex, lagEntries: v.lagEntries, lastContactMsAgo: v.lastContactMsAgo })),
    };
  }

  async electLeaders(electionType: number, partitions: readonly { topic: string; partition: number }[] | null): Promise<PartitionOutcome[]> {
    const outcomes = await this.channel.call('elect leaders', (c) => c.electLeaders(electionType, partitions), this.opts.requestTimeoutMs);
    // Answer once this broker's copy shows the result (a Metadata request right after sees the new leaders).
    await this.caughtUpWithLeader();
    return outcomes;
  }

  async alterReassignments(targets: readonly { topic: string; partition: number; replicas: readonly number[] | null }[]): Promise<PartitionOutcome[]> {
    const outcomes = await this.channel.call('alter reassignments', (c) => c.alterReassignments(targets), this.opts.requestTimeoutMs);
    await this.caughtUpWithLeader();
    return outcomes;
  }

  private async caughtUpWithLeader(): Promise<void> {
    const target = await this.channel.call('commit index', async (c) => {
      const q = await c.describeQuorum();
      if (q.leaderId !== q.nodeId) throw Object.assign(new KafkaProtocolError(ErrorCode.NOT_CONTROLLER, 'not the leader'), { leaderId: q.leaderId });
      return q.commitIndex;
    }, this.opts.requestTimeoutMs);
    await this.waitApplied(target);
  }

  private appliedIndex(): number {
    return this.follower?.appliedIndex ?? 0;
  }

  private onApplied(records: readonly MetadataRecord[] | null, image: MetadataImage, index: number): void {
    const previous = this.last ?? image;
    this.last = image;
    const changes = records ?? imageDiffRecords(previous, image);
    for (const l of this.listeners) {
      try {
        l(changes, image, previous);
      } catch (err) {
        this.opts.logger.error({ err }, 'metadata listener failed');
      }
    }
    for (let i = this.appliedWaiters.length - 1; i >= 0; i--) {
      const w = this.appliedWaiters[i]!;
      if (w.index <= index) {
        this.appliedWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private waitApplied(index: number): Promise<void> {
    if (this.appliedIndex() >= index || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.appliedWaiters.push({ index, resolve }));
  }

  /** Resolves when `condition` holds after some applied batch (or now); rejects after timeoutMs if given. */
  private until(condition: () => boolean, timeoutMs?: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const unsubscribe = this.subscribe(() => {
        if (!condition() && !this.closed) return;
        if (timer !== null) clearTimeout(timer);
        unsubscribe();
        resolve();
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          unsubscribe();
          reject(new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, `condition not met within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }
}
