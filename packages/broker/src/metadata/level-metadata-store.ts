import { Level } from 'level';
import {
  ConfigError,
  ErrorCode,
  KafkaProtocolError,
  applyBatch,
  assert,
  isUuid,
  randomUuid,
  type BrokerState,
  type Logger,
  type MetadataImage,
  type MetadataRecord,
  type TopicState,
} from '@fluxo/common';
import type { MetadataListener, MetadataStore } from './metadata-store.js';

const CLUSTER_ID_KEY = 'cluster/id';
const APPLIED_INDEX_KEY = 'cluster/applied-index';
const TOPIC_PREFIX = 'topic/';
const BROKER_PREFIX = 'broker/';

type Stored = { clusterId: string } | { appliedIndex: number } | TopicState | BrokerState;

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
    const topics = new Map<string, TopicState>();
    const topicsById = new Map<string, TopicState>();
    const brokers = new Map<number, BrokerState>();
    for await (const [key, value] of db.iterator()) {
      if (key === CLUSTER_ID_KEY) clusterId = (value as { clusterId: string }).clusterId;
      else if (key === APPLIED_INDEX_KEY) appliedIndex = (value as { appliedIndex: number }).appliedIndex;
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
    this.current = { appliedIndex, topics, topicsById, brokers };
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
    batch.put(APPLIED_INDEX_KEY, { appliedIndex: next.appliedIndex });
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
}
