import { Level } from 'level';
import {
  ConfigError,
  ErrorCode,
  KafkaProtocolError,
  applyBatch,
  allPartitions,
  collectPartitionOps,
  electLeader,
  startReassignment,
  assert,
  isUuid,
  randomUuid,
  type BrokerRegistration,
  type BrokerState,
  type Logger,
  type MetadataImage,
  type MetadataRecord,
  type PartitionOutcome,
  type PartitionOpResult,
  type QuorumInfo,
  type TopicState,
} from '@fluxo/common';
import { registerLocalBroker } from './local-registration.js';
import type { MetadataListener, MetadataStore } from './metadata-store.js';

const CLUSTER_ID_KEY = 'cluster/id';
const APPLIED_INDEX_KEY = 'cluster/applied-index';
const TOPIC_PREFIX = 'topic/';
const BROKER_PREFIX = 'broker/';

type Stored = { clusterId: string } | { appliedIndex: number; nextProducerId?: number } | TopicState | BrokerState;

/**
 * MetadataStore on a LevelDB database (one per node): the node is its own controller. Commits apply the
 * shared records with applyBatch (index = commit count) and store the resulting image itself (one key per
 * topic/broker plus the applied index), written with sync batches: a commit is fsynced before it is
 * applied or acknowledged.
 */
export class LevelMetadataStore implements MetadataStore {
  private db: Level<string, Stored> | null = null;
  private current: MetadataImage | null = null;
  private storedClusterId: string | null = null;
  private readonly listeners = new Set<MetadataListener>();
  private selfId = -1;
  /** Commits run one at a time: each validates against the image the previous one produced. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly location: string,
    private readonly logger: Logger,
  ) {}

  async open(opts: { clusterId: string | null }): Promise<void> {
    assert(this.db === null, 'metadata store opened twice');
    const db = new Level<string, Stored>(this.location, { valueEncoding: 'json' });
    await db.open();
    this.db = db;
    let clusterId: string | null = null;
    let appliedIndex = 0;
    let nextProducerId = 0;
    const topics = new Map<string, TopicState>();
    const topicsById = new Map<string, TopicState>();
    const brokers = new Map<number, BrokerState>();
    for await (const [key, value] of db.iterator()) {
      if (key === CLUSTER_ID_KEY) clusterId = (value as { clusterId: string }).clusterId;
      else if (key === APPLIED_INDEX_KEY) ({ appliedIndex, nextProducerId = 0 } = value as { appliedIndex: number; nextProducerId?: number });
      else if (key.startsWith(TOPIC_PREFIX)) {
        const t = value as TopicState;
        topics.set(t.name, t);
        topicsById.set(t.topicId, t);
      } else if (key.startsWith(BROKER_PREFIX)) {
        const b = value as BrokerState;
        brokers.set(b.nodeId, b);
      }
    }
    if (clusterId === null) {
      clusterId = opts.clusterId ?? randomUuid();
      if (opts.clusterId !== null && opts.clusterId.length === 0) throw new ConfigError('cluster.id', 'must not be empty');
      await db.put(CLUSTER_ID_KEY, { clusterId }, { sync: true });
      this.logger.info({ clusterId, formatted: opts.clusterId === null ? 'generated' : 'configured' }, 'metadata store initialised');
    } else if (opts.clusterId !== null && opts.clusterId !== clusterId) {
      await this.close();
      throw new KafkaProtocolError(
        ErrorCode.INCONSISTENT_CLUSTER_ID,
        `configured cluster.id ${opts.clusterId} does not match the stored cluster id ${clusterId} in ${this.location}`,
      );
    }
    if (!isUuid(clusterId)) this.logger.warn({ clusterId }, 'cluster id is not a Kafka Uuid');
    this.storedClusterId = clusterId;
    this.current = { appliedIndex, topics, topicsById, brokers, nextProducerId };
    this.logger.info({ topics: topics.size, brokers: brokers.size, appliedIndex }, 'metadata loaded');
  }

  async close(): Promise<void> {
    const db = this.db;
    if (!db) return;
    await this.tail.catch(() => undefined);
    this.db = null;
    await db.close();
  }

  clusterId(): string {
    assert(this.storedClusterId !== null, 'metadata store is not open');
    return this.storedClusterId;
  }

  image(): MetadataImage {
    assert(this.current !== null, 'metadata store is not open');
    return this.current;
  }

  subscribe(listener: MetadataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  commit(records: readonly MetadataRecord[]): Promise<MetadataImage> {
    const run = this.tail.then(
      () => this.commitNow(records),
      () => this.commitNow(records),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async commitNow(records: readonly MetadataRecord[]): Promise<MetadataImage> {
    const db = this.db;
    const previous = this.current;
    if (db === null || previous === null) throw new KafkaProtocolError(ErrorCode.KAFKA_STORAGE_ERROR, 'metadata store is closed');
    const next = applyBatch(previous, previous.appliedIndex + 1, records);
    const batch = db.batch();
    for (const [name, t] of previous.topics) if (next.topics.get(name) !== t) batch.del(TOPIC_PREFIX + name);
    for (const [name, t] of next.topics) if (previous.topics.get(name) !== t) batch.put(TOPIC_PREFIX + name, t);
    for (const [id, b] of next.brokers) if (previous.brokers.get(id) !== b) batch.put(BROKER_PREFIX + String(id), b);
    batch.put(APPLIED_INDEX_KEY, { appliedIndex: next.appliedIndex, nextProducerId: next.nextProducerId });
    await batch.write({ sync: true });
    this.current = next;
    for (const listener of this.listeners) {
      try {
        listener(records, next, previous);
      } catch (err) {
        this.logger.error({ err }, 'metadata listener failed');
      }
    }
    return next;
  }

  /** The node is its own controller: it registers and unfences itself at once. */
  registerBroker(self: BrokerRegistration): Promise<number> {
    const client = self.endpoints[0];
    assert(client !== undefined, 'a broker registration needs its client endpoint');
    this.selfId = self.nodeId;
    return registerLocalBroker(this, { nodeId: self.nodeId, host: client.host, port: client.port, rack: self.rack, endpoints: self.endpoints });
  }

  /** Nothing to hand over: this node leads every partition and no other replica exists. */
  controlledShutdown(): Promise<void> {
    return Promise.resolve();
  }

  /** A quorum of one: this node, with no Raft log (leader epoch 0, high watermark = commits applied). */
  describeQuorum(): Promise<QuorumInfo> {
    const applied = this.image().appliedIndex;
    return Promise.resolve({
      leaderId: this.selfId,
      leaderEpoch: 0,
      highWatermark: applied,
      voters: this.selfId < 0 ? [] : [{ nodeId: this.selfId, logEndOffset: applied, lagEntries: 0, lastContactMsAgo: 0 }],
    });
  }

  electLeaders(electionType: number, partitions: readonly { topic: string; partition: number }[] | null): Promise<PartitionOutcome[]> {
    return this.partitionOps(partitions ?? allPartitions(this.image()), (tp) => electLeader(this.image(), tp.topic, tp.partition, electionType), partitions === null);
  }

  alterReassignments(targets: readonly { topic: string; partition: number; replicas: readonly number[] | null }[]): Promise<PartitionOutcome[]> {
    // One broker: a target can only name this node, so a reassignment is at most a no-op reorder.
    return this.partitionOps(targets, (tp) => startReassignment(this.image(), tp.topic, tp.partition, tp.replicas), false);
  }

  /** This node is its own controller: it decides and commits like the controller would. */
  private async partitionOps<T extends { topic: string; partition: number }>(targets: readonly T[], op: (tp: T) => PartitionOpResult, omitNotNeeded: boolean): Promise<PartitionOutcome[]> {
    const { records, outcomes } = collectPartitionOps(targets, op, omitNotNeeded);
    if (records.length > 0) await this.commit(records);
    return outcomes;
  }
}
