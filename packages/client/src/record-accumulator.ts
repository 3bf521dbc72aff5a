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

/** The producer id and epoch an idempotent producer's batches carry (InitProducerId). */
export interface ProducerIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** No idempotence: producer id, epoch and base sequence of a batch are all -1. */
const NO_IDENTITY = -1;

function sameIdentity(a: ProducerIdentity | null, b: ProducerIdentity | null): boolean {
  return a !== null && b !== null && a.producerId === b.producerId && a.producerEpoch === b.producerEpoch;
}

/** Kafka's sequence arithmetic: sequences wrap from Int32.MAX to 0. */
export function addSequence(seq: number, count: number): number {
  const INT32_MAX = 0x7fffffff;
  return seq > INT32_MAX - count ? count - (INT32_MAX - seq) - 1 : seq + count;
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
  /** Drain order within its partition: requeued batches go back in this order. */
  readonly sequence: number;
  /** Idempotence: the identity and first record sequence the batch is sent with (-1 without idempotence). */
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** When the batch was first sent (a retried idempotent batch keeps it: delivery timeout). */
  readonly firstSentAtMs: number;
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
  /**
   * Batches of one partition that may be in flight at once (like Kafka's max.in.flight.requests.per.connection,
   * per partition). 1 (the default here) keeps order even when a batch is retried; above 1 a batch retried
   * after a retriable error can land after a later batch of its partition that succeeded (Kafka without
   * idempotence behaves the same way).
   */
  maxInFlightBatchesPerPartition?: number;
  /** Called when a partition's batch closes (full or drained): the sticky partitioner moves on. */
  onBatchClosed?: (topic: string, partition: number) => void;
  /**
   * Idempotent producer (Kafka enable.idempotence): batches carry this identity (null while none is usable:
   * InitProducerId or an epoch bump pending) and per-partition sequence numbers. A batch failing retriably is
   * resent intact (same records, same sequence), so the broker answers a duplicate with its original offset;
   * a partition adopts a new identity only once none of its batches is unresolved, restarting at sequence 0.
   */
  identity?: () => ProducerIdentity | null;
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
  /** In drain order. */
  inFlight: DrainedBatch[] = [];
  /** Batches that failed retriably while others of the partition were in flight, in drain order. */
  retryPending: { batch: DrainedBatch; attempts: number }[] = [];
  nextSequence = 0;
  retryAtMs = 0;
  /** Retriable failures so far of the records at the front (requeued batches). */
  retryAttempts = 0;
  /** How many records at the front were requeued (they carry retryAttempts). */
  requeuedCount = 0;
  /** Lowered after the broker rejected a batch as too large (the topic's max.message.bytes is smaller). */
  maxBatchSizeBytes = Number.POSITIVE_INFINITY;
  /** Idempotence: the identity this partition's sequences belong to, its next record sequence, the last acknowledged. */
  identity: ProducerIdentity | null = null;
  nextRecordSequence = 0;
  lastAckedSequence = -1;
  lastAckedDrainOrder = -1;
  /** Idempotence: batches to resend intact, in drain order, before any new batch. */
  retryBatches: { batch: DrainedBatch; attempts: number }[] = [];
  /** Idempotence: the sequence has a gap; unresolved batches are re-batched under a new identity from sequence 0. */
  resequence = false;
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
 * when it holds batchSizeBytes, its oldest record waited lingerMs, or a flush is on, and fewer than
 * maxInFlightBatchesPerPartition of its batches are in flight. Batches are drained in order. When one fails
 * retriably, the partition drains nothing more until all its in-flight batches settled; then the failed ones
 * go back to the front in their original order. With one batch in flight (the default) a retried batch can
 * never be overtaken by a later one: order per partition holds even across retries.
 */
export class RecordAccumulator {
  private readonly batchSizeBytes: number;
  private readonly lingerMs: number;
  private readonly maxBatchSizeBytes: number;
  private readonly bufferMemoryBytes: number;
  private readonly maxInFlightBatchesPerPartition: number;
  private readonly onBatchClosed: ((topic: string, partition: number) => void) | undefined;
  private readonly identity: (() => ProducerIdentity | null) | undefined;
  private readonly queues = new Map<string, PartitionQueue>();
  /** The same queues by topic, then partition index: append() looks them up without building a key string. */
  private readonly queuesByTopic = new Map<string, (PartitionQueue | undefined)[]>();
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
    this.maxInFlightBatchesPerPartition = options.maxInFlightBatchesPerPartition ?? 1;
    this.onBatchClosed = options.onBatchClosed;
    this.identity = options.identity;
    assert(this.batchSizeBytes > 0, 'batchSizeBytes must be positive');
    assert(this.lingerMs >= 0, 'lingerMs must not be negative');
    assert(this.maxBatchSizeBytes >= this.batchSizeBytes, 'maxBatchSizeBytes must be at least batchSizeBytes');
    assert(
      Number.isInteger(this.maxInFlightBatchesPerPartition) && this.maxInFlightBatchesPerPartition >= 1 && this.maxInFlightBatchesPerPartition <= 100,
      'maxInFlightBatchesPerPartition must be an integer in 1..100',
    );
  }

  /** Queued plus in-flight bytes. */
  get bufferedBytes(): number {
    return this.totalBytes;
  }

  get isEmpty(): boolean {
    // Every record counts at least one byte until it completes or fails, so zero bytes means nothing queued.
    return this.totalBytes === 0 && this.inFlightBatches === 0;
  }

  /** Whether appends may go on without waiting (buffer.memory not used up). */
  get hasSpace(): boolean {
    return this.totalBytes < this.bufferMemoryBytes;
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
    let byPartition = this.queuesByTopic.get(topic);
    if (!byPartition) this.queuesByTopic.set(topic, (byPartition = []));
    let queue = byPartition[partition];
    if (!queue) {
      assert(Number.isInteger(partition) && partition >= 0, 'partition must be a non-negative integer');
      queue = new PartitionQueue(topic, partition);
      this.queues.set(`${topic}\u0000${partition}`, queue);
      byPartition[partition] = queue;
    }
    const sizeBytes = estimateRecordSizeBytes(pending.record);
    if (queue.queuedCount === 0) {
      queue.firstQueuedAtMs = nowMs;
      if (queue.head > 0) {
        queue.records = [];
        queue.head = 0;
      }
    }
    // An explicit literal, not a spread: this runs once per record.
    queue.records.push({
      record: pending.record,
      sizeBytes,
      acks: pending.acks,
      compression: pending.compression,
      completion: pending.completion,
      index: pending.index,
    });
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
      if (!this.canDrain(q)) continue;
      let readyAtMs = q.queuedBytes >= this.batchSizeBytes || this.flushing > 0 || q.retryBatches.length > 0 ? nowMs : q.firstQueuedAtMs + this.lingerMs;
      readyAtMs = Math.max(readyAtMs, q.retryAtMs);
      if (readyAtMs <= nowMs) ready.push({ topic: q.topic, partition: q.partition });
      else next = next === null ? readyAtMs - nowMs : Math.min(next, readyAtMs - nowMs);
    }
    return { ready, nextReadyInMs: next };
  }

  /**
   * Takes the next batch of a ready partition: consecutive records with the same acks and compression, up to
   * maxBatchSizeBytes. The batch counts against the partition's in-flight limit until complete(), fail() or
   * requeue().
   */
  drain(topic: string, partition: number): DrainedBatch | null {
    const q = this.queues.get(`${topic}\u0000${partition}`);
    if (!q || !this.canDrain(q)) return null;
    const retry = q.retryBatches.shift();
    if (retry !== undefined) {
      // Idempotence: the same batch again (records, identity, sequence), only its attempt count moves on.
      const again: DrainedBatch = { ...retry.batch, attempts: retry.attempts };
      q.inFlight.push(again);
      this.inFlightBatches++;
      return again;
    }
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
    let identity: ProducerIdentity | null = null;
    let baseSequence = NO_IDENTITY;
    if (this.identity !== undefined) {
      identity = this.identity();
      assert(identity !== null, 'drained an idempotent batch without a producer identity');
      if (!sameIdentity(q.identity, identity)) {
        // canDrain allowed it: nothing of the old identity is unresolved. A new sequence space starts at 0.
        q.identity = identity;
        q.nextRecordSequence = 0;
        q.lastAckedSequence = -1;
      }
      baseSequence = q.nextRecordSequence;
      q.nextRecordSequence = addSequence(baseSequence, records.length);
    }
    const batch: DrainedBatch = {
      topic,
      partition,
      acks: first.acks,
      compression: first.compression,
      records,
      sizeBytes,
      attempts: q.retryAttempts,
      sequence: q.nextSequence++,
      producerId: identity?.producerId ?? NO_IDENTITY,
      producerEpoch: identity?.producerEpoch ?? NO_IDENTITY,
      baseSequence,
      firstSentAtMs: Date.now(),
    };
    if (q.requeuedCount > 0) {
      q.requeuedCount = Math.max(0, q.requeuedCount - records.length);
      if (q.requeuedCount === 0) q.retryAttempts = 0;
    }
    q.inFlight.push(batch);
    this.inFlightBatches++;
    return batch;
  }

  /** Whether the partition's next batch may be drained now (linger and backoff aside). */
  private canDrain(q: PartitionQueue): boolean {
    if (this.identity === undefined) return q.queuedCount > 0 && q.retryPending.length === 0 && q.inFlight.length < this.maxInFlightBatchesPerPartition;
    if (q.retryPending.length > 0 || q.resequence || q.inFlight.length >= this.maxInFlightBatchesPerPartition) return false;
    if (q.retryBatches.length > 0) return true;
    if (q.queuedCount === 0) return false;
    const identity = this.identity();
    // A new identity (epoch bump, new producer id) waits until the partition's older batches are resolved:
    // a batch at the new epoch from sequence 0 must not overtake them.
    return identity !== null && (sameIdentity(q.identity, identity) || q.inFlight.length === 0);
  }

  /**
   * Idempotence: whether the batch is the next one the broker expects of its partition (its base sequence
   * follows the last acknowledged one of its identity). An OUT_OF_ORDER_SEQUENCE_NUMBER for the next batch is
   * a real gap; for a later one it only means an earlier batch has not landed yet.
   */
  isNextSequence(batch: DrainedBatch): boolean {
    const q = this.queues.get(`${batch.topic}\u0000${batch.partition}`);
    if (q === undefined || q.identity === null || q.identity.producerId !== batch.producerId || q.identity.producerEpoch !== batch.producerEpoch) return false;
    return batch.baseSequence === addSequence(q.lastAckedSequence, 1);
  }

  /**
   * Idempotence: the partition's sequence has a gap (a batch failed for good, or the broker lost our state):
   * once nothing of it is in flight, its unresolved batches go back to the queue front as records and are sent
   * again under the producer's next identity from sequence 0.
   */
  resequencePartition(topic: string, partition: number): void {
    const q = this.queues.get(`${topic}\u0000${partition}`);
    if (q === undefined) return;
    q.resequence = true;
    this.settleRetries(q);
  }

  /** The broker acknowledged the batch at baseOffset (-1 for acks=0). */
  complete(batch: DrainedBatch, baseOffset: number, logAppendTimeMs: number): void {
    const q = this.release(batch);
    if (batch.baseSequence >= 0 && sameIdentity(q.identity, batch) && batch.sequence > q.lastAckedDrainOrder) {
      q.lastAckedDrainOrder = batch.sequence;
      q.lastAckedSequence = addSequence(batch.baseSequence, batch.records.length - 1);
    }
    this.settleRetries(q);
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
    const q = this.release(batch);
    for (const r of batch.records) r.completion.fail(err);
    this.settleBytes(batch);
    this.settleRetries(q);
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
    // Idempotence: the split batches need new sequences, and so does everything after them.
    if (this.identity !== undefined) q.resequence = true;
    // Not a retry of the same request: the attempt count stays.
    this.putBack(batch, 0, batch.attempts);
    return true;
  }

  /**
   * A retriable failure: the records go back to the front of their partition (in drain order, once none of
   * the partition's batches is in flight any more), sendable after retryAtMs.
   */
  requeue(batch: DrainedBatch, retryAtMs: number): void {
    this.putBack(batch, retryAtMs, batch.attempts + 1);
  }

  private putBack(batch: DrainedBatch, retryAtMs: number, attempts: number): void {
    const q = this.release(batch);
    let at = q.retryPending.length;
    while (at > 0 && q.retryPending[at - 1]!.batch.sequence > batch.sequence) at--;
    q.retryPending.splice(at, 0, { batch, attempts });
    q.retryAtMs = Math.max(q.retryAtMs, retryAtMs);
    this.settleRetries(q);
  }

  /**
   * Once nothing of the partition is in flight, requeued batches go back to the front, oldest first: as records
   * (re-batched), or with idempotence as the same batches, unless the partition must resequence.
   */
  private settleRetries(q: PartitionQueue): void {
    if (q.inFlight.length > 0) return;
    if (this.identity !== undefined) {
      const byDrainOrder = (a: { batch: DrainedBatch }, b: { batch: DrainedBatch }): number => a.batch.sequence - b.batch.sequence;
      if (!q.resequence) {
        if (q.retryPending.length === 0) return;
        q.retryBatches = [...q.retryBatches, ...q.retryPending].sort(byDrainOrder);
        q.retryPending = [];
        return;
      }
      q.retryPending = [...q.retryBatches, ...q.retryPending].sort(byDrainOrder);
      q.retryBatches = [];
      q.resequence = false;
      q.identity = null;
    }
    if (q.retryPending.length === 0) return;
    const front: PendingRecord[] = [];
    let attempts = 0;
    for (const { batch, attempts: a } of q.retryPending) {
      for (const r of batch.records) {
        front.push(r);
        q.queuedBytes += r.sizeBytes;
      }
      attempts = Math.max(attempts, a);
    }
    q.retryPending = [];
    const rest = q.records.slice(q.head);
    q.records = front.concat(rest);
    q.head = 0;
    q.firstQueuedAtMs = 0;
    q.retryAttempts = attempts;
    q.requeuedCount = front.length;
  }

  private release(batch: DrainedBatch): PartitionQueue {
    const q = this.queues.get(`${batch.topic}\u0000${batch.partition}`);
    // Responses usually come back in drain order: the batch is nearly always the first.
    const at = q === undefined ? -1 : q.inFlight.indexOf(batch);
    assert(q !== undefined && at >= 0, 'batch is not an in-flight batch of its partition');
    q.inFlight.splice(at, 1);
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
      q.requeuedCount = 0;
      for (const { batch } of [...q.retryPending, ...q.retryBatches]) {
        for (const r of batch.records) {
          r.completion.fail(err);
          this.totalBytes -= r.sizeBytes;
        }
      }
      q.retryPending = [];
      q.retryBatches = [];
    }
    for (const w of this.spaceWaiters.splice(0)) w();
    if (this.isEmpty) for (const w of this.emptyWaiters.splice(0)) w();
  }
}
