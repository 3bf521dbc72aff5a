import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { Cluster, type ClusterOptions } from './cluster.js';
import { Fetcher, type ConsumerRecord, type FetcherOptions, type PartitionRecords, type StartOffset } from './fetcher.js';

export interface ConsumerOptions extends ClusterOptions, FetcherOptions {}

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
 * Assign-based consumer (no group yet): assign(), seek(), pause()/resume(), and records through an async
 * iterator or run({ eachMessage }). The next fetch round is prefetched while the caller processes the
 * current one. Records invalidated by seek() or assign() in the meantime are dropped; records of a paused
 * partition stay buffered and come after resume(). Group membership (a later issue) reuses the Fetcher.
 */
export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly cluster: Cluster;
  private readonly fetcher: Fetcher;
  private prefetch: Promise<PartitionRecords[]> | null = null;
  /** Fetched records not yet handed over, in fetch order. */
  private buffer: Buffered[] = [];
  private closed = false;
  private running = false;
  /** Offset after the last record handed to the caller, per partition. */
  private readonly consumed = new Map<string, number>();

  constructor(options: ConsumerOptions) {
    this.cluster = new Cluster(options);
    this.fetcher = new Fetcher(this.cluster, options);
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  /** Replaces the set of partitions this consumer reads. */
  assign(partitions: TopicPartitionOffset[]): void {
    for (const p of partitions) {
      if (typeof p.topic !== 'string' || p.topic.length === 0 || !Number.isInteger(p.partition) || p.partition < 0) {
        throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `bad assignment ${JSON.stringify({ topic: p.topic, partition: p.partition })}`);
      }
    }
    this.fetcher.assign(partitions);
    const keep = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
    for (const key of this.consumed.keys()) if (!keep.has(key)) this.consumed.delete(key);
  }

  assignment(): { topic: string; partition: number }[] {
    return this.fetcher.assignment();
  }

  /** Next records of the partition start at `offset`; buffered and in-flight records of it are dropped. */
  seek(target: { topic: string; partition: number; offset: StartOffset }): void {
    this.fetcher.seek(target.topic, target.partition, target.offset);
    this.consumed.delete(`${target.topic}\u0000${target.partition}`);
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
      this.buffer = this.buffer.filter((b) => b.next < b.round.records.length && this.isCurrent(b.round));
      const ready = this.buffer.find((b) => this.isDeliverable(b.round));
      if (ready || polled || this.closed) return ready ?? null;
      for (const round of await this.poll()) this.buffer.push({ round, next: 0 });
    }
  }

  private markConsumed(round: PartitionRecords, record: ConsumerRecord): void {
    this.consumed.set(`${round.topic}\u0000${round.partition}`, record.offset + 1);
  }

  async *messages(): AsyncGenerator<ConsumerRecord, void, undefined> {
    while (!this.closed) {
      const entry = await this.nextDeliverable();
      if (!entry) continue;
      const { round } = entry;
      // A seek or pause made while the caller processes a record takes effect before the next one.
      while (entry.next < round.records.length && !this.closed && this.isDeliverable(round)) {
        const record = round.records[entry.next++]!;
        this.markConsumed(round, record);
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
          this.markConsumed(round, messages[messages.length - 1]!);
          await options.eachBatch({ topic: round.topic, partition: round.partition, messages, highWatermark: round.highWatermark });
          continue;
        }
        while (entry.next < round.records.length && this.running && !this.closed && this.isDeliverable(round)) {
          const message = round.records[entry.next++]!;
          this.markConsumed(round, message);
          await options.eachMessage!({ topic: round.topic, partition: round.partition, message });
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    this.fetcher.wake();
    this.prefetch = null;
    this.buffer = [];
    await this.cluster.close();
  }
}
