import { assert } from '@fluxo/common';

/** A record as the producer hands it to the accumulator (key/value already bytes, timestamp resolved). */
export interface OutgoingRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
  timestampMs: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 for acks=0 (the broker does not say). */
  offset: number;
  /** CreateTime as sent, or the broker's LogAppendTime when the topic uses it. */
  timestamp: number;
}

/** Tracks one send() call: resolves when all its records are acknowledged, rejects on the first failure. */
export class SendCompletion {
  readonly results: RecordMetadata[];
  private remaining: number;
  private settled = false;
  readonly promise: Promise<RecordMetadata[]>;
  private resolveFn!: (results: RecordMetadata[]) => void;
  private rejectFn!: (err: Error) => void;

  constructor(count: number) {
    this.results = new Array<RecordMetadata>(count);
    this.remaining = count;
    this.promise = new Promise((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    if (count === 0) this.finish();
  }

  recordDone(index: number, metadata: RecordMetadata): void {
    this.results[index] = metadata;
    if (--this.remaining === 0) this.finish();
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(err);
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveFn(this.results);
  }
}

export interface PendingRecord {
  readonly record: OutgoingRecord;
  readonly sizeBytes: number;
  readonly acks: number;
  /** Compression codec id (protocol Compression value). */
  readonly compression: number;
  readonly completion: SendCompletion;
  /** Index of the record in its send() call. */
  readonly index: number;
}

/** Records drained from one partition, sent as one v2 batch. */
export interface DrainedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly acks: number;
  readonly compression: number;
  readonly records: PendingRecord[];
  readonly sizeBytes: number;
  /** Sends of these records so far that failed with a retriable error. */
  readonly attempts: number;
}

export interface AccumulatorOptions {
  /** A partition with this many bytes queued is sent without waiting for lingerMs (Kafka batch.size). */
  batchSizeBytes?: number;
  /** How long the first record of a batch may wait for others (Kafka linger.ms). */
  lingerMs?: number;
  /** Upper bound of one drained batch (estimated, uncompressed); a larger single record goes alone. */
  maxBatchSizeBytes?: number;
  /** Queued plus in-flight bytes before appenders must wait (Kafka buffer.memory). */
  bufferMemoryBytes?: number;
  /** Called when a partition's batch closes (full or drained): the sticky partitioner moves on. */
  onBatchClosed?: (topic: string, partition: number) => void;
}

/** Bytes a record adds to a v2 batch, overestimated a little (varint lengths, attributes, deltas). */
export function estimateRecordSizeBytes(record: OutgoingRecord): number {
  let size = 21 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const h of record.headers) size += 10 + Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  return size;
}

export const RECORD_BATCH_OVERHEAD_BYTES = 61;

class PartitionQueue {
  /** Records from `head` on are queued (an array with a moving head: O(1) dequeue). */
  records: PendingRecord[] = [];
  head = 0;
  queuedBytes = 0;
  /** Bytes appended since the last batch boundary, for the sticky partitioner. */
  openBatchBytes = 0;
  firstQueuedAtMs = 0;
  inFlight: DrainedBatch | null = null;
  retryAtMs = 0;
  /** Retriable failures so far of the records at the front (a requeued batch). */
  retryAttempts = 0;
  /** Lowered after the broker rejected a batch as too large (the topic's max.message.bytes is smaller). */
  maxBatchSizeBytes = Number.POSITIVE_INFINITY;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get queuedCount(): number {
    return this.records.length - this.head;
  }
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * Per-partition queues of records waiting to be sent, like Kafka's RecordAccumulator. A partition is ready
 * when it holds batchSizeBytes, its oldest record waited lingerMs, or a flush is on. At most one batch per
 * partition is in flight, so a retried batch can never be overtaken by a later one: order per partition holds.
 */
export class RecordAccumulator {
  private readonly batchSizeBytes: number;
  private readonly lingerMs: number;
  private readonly maxBatchSizeBytes: number;
  private readonly bufferMemoryBytes: number;
  private readonly onBatchClosed: ((topic: string, partition: number) => void) | undefined;
  private readonly queues = new Map<string, PartitionQueue>();
  private totalBytes = 0;
  private inFlightBatches = 0;
  private flushing = 0;
  private spaceWaiters: (() => void)[] = [];
  private emptyWaiters: (() => void)[] = [];

  constructor(options: AccumulatorOptions = {}) {
    this.batchSizeBytes = options.batchSizeBytes ?? 16_384;
    this.lingerMs = options.lingerMs ?? 5;
    this.maxBatchSizeBytes = options.maxBatchSizeBytes ?? 1_000_000;
    this.bufferMemoryBytes = options.bufferMemoryBytes ?? 32 * 1024 * 1024;
    this.onBatchClosed = options.onBatchClosed;
    assert(this.batchSizeBytes > 0, 'batchSizeBytes must be positive');
    assert(this.lingerMs >= 0, 'lingerMs must not be negative');
    assert(this.maxBatchSizeBytes >= this.batchSizeBytes, 'maxBatchSizeBytes must be at least batchSizeBytes');
  }

  /** Queued plus in-flight bytes. */
  get bufferedBytes(): number {
    return this.totalBytes;
  }

  get isEmpty(): boolean {
    // Every record counts at least one byte until it completes or fails, so zero bytes means nothing queued.
    return this.totalBytes === 0 && this.inFlightBatches === 0;
  }

  /** Resolves when there is room for more records (buffer.memory backpressure). */
  waitForSpace(): Promise<void> {
    if (this.totalBytes < this.bufferMemoryBytes) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /** Resolves when nothing is queued or in flight. */
  waitForEmpty(): Promise<void> {
    if (this.isEmpty) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  append(topic: string, partition: number, pending: Omit<PendingRecord, 'sizeBytes'>, nowMs: number): void {
    const key = `${topic}\u0000${partition}`;
    let queue = this.queues.get(key);
    if (!queue) {
      queue = new PartitionQueue(topic, partition);
      this.queues.set(key, queue);
    }
    const sizeBytes = estimateRecordSizeBytes(pending.record);
    if (queue.queuedCount === 0) {
      queue.firstQueuedAtMs = nowMs;
      if (queue.head > 0) {
        queue.records = [];
        queue.head = 0;
      }
    }
    queue.records.push({ ...pending, sizeBytes });
    queue.queuedBytes += sizeBytes;
    queue.openBatchBytes += sizeBytes;
    this.totalBytes += sizeBytes;
    if (queue.openBatchBytes >= this.batchSizeBytes) {
      queue.openBatchBytes = 0;
      this.onBatchClosed?.(topic, partition);
    }
  }

  /** Starts a flush: every partition is ready regardless of linger until endFlush(). */
  beginFlush(): void {
    this.flushing++;
  }

  endFlush(): void {
    assert(this.flushing > 0, 'endFlush without beginFlush');
    this.flushing--;
  }

  /**
   * Partitions that can send now, and how long until the next one becomes ready by linger or retry backoff
   * (null when nothing waits).
   */
  ready(nowMs: number): { ready: TopicPartition[]; nextReadyInMs: number | null } {
    const ready: TopicPartition[] = [];
    let next: number | null = null;
    for (const q of this.queues.values()) {
      if (q.inFlight || q.queuedCount === 0) continue;
      let readyAtMs = q.queuedBytes >= this.batchSizeBytes || this.flushing > 0 ? nowMs : q.firstQueuedAtMs + this.lingerMs;
      readyAtMs = Math.max(readyAtMs, q.retryAtMs);
      if (readyAtMs <= nowMs) ready.push({ topic: q.topic, partition: q.partition });
      else next = next === null ? readyAtMs - nowMs : Math.min(next, readyAtMs - nowMs);
    }
    return { ready, nextReadyInMs: next };
  }

  /**
   * Takes the next batch of a ready partition: consecutive records with the same acks and compression, up to
   * maxBatchSizeBytes. The partition stays busy until complete(), fail() or requeue().
   */
  drain(topic: string, partition: number): DrainedBatch | null {
    const q = this.queues.get(`${topic}\u0000${partition}`);
    if (!q || q.inFlight || q.queuedCount === 0) return null;
    const first = q.records[q.head]!;
    const records: PendingRecord[] = [];
    let sizeBytes = RECORD_BATCH_OVERHEAD_BYTES;
    const maxBytes = Math.min(this.maxBatchSizeBytes, q.maxBatchSizeBytes);
    while (q.head < q.records.length) {
      const r = q.records[q.head]!;
      if (r.acks !== first.acks || r.compression !== first.compression) break;
      if (records.length > 0 && sizeBytes + r.sizeBytes > maxBytes) break;
      records.push(r);
      sizeBytes += r.sizeBytes;
      q.queuedBytes -= r.sizeBytes;
      q.head++;
    }
    if (q.queuedCount === 0) {
      q.records = [];
      q.head = 0;
      q.openBatchBytes = 0;
      this.onBatchClosed?.(topic, partition);
    } else {
      q.firstQueuedAtMs = Date.now();
      if (q.head > 1024 && q.head * 2 > q.records.length) {
        q.records = q.records.slice(q.head);
        q.head = 0;
      }
    }
    const batch: DrainedBatch = { topic, partition, acks: first.acks, compression: first.compression, records, sizeBytes, attempts: q.retryAttempts };
    q.inFlight = batch;
    this.inFlightBatches++;
    return batch;
  }

  /** The broker acknowledged the batch at baseOffset (-1 for acks=0). */
  complete(batch: DrainedBatch, baseOffset: number, logAppendTimeMs: number): void {
    this.release(batch).retryAttempts = 0;
    for (let i = 0; i < batch.records.length; i++) {
      const r = batch.records[i]!;
      r.completion.recordDone(r.index, {
        topic: batch.topic,
        partition: batch.partition,
        offset: baseOffset < 0 ? -1 : baseOffset + i,
        timestamp: logAppendTimeMs >= 0 ? logAppendTimeMs : r.record.timestampMs,
      });
    }
    this.settleBytes(batch);
  }

  /** The batch failed for good: its send() calls reject. */
  fail(batch: DrainedBatch, err: Error): void {
    this.release(batch).retryAttempts = 0;
    for (const r of batch.records) r.completion.fail(err);
    this.settleBytes(batch);
  }

  /**
   * The broker rejected the batch as too large: put its records back and send this partition's batches at
   * most half as big from now on (Kafka's producer splits such batches the same way). False when the batch
   * is a single record and cannot be split.
   */
  splitAndRequeue(batch: DrainedBatch): boolean {
    if (batch.records.length < 2) return false;
    const q = this.queues.get(`${batch.topic}\u0000${batch.partition}`)!;
    q.maxBatchSizeBytes = Math.max(RECORD_BATCH_OVERHEAD_BYTES + 1, Math.floor(batch.sizeBytes / 2));
    // Not a retry of the same request: the attempt count stays.
    this.requeue(batch, 0);
    q.retryAttempts = batch.attempts;
    return true;
  }

  /** A retriable failure: the records go back to the front of their partition, sendable after retryAtMs. */
  requeue(batch: DrainedBatch, retryAtMs: number): void {
    const q = this.release(batch);
    const rest = q.records.slice(q.head);
    q.records = [...batch.records, ...rest];
    q.head = 0;
    for (const r of batch.records) q.queuedBytes += r.sizeBytes;
    q.firstQueuedAtMs = 0;
    q.retryAtMs = retryAtMs;
    q.retryAttempts = batch.attempts + 1;
  }

  private release(batch: DrainedBatch): PartitionQueue {
    const q = this.queues.get(`${batch.topic}\u0000${batch.partition}`);
    assert(q !== undefined && q.inFlight === batch, 'batch is not the in-flight batch of its partition');
    q.inFlight = null;
    this.inFlightBatches--;
    return q;
  }

  private settleBytes(batch: DrainedBatch): void {
    for (const r of batch.records) this.totalBytes -= r.sizeBytes;
    assert(this.totalBytes >= 0, 'accumulator byte count went negative');
    if (this.totalBytes < this.bufferMemoryBytes && this.spaceWaiters.length > 0) {
      for (const w of this.spaceWaiters.splice(0)) w();
    }
    if (this.isEmpty && this.emptyWaiters.length > 0) for (const w of this.emptyWaiters.splice(0)) w();
  }

  /** Fails every queued record (producer closed without flush). */
  abortAll(err: Error): void {
    for (const q of this.queues.values()) {
      for (let i = q.head; i < q.records.length; i++) {
        const r = q.records[i]!;
        r.completion.fail(err);
        this.totalBytes -= r.sizeBytes;
      }
      q.records = [];
      q.head = 0;
      q.queuedBytes = 0;
    }
    for (const w of this.spaceWaiters.splice(0)) w();
    if (this.isEmpty) for (const w of this.emptyWaiters.splice(0)) w();
  }
}
