import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { Cluster, type ClusterOptions } from './cluster.js';
import { Fetcher, type ConsumerRecord, type FetcherOptions, type PartitionRecords, type StartOffset } from './fetcher.js';
import { ConsumerGroup, resolveGroupSettings, type GroupConsumerOptions, type RebalanceListener } from './group/consumer-group.js';
import type { CommittedOffset, OffsetToCommit } from './group/offsets.js';
import { tpKey, type TopicPartition } from './group/topic-partition.js';

export interface ConsumerOptions extends ClusterOptions, FetcherOptions, GroupConsumerOptions {}

/** subscribe() argument: a topic list or a pattern (matched against every non-internal topic), not both. */
export type SubscribeOptions = ({ topics: string[]; pattern?: undefined } | { pattern: RegExp; topics?: undefined }) & {
  /** Replaces the rebalanceListener option. */
  listener?: RebalanceListener;
};

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** Where to start: an offset, 'earliest' or 'latest'; default autoOffsetReset. */
  offset?: StartOffset;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: ConsumerRecord;
}

export interface EachBatchPayload {
  topic: string;
  partition: number;
  messages: ConsumerRecord[];
  highWatermark: number;
}

interface Buffered {
  readonly round: PartitionRecords;
  /** Index of the next record to hand over. */
  next: number;
}

export interface RunOptions {
  eachMessage?: (payload: EachMessagePayload) => Promise<void> | void;
  eachBatch?: (payload: EachBatchPayload) => Promise<void> | void;
}

/**
 * A consumer that reads either partitions it assign()s itself or, with a groupId, the partitions its group
 * gives it after subscribe() (topics or a pattern). seek(), pause()/resume(), records through an async
 * iterator or run({ eachMessage }). The next fetch round is prefetched while the caller processes the
 * current one. Records invalidated by seek(), assign() or a rebalance in the meantime are dropped; records of
 * a paused partition stay buffered and come after resume().
 *
 * Offsets: the commit position of a partition is the offset after the last record handed to the iterator, or
 * after the last record whose eachMessage/eachBatch handler returned (so a failing handler's record is read
 * again). With autoCommit they are committed every autoCommitIntervalMs at poll time, before partitions are
 * revoked, and on close(); commit() commits at once. Rebalances happen only between records.
 */
export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly cluster: Cluster;
  /** Shared with the group layer, which assigns partitions through it. */
  readonly fetcher: Fetcher;
  private readonly group: ConsumerGroup | null;
  private prefetch: Promise<PartitionRecords[]> | null = null;
  /** Fetched records not yet handed over, in fetch order. */
  private buffer: Buffered[] = [];
  private closed = false;
  private closing: Promise<void> | null = null;
  private running = false;
  /** Offset after the last record handed to the caller, per partition. */
  private readonly consumed = new Map<string, number>();
  /** Commit positions: offset after the last record the caller finished with, per partition. */
  private readonly processed = new Map<string, OffsetToCommit>();
  private readonly rebalanceListener: RebalanceListener | undefined;

  constructor(options: ConsumerOptions) {
    this.cluster = new Cluster(options);
    this.fetcher = new Fetcher(this.cluster, options);
    this.rebalanceListener = options.rebalanceListener;
    this.group =
      options.groupId === undefined
        ? null
        : new ConsumerGroup(
            this.cluster,
            {
              fetcher: this.fetcher,
              processedPositions: () => this.processed,
              forget: (partitions) => this.forget(partitions),
            },
            resolveGroupSettings(options, options.groupId),
          );
    // Kafka: with a group id, partitions assign()ed without an offset start at the committed one.
    const group = this.group;
    if (group) this.fetcher.useCommittedOffsets(async (partitions) => (await group.committed(partitions)).map((c) => c.offset));
  }

  get groupId(): string | null {
    return this.group?.settings.groupId ?? null;
  }

  /** Member id and generation in the group ('' and -1 outside one). */
  groupMembership(): { memberId: string; generationId: number } {
    return { memberId: this.group?.memberId ?? '', generationId: this.group?.generationId ?? -1 };
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  /** Replaces the set of partitions this consumer reads (not with subscribe(): Kafka's rule). */
  assign(partitions: TopicPartitionOffset[]): void {
    if (this.group?.isSubscribed) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'assign() cannot be used while subscribed; call unsubscribe() first');
    for (const p of partitions) {
      if (typeof p.topic !== 'string' || p.topic.length === 0 || !Number.isInteger(p.partition) || p.partition < 0) {
        throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `bad assignment ${JSON.stringify({ topic: p.topic, partition: p.partition })}`);
      }
    }
    this.fetcher.assign(partitions);
    const keep = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
    for (const key of this.consumed.keys()) if (!keep.has(key)) this.consumed.delete(key);
    for (const key of this.processed.keys()) if (!keep.has(key)) this.processed.delete(key);
  }

  /**
   * Joins the consumer group (needs groupId) for these topics or every topic matching `pattern`; the group
   * assigns the partitions at the next poll. Calling it again changes the subscription (a rebalance).
   */
  subscribe(options: SubscribeOptions): void {
    if (!this.group) throw new KafkaProtocolError(ErrorCode.INVALID_GROUP_ID, 'subscribe() needs the groupId option (INVALID_GROUP_ID)');
    if (!this.group.isSubscribed && this.fetcher.assignment().length > 0) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'subscribe() cannot be used after assign(); assign([]) first');
    }
    if ((options.topics === undefined) === (options.pattern === undefined)) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'subscribe() takes either topics or pattern');
    }
    const subscription = options.pattern ? { pattern: options.pattern } : { topics: options.topics! };
    this.group.subscribe(subscription, options.listener ?? this.rebalanceListener);
    this.fetcher.wake();
  }

  /** Topics of the current subscription (a pattern's matches once resolved). */
  subscription(): string[] {
    return this.group?.subscribedTopics() ?? [];
  }

  /** Commits (auto-commit on), revokes every partition and leaves the group. */
  async unsubscribe(): Promise<void> {
    await this.group?.unsubscribe();
  }

  /**
   * Commits offsets to the group (Kafka commitSync): the given ones (each the next offset to read), else the
   * positions of every record processed so far. Rejects with ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID /
   * REBALANCE_IN_PROGRESS when the group moved on (the partitions may belong to another member by now).
   */
  async commit(offsets?: OffsetToCommit[]): Promise<void> {
    if (!this.group) throw new KafkaProtocolError(ErrorCode.INVALID_GROUP_ID, 'commit() needs the groupId option (INVALID_GROUP_ID)');
    await this.group.commit(offsets);
  }

  /** The group's committed offsets of these partitions (-1: none). */
  async committed(partitions: TopicPartition[]): Promise<CommittedOffset[]> {
    if (!this.group) throw new KafkaProtocolError(ErrorCode.INVALID_GROUP_ID, 'committed() needs the groupId option (INVALID_GROUP_ID)');
    return this.group.committed(partitions);
  }

  private forget(partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      this.consumed.delete(tpKey(tp.topic, tp.partition));
      this.processed.delete(tpKey(tp.topic, tp.partition));
    }
  }

  assignment(): { topic: string; partition: number }[] {
    return this.fetcher.assignment();
  }

  /** Next records of the partition start at `offset`; buffered and in-flight records of it are dropped. */
  seek(target: { topic: string; partition: number; offset: StartOffset }): void {
    this.fetcher.seek(target.topic, target.partition, target.offset);
    const key = tpKey(target.topic, target.partition);
    this.consumed.delete(key);
    // Kafka commits the position, which a seek sets.
    if (typeof target.offset === 'number') this.processed.set(key, { topic: target.topic, partition: target.partition, offset: target.offset });
    else this.processed.delete(key);
  }

  /** Pauses fetching; `partitions` omitted means every assigned partition of the topic. */
  pause(targets: { topic: string; partitions?: number[] }[]): void {
    for (const tp of this.expand(targets)) this.fetcher.pause(tp.topic, tp.partition);
  }

  resume(targets: { topic: string; partitions?: number[] }[]): void {
    for (const tp of this.expand(targets)) this.fetcher.resume(tp.topic, tp.partition);
  }

  paused(): { topic: string; partition: number }[] {
    return this.fetcher.paused();
  }

  private expand(targets: { topic: string; partitions?: number[] }[]): { topic: string; partition: number }[] {
    const assigned = this.fetcher.assignment();
    return targets.flatMap((t) =>
      t.partitions ? t.partitions.map((partition) => ({ topic: t.topic, partition })) : assigned.filter((a) => a.topic === t.topic),
    );
  }

  /** Offset of the next record the caller will see from this partition. */
  position(topic: string, partition: number): number | null {
    const consumed = this.consumed.get(`${topic}\u0000${partition}`);
    if (consumed !== undefined) return consumed;
    const buffered = this.buffer.find((b) => b.round.topic === topic && b.round.partition === partition && this.isCurrent(b.round));
    return buffered ? buffered.round.records[buffered.next]!.offset : this.fetcher.position(topic, partition);
  }

  highWatermark(topic: string, partition: number): number {
    return this.fetcher.highWatermark(topic, partition);
  }

  /** The next fetch round's records that are still current (waits for at most about fetchMaxWaitMs). */
  private async poll(): Promise<PartitionRecords[]> {
    if (this.closed) return [];
    const current = this.prefetch ?? this.fetcher.fetchOnce();
    this.prefetch = null;
    let rounds: PartitionRecords[];
    try {
      rounds = await current;
    } catch (err) {
      if (this.closed) return [];
      throw err;
    }
    if (this.closed) return [];
    // Fetch the next round while the caller works on this one.
    const next = this.fetcher.fetchOnce();
    next.catch(() => undefined);
    this.prefetch = next;
    return rounds.filter((r) => this.isCurrent(r));
  }

  private isCurrent(round: PartitionRecords): boolean {
    return this.fetcher.isCurrent(round.topic, round.partition, round.generation);
  }

  /** Records of this round may be handed over now: not seeked past and not paused. */
  private isDeliverable(round: PartitionRecords): boolean {
    return this.isCurrent(round) && !this.fetcher.isPaused(round.topic, round.partition);
  }

  /**
   * The first buffered round with records to hand over (rounds of paused partitions wait in the buffer until
   * resume(); rounds invalidated by seek() or assign() are dropped). Polls once when there is none; null if
   * that brought nothing deliverable either.
   */
  private async nextDeliverable(): Promise<Buffered | null> {
    for (let polled = false; ; polled = true) {
      // Group work (join, rebalance, auto-commit) happens here, between records.
      if (this.group && !this.closed) await this.group.poll();
      this.buffer = this.buffer.filter((b) => b.next < b.round.records.length && this.isCurrent(b.round));
      const ready = this.buffer.find((b) => this.isDeliverable(b.round));
      if (ready || polled || this.closed) return ready ?? null;
      for (const round of await this.poll()) this.buffer.push({ round, next: 0 });
    }
  }

  private markConsumed(round: PartitionRecords, record: ConsumerRecord): void {
    this.consumed.set(tpKey(round.topic, round.partition), record.offset + 1);
  }

  /** Records up to this one are done: its successor is the commit position. */
  private markProcessed(round: PartitionRecords, record: ConsumerRecord): void {
    // A record of a partition revoked while its handler ran is not committed by this member.
    if (!this.isCurrent(round)) return;
    this.processed.set(tpKey(round.topic, round.partition), { topic: round.topic, partition: round.partition, offset: record.offset + 1 });
  }

  /** More records of this round may go out now: deliverable and no rebalance waiting for the poll loop. */
  private mayContinue(round: PartitionRecords): boolean {
    return !this.closed && this.isDeliverable(round) && !(this.group?.rebalancePending ?? false);
  }

  async *messages(): AsyncGenerator<ConsumerRecord, void, undefined> {
    while (!this.closed) {
      const entry = await this.nextDeliverable();
      if (!entry) continue;
      const { round } = entry;
      // A seek or pause made while the caller processes a record takes effect before the next one.
      while (entry.next < round.records.length && this.mayContinue(round)) {
        const record = round.records[entry.next++]!;
        this.markConsumed(round, record);
        // Iterator semantics (Kafka poll): a record handed over counts as consumed.
        this.markProcessed(round, record);
        yield record;
      }
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    return this.messages();
  }

  /** Calls eachMessage (or eachBatch) for every record until close() or stop(); rejects if a handler throws. */
  async run(options: RunOptions): Promise<void> {
    if (!options.eachMessage && !options.eachBatch) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'run() needs eachMessage or eachBatch');
    if (this.running) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'the consumer is already running');
    this.running = true;
    try {
      while (!this.closed && this.running) {
        const entry = await this.nextDeliverable();
        if (!entry || !this.running) continue;
        const { round } = entry;
        if (options.eachBatch) {
          const messages = round.records.slice(entry.next);
          entry.next = round.records.length;
          const last = messages[messages.length - 1]!;
          this.markConsumed(round, last);
          await options.eachBatch({ topic: round.topic, partition: round.partition, messages, highWatermark: round.highWatermark });
          this.markProcessed(round, last);
          continue;
        }
        while (entry.next < round.records.length && this.running && this.mayContinue(round)) {
          const message = round.records[entry.next++]!;
          this.markConsumed(round, message);
          await options.eachMessage!({ topic: round.topic, partition: round.partition, message });
          this.markProcessed(round, message);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** Makes run() return after the current message (its promise resolves then); safe inside a handler. */
  stop(): void {
    this.running = false;
    this.fetcher.wake();
  }

  /** Commits (autoCommit), leaves the group (dynamic members) and closes the connections. */
  close(): Promise<void> {
    // Every caller waits for the same shutdown (the commit and LeaveGroup of the first call).
    this.closing ??= (async () => {
      this.closed = true;
      this.running = false;
      this.fetcher.close();
      this.prefetch = null;
      this.buffer = [];
      try {
        await this.group?.close();
      } finally {
        await this.cluster.close();
      }
    })();
    return this.closing;
  }
}
