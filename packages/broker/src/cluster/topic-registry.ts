import { assert, type Logger, type MetadataImage, type MetadataRecord, type ResolvedConfig, type TopicState } from '@fluxo/common';
import { logConfigFromResolved, type LogConfig, type PartitionLog } from '@fluxo/storage';
import { effectiveTopicConfig } from '../config/topic-config.js';
import { Partition, type ReplicaHost } from './partition.js';

/** The replication engine as the registry drives it (ReplicationService). */
export interface ReplicationHooks extends ReplicaHost {
  /** Broker registrations or fencing changed. */
  onBrokersChanged(): void;
}

/** Opens, reconfigures and removes partition logs (the storage LogManager behind it). */
export interface LogHost {
  /** Opens (recovering) or creates the log; a directory left by an older topic of that name is moved aside. */
  open(topic: string, partition: number, topicId: string, config: LogConfig): Promise<PartitionLog>;
  /** Closes the log and removes its directory (Kafka renames to `-delete` first, then removes). */
  remove(topic: string, partition: number): Promise<void>;
  updateConfig(log: PartitionLog, config: LogConfig): void;
}

/** At most this many partition logs open (recover) at once at startup or on a big CreateTopics. */
const OPEN_CONCURRENCY = 8;

/** A topic as this node serves it: metadata image + effective config + the open partitions it hosts. */
export class Topic {
  /**
   * Hosted partitions (this node is one of their replicas); `undefined` for partitions hosted elsewhere and
   * while a hosted partition's log is still opening (Metadata answers LEADER_NOT_AVAILABLE).
   */
  readonly partitions: (Partition | undefined)[] = [];
  config: ResolvedConfig;
  logConfig: LogConfig;
  deleted = false;

  constructor(
    public image: TopicState,
    brokerConfig: ResolvedConfig,
    private readonly nodeId: number,
  ) {
    this.config = effectiveTopicConfig(brokerConfig, image.configs);
    this.logConfig = logConfigFromResolved(this.config);
  }

  /** Whether this node is a replica of partition `index` (single node: of every partition). */
  hosts(index: number): boolean {
    return this.image.partitions[index]?.replicas.includes(this.nodeId) ?? false;
  }

  get name(): string {
    return this.image.name;
  }
  get topicId(): string {
    return this.image.topicId;
  }
  get partitionCount(): number {
    return this.image.partitionCount;
  }
  /** Every partition hosted here is open. */
  get ready(): boolean {
    for (let i = 0; i < this.image.partitionCount; i++) if (this.partitions[i] === undefined && this.hosts(i)) return false;
    return true;
  }
  partition(index: number): Partition | undefined {
    return this.partitions[index];
  }
}

/**
 * Every topic of the image, and the partitions this node hosts (is a replica of), kept in step with the
 * metadata image: committed records open newly hosted partition logs, apply config changes live, drive each
 * partition's replica role (leader / follower) from its PartitionState, and remove deleted topics' logs.
 */
export class TopicRegistry {
  private readonly byName = new Map<string, Topic>();
  private readonly byId = new Map<string, Topic>();
  /** Background work (opening, deleting) so stop() can wait for it. */
  private readonly background = new Set<Promise<void>>();
  private readonly readyWaiters = new Map<Topic, (() => void)[]>();
  /** Removal of a deleted topic's logs, by name: a re-created topic of that name opens after it. */
  private readonly removals = new Map<string, Promise<void>>();
  /** Partitions whose log is being opened, `<topicId>:<index>`. */
  private readonly opening = new Set<string>();
  private replication: ReplicationHooks | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly nodeId: number;

  constructor(
    private readonly brokerConfig: ResolvedConfig,
    private readonly logs: LogHost,
    private readonly logger: Logger,
    private readonly onPartitionCountChange: (count: number) => void,
  ) {
    this.nodeId = brokerConfig.number('node.id');
  }

  topic(name: string): Topic | undefined {
    return this.byName.get(name);
  }
  topicById(id: string): Topic | undefined {
    return this.byId.get(id);
  }
  topics(): IterableIterator<Topic> {
    return this.byName.values();
  }

  /** A hosted partition by topic id: undefined when the partition does not exist, null when it is not open here. */
  partition(topicId: string, index: number): Partition | null | undefined {
    const topic = this.byId.get(topicId);
    if (topic === undefined || !Number.isInteger(index) || index < 0 || index >= topic.partitionCount) return undefined;
    return topic.partitions[index] ?? null;
  }

  /** Every open partition hosted here. */
  *hostedPartitions(): Generator<Partition> {
    for (const t of this.byName.values()) for (const p of t.partitions) if (p !== undefined) yield p;
  }

  /**
   * Connects the replication engine (null disconnects it, before the node stops): partitions report follower
   * role changes and ISR changes to it. Without one, a node serves only partitions it alone replicates.
   */
  attachReplication(hooks: ReplicationHooks | null): void {
    this.replication = hooks;
    for (const p of this.hostedPartitions()) p.attach(hooks);
  }

  /** Opens every partition of the image hosted here (log recovery happens here). */
  async load(image: MetadataImage): Promise<void> {
    const opens: (() => Promise<void>)[] = [];
    for (const t of image.topics.values()) {
      const topic = this.addTopic(t);
      for (let p = 0; p < t.partitionCount; p++) if (topic.hosts(p)) opens.push(() => this.openPartition(topic, p));
    }
    await runLimited(opens, OPEN_CONCURRENCY);
    this.startCheckpoints();
  }

  /** MetadataStore listener: applies committed records (read as hints: the state comes from `image`). */
  apply(records: readonly MetadataRecord[], image: MetadataImage): void {
    let brokersChanged = false;
    for (const record of records) {
      switch (record.type) {
        case 'TopicCreated': {
          const t = image.topicsById.get(record.topicId);
          if (!t || this.byId.has(t.topicId)) break; // created and deleted within one commit
          const topic = this.addTopic(t);
          this.track(runLimited(range(t.partitionCount).filter((p) => topic.hosts(p)).map((p) => () => this.openPartition(topic, p)), OPEN_CONCURRENCY));
          break;
        }
        case 'PartitionsAdded': {
          const topic = this.byId.get(record.topicId);
          const t = image.topicsById.get(record.topicId);
          if (!topic || !t) break;
          topic.image = t;
          this.reconcile(topic);
          break;
        }
        case 'ConfigChanged': {
          const topic = this.byId.get(record.topicId);
          const t = image.topicsById.get(record.topicId);
          if (!topic || !t) break;
          topic.image = t;
          topic.config = effectiveTopicConfig(this.brokerConfig, t.configs);
          topic.logConfig = logConfigFromResolved(topic.config);
          for (const p of topic.partitions) {
            if (!p) continue;
            this.logs.updateConfig(p.log, topic.logConfig);
            p.onConfigChanged();
          }
          this.logger.info({ topic: t.name, configs: t.configs }, 'topic config changed');
          break;
        }
        case 'TopicDeleted': {
          const topic = this.byId.get(record.topicId);
          if (topic) this.removeTopic(topic);
          break;
        }
        case 'PartitionChanged':
        case 'PartitionReassigned': {
          const topic = this.byId.get(record.topicId);
          const t = image.topicsById.get(record.topicId);
          if (!topic || !t) break;
          topic.image = t;
          this.reconcilePartition(topic, record.partition);
          break;
        }
        case 'BrokerRegistered':
        case 'BrokerFenced':
        case 'BrokerUnfenced':
          brokersChanged = true;
          break;
        default:
          break;
      }
    }
    if (brokersChanged) this.replication?.onBrokersChanged();
  }

  /** Every partition of the topic against its image state. */
  private reconcile(topic: Topic): void {
    for (let i = 0; i < topic.partitionCount; i++) this.reconcilePartition(topic, i);
  }

  /** Opens a partition newly hosted here, removes one no longer hosted, or hands the new state to the replica. */
  private reconcilePartition(topic: Topic, index: number): void {
    const state = topic.image.partitions[index];
    if (state === undefined || topic.deleted) return;
    const p = topic.partitions[index];
    if (p !== undefined) {
      if (topic.hosts(index)) p.applyState(state);
      else this.removePartition(topic, index, p);
      return;
    }
    if (topic.hosts(index) && !this.opening.has(`${topic.topicId}:${index}`)) this.track(this.openPartition(topic, index));
  }

  /** Resolves once every partition of the topic hosted here is open (or the topic is gone). */
  whenReady(topic: Topic): Promise<void> {
    if (topic.ready || topic.deleted) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.readyWaiters.get(topic) ?? [];
      list.push(resolve);
      this.readyWaiters.set(topic, list);
    });
  }

  private notifyReady(topic: Topic): void {
    if (!topic.ready && !topic.deleted) return;
    const list = this.readyWaiters.get(topic);
    if (!list) return;
    this.readyWaiters.delete(topic);
    for (const w of list) w();
  }

  private addTopic(t: TopicState): Topic {
    assert(!this.byName.has(t.name), `topic ${t.name} hosted twice`);
    const topic = new Topic(t, this.brokerConfig, this.nodeId);
    this.byName.set(t.name, topic);
    this.byId.set(t.topicId, topic);
    return topic;
  }

  private async openPartition(topic: Topic, index: number): Promise<void> {
    if (topic.deleted || this.stopping) return;
    const key = `${topic.topicId}:${index}`;
    this.opening.add(key);
    try {
      const removal = this.removals.get(topic.name);
      if (removal) await removal;
      const log = await this.logs.open(topic.name, index, topic.topicId, topic.logConfig);
      if (topic.deleted || this.stopping || !topic.hosts(index)) {
        // Deleted, moved away or stopping while opening: hand the log straight back.
        if (topic.deleted || !topic.hosts(index)) await this.logs.remove(topic.name, index);
        else await log.close().catch(() => undefined);
        return;
      }
      const partition = new Partition(topic, index, log, this.nodeId, this.logger);
      topic.partitions[index] = partition;
      // The state as of now (records that arrived while the log opened are in topic.image).
      partition.applyState(topic.image.partitions[index]!);
      partition.attach(this.replication);
      this.onPartitionCountChange(this.partitionCount());
      this.notifyReady(topic);
    } catch (err) {
      this.logger.error({ err, topic: topic.name, partition: index }, 'failed to open partition log; partition stays offline');
    } finally {
      this.opening.delete(key);
    }
  }

  /** This node is no longer a replica (reassigned away): stop serving and remove the log. */
  private removePartition(topic: Topic, index: number, p: Partition): void {
    p.markClosed();
    topic.partitions[index] = undefined;
    this.onPartitionCountChange(this.partitionCount());
    this.logger.info({ topic: topic.name, partition: index, replicas: topic.image.partitions[index]?.replicas }, 'no longer a replica; removing the partition log');
    const previous = this.removals.get(topic.name) ?? Promise.resolve();
    const removal = previous.then(async () => {
      try {
        await this.logs.remove(topic.name, index);
      } catch (err) {
        this.logger.error({ err, topic: topic.name, partition: index }, 'failed to remove partition log');
      }
    });
    this.trackRemoval(topic.name, removal);
  }

  private removeTopic(topic: Topic): void {
    topic.deleted = true;
    this.byName.delete(topic.name);
    this.byId.delete(topic.topicId);
    this.notifyReady(topic);
    const parts = topic.partitions.map((p, i) => [p, i] as const).filter((e): e is readonly [Partition, number] => e[0] !== undefined);
    for (const [p] of parts) p.markClosed();
    this.onPartitionCountChange(this.partitionCount());
    this.logger.info({ topic: topic.name, topicId: topic.topicId, partitions: parts.length }, 'topic deleted; removing partition logs');
    const previous = this.removals.get(topic.name) ?? Promise.resolve();
    const removal = previous.then(() =>
      runLimited(
        parts.map(([, i]) => async () => {
          try {
            await this.logs.remove(topic.name, i);
          } catch (err) {
            this.logger.error({ err, topic: topic.name, partition: i }, 'failed to remove partition log');
          }
        }),
        OPEN_CONCURRENCY,
      ),
    );
    this.trackRemoval(topic.name, removal);
  }

  private trackRemoval(name: string, removal: Promise<void>): void {
    this.removals.set(name, removal);
    void removal.finally(() => {
      if (this.removals.get(name) === removal) this.removals.delete(name);
    });
    this.track(removal);
  }

  partitionCount(): number {
    let n = 0;
    for (const t of this.byName.values()) for (const p of t.partitions) if (p) n++;
    return n;
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((err: unknown) => this.logger.error({ err }, 'background partition work failed'));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /** Kafka's replica.high.watermark.checkpoint.interval.ms task: each partition's high watermark, when it moved. */
  private startCheckpoints(): void {
    const intervalMs = this.brokerConfig.number('replica.high.watermark.checkpoint.interval.ms');
    this.checkpointTimer = setInterval(() => {
      for (const p of this.hostedPartitions()) {
        if (p.isClosed) continue;
        p.log.checkpointHighWatermark().catch((err: unknown) => this.logger.warn({ err, topic: p.topic, partition: p.index }, 'high watermark checkpoint failed'));
      }
    }, intervalMs);
    this.checkpointTimer.unref();
  }

  /** Waits for background opens/deletes and wakes long polls; the LogManager then closes the logs. */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.checkpointTimer !== null) clearInterval(this.checkpointTimer);
    this.checkpointTimer = null;
    while (this.background.size > 0) await Promise.all([...this.background]);
    for (const topic of this.byName.values()) for (const p of topic.partitions) p?.markClosed();
    this.byName.clear();
    this.byId.clear();
  }
}

function range(n: number): number[] {
  return Array.from({ length: Math.max(0, n) }, (_, i) => i);
}

/** Runs the tasks with at most `limit` in flight; resolves when all are done. */
export async function runLimited(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      await task();
    }
  };
  await Promise.all(range(Math.min(limit, tasks.length)).map(() => worker()));
}
