import { assert, type Logger, type MetadataImage, type MetadataRecord, type ResolvedConfig, type TopicState } from '@fluxo/common';
import { logConfigFromResolved, type LogConfig, type PartitionLog } from '@fluxo/storage';
import { effectiveTopicConfig } from '../config/topic-config.js';
import { Partition } from './partition.js';

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

/** A topic as this node serves it: metadata image + effective config + open partitions. */
export class Topic {
  /** `undefined` while the partition's log is still opening (Metadata answers LEADER_NOT_AVAILABLE). */
  readonly partitions: (Partition | undefined)[] = [];
  config: ResolvedConfig;
  logConfig: LogConfig;
  deleted = false;

  constructor(
    public image: TopicState,
    brokerConfig: ResolvedConfig,
  ) {
    this.config = effectiveTopicConfig(brokerConfig, image.configs);
    this.logConfig = logConfigFromResolved(this.config);
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
  get ready(): boolean {
    for (let i = 0; i < this.image.partitionCount; i++) if (this.partitions[i] === undefined) return false;
    return true;
  }
  partition(index: number): Partition | undefined {
    return this.partitions[index];
  }
}

/**
 * Every topic the node hosts, kept in step with the metadata image: committed records open new partition
 * logs, apply config changes live and remove deleted topics' logs.
 */
export class TopicRegistry {
  private readonly byName = new Map<string, Topic>();
  private readonly byId = new Map<string, Topic>();
  /** Background work (opening, deleting) so stop() can wait for it. */
  private readonly background = new Set<Promise<void>>();
  private readonly readyWaiters = new Map<Topic, (() => void)[]>();
  /** Removal of a deleted topic's logs, by name: a re-created topic of that name opens after it. */
  private readonly removals = new Map<string, Promise<void>>();
  private stopping = false;

  constructor(
    private readonly brokerConfig: ResolvedConfig,
    private readonly logs: LogHost,
    private readonly logger: Logger,
    private readonly onPartitionCountChange: (count: number) => void,
  ) {}

  topic(name: string): Topic | undefined {
    return this.byName.get(name);
  }
  topicById(id: string): Topic | undefined {
    return this.byId.get(id);
  }
  topics(): IterableIterator<Topic> {
    return this.byName.values();
  }

  /** Opens every partition of the image (log recovery happens here). */
  async load(image: MetadataImage): Promise<void> {
    const opens: (() => Promise<void>)[] = [];
    for (const t of image.topics.values()) {
      const topic = this.addTopic(t);
      for (let p = 0; p < t.partitionCount; p++) opens.push(() => this.openPartition(topic, p));
    }
    await runLimited(opens, OPEN_CONCURRENCY);
  }

  /** MetadataStore listener: applies committed records to the hosted partitions. */
  apply(records: readonly MetadataRecord[], image: MetadataImage): void {
    for (const record of records) {
      switch (record.type) {
        case 'TopicCreated': {
          const t = image.topicsById.get(record.topicId);
          if (!t) break; // created and deleted within one commit
          const topic = this.addTopic(t);
          this.track(runLimited(range(t.partitionCount).map((p) => () => this.openPartition(topic, p)), OPEN_CONCURRENCY));
          break;
        }
        case 'PartitionsAdded': {
          const topic = this.byId.get(record.topicId);
          const t = image.topicsById.get(record.topicId);
          if (!topic || !t) break;
          const before = topic.partitionCount;
          topic.image = t;
          this.track(runLimited(range(t.partitionCount - before).map((i) => () => this.openPartition(topic, before + i)), OPEN_CONCURRENCY));
          break;
        }
        case 'ConfigChanged': {
          const topic = this.byId.get(record.topicId);
          const t = image.topicsById.get(record.topicId);
          if (!topic || !t) break;
          topic.image = t;
          topic.config = effectiveTopicConfig(this.brokerConfig, t.configs);
          topic.logConfig = logConfigFromResolved(topic.config);
          for (const p of topic.partitions) if (p) this.logs.updateConfig(p.log, topic.logConfig);
          this.logger.info({ topic: t.name, configs: t.configs }, 'topic config changed');
          break;
        }
        case 'TopicDeleted': {
          const topic = this.byId.get(record.topicId);
          if (topic) this.removeTopic(topic);
          break;
        }
        case 'BrokerRegistered':
        case 'BrokerFenced':
        case 'BrokerUnfenced':
        case 'PartitionChanged':
          break;
      }
    }
  }

  /** Resolves once every partition of the topic is open (or the topic is gone). */
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
    const topic = new Topic(t, this.brokerConfig);
    this.byName.set(t.name, topic);
    this.byId.set(t.topicId, topic);
    return topic;
  }

  private async openPartition(topic: Topic, index: number): Promise<void> {
    if (topic.deleted || this.stopping) return;
    try {
      const removal = this.removals.get(topic.name);
      if (removal) await removal;
      const log = await this.logs.open(topic.name, index, topic.topicId, topic.logConfig);
      if (topic.deleted || this.stopping) {
        // Deleted (or stopping) while opening: hand the log straight back.
        if (topic.deleted) await this.logs.remove(topic.name, index);
        else await log.close().catch(() => undefined);
        return;
      }
      topic.partitions[index] = new Partition(topic.name, index, log);
      this.onPartitionCountChange(this.partitionCount());
      this.notifyReady(topic);
    } catch (err) {
      this.logger.error({ err, topic: topic.name, partition: index }, 'failed to open partition log; partition stays offline');
    }
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
    this.removals.set(topic.name, removal);
    void removal.finally(() => {
      if (this.removals.get(topic.name) === removal) this.removals.delete(topic.name);
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

  /** Waits for background opens/deletes and wakes long polls; the LogManager then closes the logs. */
  async close(): Promise<void> {
    this.stopping = true;
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
