import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assert, ErrorCode, KafkaProtocolError, type Logger, type Registry } from '@fluxo/common';
import {
  PARTITION_LEADER_EPOCH_OFFSET,
  decodeRecordBatch,
  readBatchHeader,
  setBaseOffset,
  setMaxTimestampAndLogAppendTime,
  setPartitionLeaderEpoch,
  type RecordBatchHeader,
} from '@fluxo/protocol';
import { walkBatches, type BatchInfo } from './batch-scan.js';
import { ProducerStateManager } from './producer-state/producer-state-manager.js';
import {
  readEpochCheckpoint,
  readHighWatermarkCheckpoint,
  writeEpochCheckpoint,
  writeHighWatermarkCheckpoint,
} from './epoch/epoch-checkpoint.js';
import { LeaderEpochCache, UNDEFINED_EPOCH, type EpochEndOffset, type EpochEntry } from './epoch/leader-epoch-cache.js';
import { readOffsetCheckpoint, writeOffsetCheckpoint } from './checkpoint.js';
import { recoverInterruptedSwap, runCompaction, type CleanerHost } from './cleaner.js';
import {
  CLEAN_SHUTDOWN_FILE,
  CLEANER_CHECKPOINT_FILE,
  LOG_START_OFFSET_FILE,
  RECOVERY_POINT_FILE,
  TMP_SUFFIX,
  parseLogFileName,
  segmentPaths,
} from './file-names.js';
import { fsyncDir, readFileOrNull, unlinkIfExists, writeAllAt, writeFileDurably } from './fs-util.js';
import { SegmentHandlePool } from './handle-pool.js';
import { isRelaxedFlush, type LogConfig } from './log-config.js';
import { LogSegment } from './log-segment.js';
import { storageMetrics, type StorageMetrics } from './storage-metrics.js';

export interface PartitionLogOptions {
  dir: string;
  topic: string;
  partition: number;
  config: LogConfig;
  logger: Logger;
  registry: Registry;
  nowMs?: () => number;
  /** Shared LRU of open closed-segment handles (LogManager passes one; standalone logs get their own). */
  handlePool?: SegmentHandlePool;
}

export interface AppendOptions {
  leaderEpoch: number;
  /** Set for LogAppendTime: stamps every batch's maxTimestamp (and the timestamp type bit). */
  logAppendTimeMs?: number;
  /** The caller already verified every batch's CRC (the broker does on produce): skip the second check. */
  crcVerified?: boolean;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The LogAppendTime used, or -1 for CreateTime (Kafka's ProduceResponse convention). */
  logAppendTimeMs: number;
  logStartOffset: number;
}

export interface ReadResult {
  /** Whole record batches (empty when nothing is readable at fetchOffset yet). */
  records: Buffer;
  logStartOffset: number;
  logEndOffset: number;
}

interface AppendRequest {
  readonly batches: Buffer;
  readonly infos: BatchInfo[];
  readonly sizeBytes: number;
  readonly messages: number;
  readonly opts: AppendOptions;
  /** Replicated from the leader: offsets and leader epochs are kept as they are (appendAsFollower). */
  readonly follower: boolean;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
  result: AppendResult | null;
  /** Write sequence number once written (group commit waits for durableSeq >= seq). */
  seq: number;
}

interface CleanShutdownMarker {
  logEndOffset: number;
  activeBaseOffset: number;
  activeSizeBytes: number;
}

type WriterTask = { kind: 'append'; req: AppendRequest } | { kind: 'op'; run: () => Promise<void>; abort: (err: unknown) => void };

const EMPTY = Buffer.alloc(0);
/** Largest single writev (bytes / buffers): bounds the group a write covers. */
const MAX_WRITE_BYTES = 32 * 1024 * 1024;
const MAX_WRITE_BUFFERS = 1024;
/** Appends waiting for the writer beyond this many bytes are refused (retriable): back-pressure, not OOM. */
const MAX_PENDING_BYTES = 512 * 1024 * 1024;
/** Bytes read beyond maxBytes so the scan from an index entry reaches fetchOffset in the same read. */
const MIN_SCAN_SLACK_BYTES = 64 * 1024;

/**
 * The durable log of one partition: a directory of segments (see LogSegment).
 *
 * Writes: one writer per partition (a task queue). append() validates and enqueues; the writer assigns offsets
 * by rewriting baseOffset / partitionLeaderEpoch in place (never re-encoding), writes the queued appends with
 * one writev and publishes them to readers (logEndOffset) once the write completes.
 *
 * Durability (flush.messages=1, the default): an append resolves only after an fdatasync that started after
 * its write completed. Group commit: at most one fsync runs at a time; appends written while it runs wait for
 * the next one, which covers all of them. Relaxed mode (flush.messages > 1): appends resolve once written (in
 * the page cache: a machine crash can lose them, a process crash cannot); an fsync starts in the background
 * after flush.messages records, and at most flush.ms after the first unflushed append when flush.ms is set.
 *
 * Recovery: segments past the recovery point (the active segment's base at its creation, checkpointed) are
 * scanned on open, every batch CRC-checked, the tail truncated at the first torn or bad batch; a clean-shutdown
 * marker written by close() skips the scan.
 */
export class PartitionLog {
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  private config: LogConfig;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly pool: SegmentHandlePool;
  private readonly metrics: StorageMetrics;
  private readonly labels: { topic: string; partition: string };
  // Per-partition metric children, resolved once (label hashing stays off the append path).
  private readonly segmentsGauge: ReturnType<StorageMetrics['segments']['labels']>;
  private readonly flushCounter: ReturnType<StorageMetrics['flushes']['labels']>;
  /** Idempotent producers' epochs and last batches (producer-state/): duplicates and sequence checks. */
  readonly producers: ProducerStateManager;

  /** Copy-on-write: readers take a snapshot of the array. Sorted by baseOffset; the last one is active. */
  private segments: LogSegment[] = [];
  private _logStartOffset = 0;
  /** Next offset the writer will assign. */
  private nextOffset = 0;
  private _logEndOffset = 0;
  private _durableEndOffset = 0;
  private recoveryPoint = 0;
  private cleanerCheckpoint = 0;
  /** Start offset of every leader epoch (leader-epoch-checkpoint), changed only on the writer. */
  private epochs = new LeaderEpochCache();
  /** High watermark as the broker last set it (replication-offset-checkpoint); within [logStart, logEnd]. */
  private hw = 0;
  private checkpointedHw = -1;
  /** Called after each write publishes a new log end (the replication leader wakes follower fetches). */
  onLogEndAdvance: (() => void) | null = null;

  private readonly queue: WriterTask[] = [];
  private queuedBytes = 0;
  private writerRunning = false;
  private writtenSeq = 0;
  private durableSeq = 0;
  private syncing: Promise<void> | null = null;
  private readonly durabilityWaiters: AppendRequest[] = [];
  private unflushedMessages = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private cleaning = false;
  private failure: Error | null = null;
  private closed = false;
  /** Fsyncs this log performed (tests and the group-commit bench read it). */
  fsyncCount = 0;
  /** What open() did: clean (marker honoured), segments scanned, bytes truncated. */
  recoveryStats: { clean: boolean; scannedSegments: number; truncatedBytes: number } = { clean: false, scannedSegments: 0, truncatedBytes: 0 };

  private constructor(opts: PartitionLogOptions) {
    this.dir = opts.dir;
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.config = opts.config;
    this.logger = opts.logger.child({ topic: opts.topic, partition: opts.partition });
    this.now = opts.nowMs ?? Date.now;
    this.pool = opts.handlePool ?? new SegmentHandlePool(256);
    this.metrics = storageMetrics(opts.registry);
    this.labels = { topic: opts.topic, partition: String(opts.partition) };
    this.segmentsGauge = this.metrics.segments.labels(this.labels);
    this.flushCounter = this.metrics.flushes.labels(this.labels);
    this.producers = new ProducerStateManager(opts.dir, this.logger);
  }

  static async open(opts: PartitionLogOptions): Promise<PartitionLog> {
    const log = new PartitionLog(opts);
    await log.load();
    return log;
  }

  get logStartOffset(): number {
    return this._logStartOffset;
  }
  /** One past the last offset written and readable (the next offset to assign once the writer is idle). */
  get logEndOffset(): number {
    return this._logEndOffset;
  }
  /** One past the last offset known fsynced. */
  get durableEndOffset(): number {
    return this._durableEndOffset;
  }
  get sizeBytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.sizeBytes;
    return total;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /** Base offsets of the segments (oldest first). */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }
  getConfig(): LogConfig {
    return this.config;
  }

  updateConfig(config: LogConfig): void {
    this.config = config;
  }

  // ---------------------------------------------------------------------------------------------- append

  append(batches: Buffer, opts: AppendOptions): Promise<AppendResult> {
    return this.enqueueAppend(batches, opts, false);
  }

  /**
   * Replication: appends batches fetched from the leader exactly as they are (offsets and partition leader
   * epochs kept, every CRC verified, offsets strictly increasing from at least the log end; a gap is a
   * compacted leader log). Batches with a new leader epoch extend the epoch cache. Durable per the flush
   * policy, with group commit, like append().
   */
  appendAsFollower(batches: Buffer): Promise<AppendResult> {
    return this.enqueueAppend(batches, { leaderEpoch: UNDEFINED_EPOCH }, true);
  }

  private enqueueAppend(batches: Buffer, opts: AppendOptions, follower: boolean): Promise<AppendResult> {
    if (this.failure !== null) return Promise.reject(this.storageError());
    if (this.closed) return Promise.reject(this.closedError());
    const infos: BatchInfo[] = [];
    let messages = 0;
    let invalid: string | null = null;
    let tooLarge = -1;
    // A follower keeps what its leader accepted.
    const maxBatchBytes = follower ? Number.MAX_SAFE_INTEGER : this.config.maxMessageBytes;
    const verifyCrc = follower || opts.crcVerified !== true;
    const stop = walkBatches(batches, 0, { verifyCrc, prevLastOffset: -1, checkOffsets: follower }, (b) => {
      if (b.sizeBytes > maxBatchBytes) {
        tooLarge = b.sizeBytes;
        return true;
      }
      infos.push(b);
      messages += b.lastOffsetDelta + 1;
      return false;
    });
    if (tooLarge >= 0) {
      return Promise.reject(new KafkaProtocolError(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${tooLarge} bytes exceeds max.message.bytes ${maxBatchBytes}`));
    }
    if (stop.kind === 'invalid') invalid = stop.reason;
    else if (stop.kind === 'incomplete') invalid = 'truncated record batch';
    else if (infos.length === 0) invalid = 'no record batch';
    if (invalid !== null) return Promise.reject(new KafkaProtocolError(ErrorCode.CORRUPT_MESSAGE, invalid));
    if (this.queuedBytes + batches.length > MAX_PENDING_BYTES) {
      return Promise.reject(new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, `log ${this.topic}-${this.partition} write queue full`));
    }
    return new Promise<AppendResult>((resolve, reject) => {
      const req: AppendRequest = { batches, infos, sizeBytes: batches.length, messages, opts, follower, resolve, reject, result: null, seq: 0 };
      this.queuedBytes += batches.length;
      this.enqueue({ kind: 'append', req });
    });
  }

  private enqueue(task: WriterTask): void {
    this.queue.push(task);
    if (!this.writerRunning) void this.runWriter();
  }

  /** Runs `fn` on the writer (exclusive with appends, rolls, truncation, retention and swaps). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.storageError());
    if (this.closed) return Promise.reject(this.closedError());
    return new Promise<T>((resolve, reject) => {
      this.enqueue({ kind: 'op', run: () => fn().then(resolve, reject), abort: reject });
    });
  }

  private closedError(): KafkaProtocolError {
    return new KafkaProtocolError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.topic}-${this.partition} is closed`);
  }

  private async runWriter(): Promise<void> {
    this.writerRunning = true;
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (head.kind === 'op') {
          this.queue.shift();
          await head.run();
          continue;
        }
        await this.writeGroup();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.writerRunning = false;
    }
  }

  /** Takes queued appends (up to the write limits, one segment), assigns offsets, writes them with one writev. */
  private async writeGroup(): Promise<void> {
    const group: AppendRequest[] = [];
    const buffers: Buffer[] = [];
    let groupBytes = 0;
    let seg = this.activeSegment();
    while (this.queue.length > 0 && groupBytes < MAX_WRITE_BYTES && buffers.length < MAX_WRITE_BUFFERS) {
      const head = this.queue[0]!;
      if (head.kind !== 'append') break;
      const req = head.req;
      if (this.shouldRoll(seg, req)) {
        if (group.length > 0) break;
        await this.roll();
        seg = this.activeSegment();
      }
      this.queue.shift();
      this.queuedBytes -= req.sizeBytes;
      if (this.failure !== null || this.closed) {
        req.reject(this.failure !== null ? this.storageError() : this.closedError());
        continue;
      }
      const refused = this.refusal(req);
      if (refused !== null) {
        req.reject(refused);
        continue;
      }
      // Idempotent producers (producer-state/): a refused batch fails alone; a duplicate is answered with its
      // original offsets, once durable like the appends of its group, and writes nothing.
      const check = req.follower ? null : this.producers.checkClientAppend(req.batches, req.infos);
      if (check !== null) {
        if (check.kind === 'rejected') req.reject(check.error);
        else {
          const lat = this.config.messageTimestampType === 'LogAppendTime' ? check.batch.timestampMs : -1;
          req.result = { baseOffset: check.batch.firstOffset, lastOffset: check.batch.lastOffset, logAppendTimeMs: lat, logStartOffset: this._logStartOffset };
          group.push(req);
        }
        continue;
      }
      if (req.follower) this.placeFollowerBatches(seg, req);
      else this.assignOffsets(seg, req);
      this.producers.onAppended(req.batches, req.infos);
      group.push(req);
      buffers.push(req.batches);
      groupBytes += req.sizeBytes;
    }
    if (group.length === 0) return;
    const startPosition = seg.sizeBytes;
    assert(startPosition + groupBytes === seg.writePosition, 'write group does not end at the segment write position');
    try {
      // A new leader epoch is on disk in the checkpoint before any batch of it: recovery only ever trims the
      // cache to the recovered log end, it never has to rebuild it.
      if (this.epochs.dirty) await this.persistEpochs();
      if (buffers.length > 0) await writeAllAt(seg.fd!, buffers, startPosition);
    } catch (err) {
      for (const req of group) req.reject(this.storageError());
      throw err;
    }
    seg.onWritten(seg.writePosition);
    // nextOffset, not the last result: a duplicate's result is its original (older) offsets.
    this._logEndOffset = this.nextOffset;
    this.onLogEndAdvance?.();
    this.metrics.appendedBytes.inc(groupBytes);
    const seq = ++this.writtenSeq;
    if (isRelaxedFlush(this.config)) {
      for (const req of group) {
        req.resolve(req.result!);
        this.unflushedMessages += req.messages;
      }
      this.scheduleRelaxedFlush();
    } else {
      for (const req of group) {
        req.seq = seq;
        this.durabilityWaiters.push(req);
      }
      this.kickSync();
    }
  }

  /** Why the writer refuses an append now: a leader epoch older than the log's, a follower batch behind the log end. */
  private refusal(req: AppendRequest): KafkaProtocolError | null {
    if (req.follower) {
      const first = req.infos[0]!.baseOffset;
      if (first < this.nextOffset) {
        return new KafkaProtocolError(ErrorCode.OFFSET_OUT_OF_RANGE, `replicated batch at ${first} is behind the log end ${this.nextOffset} of ${this.topic}-${this.partition}`);
      }
      return null;
    }
    const latest = this.epochs.latestEpoch;
    if (req.opts.leaderEpoch < latest) {
      return new KafkaProtocolError(ErrorCode.FENCED_LEADER_EPOCH, `leader epoch ${req.opts.leaderEpoch} is older than ${latest} in ${this.topic}-${this.partition}`);
    }
    return null;
  }

  /** Follower append: offsets and epochs stay as the leader wrote them; the epoch cache follows the batches. */
  private placeFollowerBatches(seg: LogSegment, req: AppendRequest): void {
    let position = seg.writePosition;
    if (seg.isEmpty) seg.rollBaseMs = this.now();
    for (const info of req.infos) {
      const epoch = req.batches.readInt32BE(info.start + PARTITION_LEADER_EPOCH_OFFSET);
      if (epoch >= 0 && epoch !== this.epochs.latestEpoch) this.assignEpoch(epoch, info.baseOffset);
      seg.onBatchAssigned(
        { baseOffset: info.baseOffset, lastOffset: info.lastOffset, maxTimestamp: info.maxTimestamp, position, sizeBytes: info.sizeBytes },
        this.config.indexIntervalBytes,
      );
      position += info.sizeBytes;
      this.nextOffset = info.lastOffset + 1;
    }
    req.result = { baseOffset: req.infos[0]!.baseOffset, lastOffset: this.nextOffset - 1, logAppendTimeMs: -1, logStartOffset: this._logStartOffset };
  }

  /** Kafka's assign, logging when it had to drop entries that broke monotonicity (a divergent tail). */
  private assignEpoch(epoch: number, startOffset: number): void {
    const before = this.epochs.all;
    if (!this.epochs.assign(epoch, startOffset)) return;
    const kept = this.epochs.all.length - 1;
    if (kept < before.length) this.logger.warn({ epoch, startOffset, dropped: before.slice(kept) }, 'leader epoch entries removed to keep the epoch cache monotonic');
  }

  private assignOffsets(seg: LogSegment, req: AppendRequest): void {
    const lat = req.opts.logAppendTimeMs ?? (this.config.messageTimestampType === 'LogAppendTime' ? this.now() : undefined);
    const baseOffset = this.nextOffset;
    if (req.opts.leaderEpoch > this.epochs.latestEpoch) this.assignEpoch(req.opts.leaderEpoch, baseOffset);
    let position = seg.writePosition;
    if (seg.isEmpty) seg.rollBaseMs = this.now();
    for (const info of req.infos) {
      const offset = this.nextOffset;
      setBaseOffset(req.batches, offset, info.start);
      setPartitionLeaderEpoch(req.batches, req.opts.leaderEpoch, info.start);
      if (lat !== undefined) setMaxTimestampAndLogAppendTime(req.batches, lat, info.start);
      const lastOffset = offset + info.lastOffsetDelta;
      seg.onBatchAssigned(
        { baseOffset: offset, lastOffset, maxTimestamp: lat ?? info.maxTimestamp, position, sizeBytes: info.sizeBytes },
        this.config.indexIntervalBytes,
      );
      position += info.sizeBytes;
      this.nextOffset = lastOffset + 1;
    }
    req.result = { baseOffset, lastOffset: this.nextOffset - 1, logAppendTimeMs: lat ?? -1, logStartOffset: this._logStartOffset };
  }

  private shouldRoll(seg: LogSegment, req: AppendRequest): boolean {
    if (seg.isEmpty) return false;
    const c = this.config;
    if (seg.writePosition + req.sizeBytes > c.segmentBytes) return true;
    if (this.now() - seg.rollBaseMs >= c.segmentMs) return true;
    const { offsetIndexBytes, timeIndexBytes } = seg.indexSizesBytes();
    if (offsetIndexBytes + 8 * req.infos.length > c.segmentIndexBytes || timeIndexBytes + 12 * (req.infos.length + 1) > c.segmentIndexBytes) return true;
    const lastRelative = (req.follower ? req.infos[req.infos.length - 1]!.lastOffset + 1 : this.nextOffset + req.messages) - seg.baseOffset;
    return lastRelative > 0x7fffffff - 1;
  }

  // ------------------------------------------------------------------------- leader epochs, high watermark

  /** Latest leader epoch in the log (or UNDEFINED_EPOCH, -1, for an empty log). */
  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  /** The epoch cache: start offset of every leader epoch still in the log. */
  epochEntries(): readonly EpochEntry[] {
    return this.epochs.all;
  }

  /** Kafka's OffsetForLeaderEpoch answer: the largest epoch <= `epoch` here and where it ends (see LeaderEpochCache). */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.epochs.endOffsetFor(epoch, this._logEndOffset);
  }

  /** Leader epoch of the batch holding `offset` (UNDEFINED_EPOCH when unknown). */
  epochForOffset(offset: number): number {
    return this.epochs.epochForOffset(offset);
  }

  /**
   * A new leader records where its epoch starts (the log end) before it appends anything, so OffsetForLeaderEpoch
   * answers for the previous epochs end there even if this leader never writes. Queued after earlier appends.
   */
  assignEpochStart(epoch: number): Promise<void> {
    return this.exclusive(async () => {
      if (epoch <= this.epochs.latestEpoch) return;
      this.assignEpoch(epoch, this.nextOffset);
      await this.persistEpochs();
    });
  }

  /** High watermark as last set by the replica (starts at min(checkpoint, log end) after open). */
  get highWatermark(): number {
    return this.hw;
  }

  /** Sets the high watermark, clamped to [logStartOffset, logEndOffset]; returns the value set. */
  updateHighWatermark(hw: number): number {
    this.hw = clamp(hw, this._logStartOffset, this._logEndOffset);
    return this.hw;
  }

  /** Writes the high-watermark checkpoint when it changed (periodic; atomic, not fsynced: see epoch-checkpoint.ts). */
  checkpointHighWatermark(): Promise<void> {
    if (this.hw === this.checkpointedHw || this.closed || this.failure !== null) return Promise.resolve();
    return this.exclusive(() => this.writeHighWatermark(false));
  }

  private async writeHighWatermark(durable: boolean): Promise<void> {
    const hw = this.hw;
    await writeHighWatermarkCheckpoint(this.dir, this.topic, this.partition, hw, durable);
    this.checkpointedHw = hw;
  }

  private async persistEpochs(): Promise<void> {
    this.epochs.dirty = false;
    await writeEpochCheckpoint(this.dir, this.epochs.all);
  }

  /** Writer only: after the log start offset moved up, epochs wholly before it go, the high watermark follows. */
  private async onLogStartMoved(): Promise<void> {
    this.epochs.truncateFromStart(this._logStartOffset);
    if (this.epochs.dirty) await this.persistEpochs();
    if (this.hw < this._logStartOffset) this.hw = this._logStartOffset;
  }

  /**
   * At open: the epoch checkpoint trimmed to the recovered log (it is written before the batches it describes,
   * so it can only run ahead), or rebuilt from the batches when missing or unreadable; the high watermark from
   * its checkpoint, at most the log end.
   */
  private async loadEpochsAndHighWatermark(): Promise<void> {
    let entries: EpochEntry[] | null = null;
    try {
      entries = await readEpochCheckpoint(this.dir);
    } catch (err) {
      this.logger.warn({ err }, 'unreadable leader epoch checkpoint: rebuilding it from the log');
    }
    let rebuilt = false;
    if (entries === null && this.nextOffset > this._logStartOffset) {
      entries = await this.scanEpochs();
      rebuilt = true;
    }
    this.epochs = new LeaderEpochCache(entries ?? []);
    this.epochs.truncateFromEnd(this.nextOffset);
    this.epochs.truncateFromStart(this._logStartOffset);
    if (rebuilt || this.epochs.dirty) await this.persistEpochs();
    if (rebuilt) this.logger.info({ epochs: this.epochs.all }, 'rebuilt leader epoch cache from the log');
    const hw = await readHighWatermarkCheckpoint(this.dir);
    this.checkpointedHw = hw ?? -1;
    this.hw = clamp(hw ?? this._logStartOffset, this._logStartOffset, this.nextOffset);
  }

  /**
   * Epoch entries from the batches. Epochs never decrease along a log, so when the first and the last batch
   * agree (every log written before epochs were tracked) one entry is the answer without reading the rest.
   */
  private async scanEpochs(): Promise<EpochEntry[]> {
    const first = readBatchHeader((await this.read(this._logStartOffset, 1)).records);
    const last = readBatchHeader((await this.read(this.nextOffset - 1, 1)).records);
    const cache = new LeaderEpochCache();
    if (first.partitionLeaderEpoch === last.partitionLeaderEpoch) {
      if (first.partitionLeaderEpoch >= 0) cache.assign(first.partitionLeaderEpoch, Math.max(first.baseOffset, this._logStartOffset));
      return [...cache.all];
    }
    await this.forEachBatchHeader(this._logStartOffset, (h) => {
      if (h.partitionLeaderEpoch >= 0 && h.partitionLeaderEpoch !== cache.latestEpoch) cache.assign(h.partitionLeaderEpoch, h.baseOffset);
    });
    return [...cache.all];
  }

  // ------------------------------------------------------------------------------------------ durability

  private kickSync(): void {
    if (this.syncing !== null) return;
    this.syncing = this.syncLoop().finally(() => {
      this.syncing = null;
      // A write that completed between the loop's last check and here (a group of duplicates writes nothing and
      // does not yield) found `syncing` still set: start the next fsync for it.
      if (this.durableSeq < this.writtenSeq && this.failure === null) this.kickSync();
    });
  }

  /** Group commit: one fsync at a time; each covers every write completed before it started. */
  private async syncLoop(): Promise<void> {
    try {
      while (this.durableSeq < this.writtenSeq && this.failure === null) {
        const targetSeq = this.writtenSeq;
        const targetOffset = this._logEndOffset;
        const seg = this.activeSegment();
        const stopTimer = this.metrics.flushSeconds.startTimer();
        await seg.fdatasync();
        stopTimer();
        this.fsyncCount++;
        this.flushCounter.inc();
        this.durableSeq = targetSeq;
        this._durableEndOffset = Math.max(this._durableEndOffset, targetOffset);
        let done = 0;
        while (done < this.durabilityWaiters.length && this.durabilityWaiters[done]!.seq <= targetSeq) done++;
        const ready = this.durabilityWaiters.splice(0, done);
        for (const req of ready) req.resolve(req.result!);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Waits until everything written so far is fsynced (runs on the writer for roll/close/flush). */
  private async syncAll(): Promise<void> {
    for (;;) {
      if (this.failure !== null) throw this.storageError();
      if (this.syncing !== null) {
        await this.syncing;
        continue;
      }
      if (this.durableSeq >= this.writtenSeq) return;
      this.kickSync();
    }
  }

  private scheduleRelaxedFlush(): void {
    if (this.unflushedMessages >= this.config.flushMessages) {
      this.unflushedMessages = 0;
      this.clearFlushTimer();
      this.kickSync();
      return;
    }
    const flushMs = this.config.flushMs;
    if (flushMs !== null && this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.unflushedMessages = 0;
        this.kickSync();
      }, flushMs);
      this.flushTimer.unref();
    }
  }

  private clearFlushTimer(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** Fsyncs everything appended before this call. */
  flush(): Promise<void> {
    return this.exclusive(() => this.syncAll());
  }

  /** Forgets idempotent producers idle for producer.id.expiration.ms (LogManager's scheduler); returns how many. */
  expireProducers(nowMs: number, producerIdExpirationMs: number): number {
    const removed = this.producers.removeExpired(nowMs, producerIdExpirationMs);
    if (removed > 0) this.logger.info({ removed, remaining: this.producers.producerCount }, 'expired idle producer ids');
    return removed;
  }

  // ---------------------------------------------------------------------------------------------- rolls

  private activeSegment(): LogSegment {
    const seg = this.segments[this.segments.length - 1];
    assert(seg !== undefined && seg.active, 'log has no active segment');
    return seg;
  }

  /** Closes the active segment (fsynced, indexes written) and starts a new one at nextOffset. Writer only. */
  private async roll(): Promise<void> {
    const old = this.activeSegment();
    await this.syncAll();
    await old.seal();
    const seg = await LogSegment.create(this.dir, this.nextOffset, this.pool, this.now());
    await fsyncDir(this.dir);
    this.segments = [...this.segments, seg];
    this.recoveryPoint = seg.baseOffset;
    await writeOffsetCheckpoint(this.dir, RECOVERY_POINT_FILE, this.recoveryPoint);
    // Like Kafka's roll: an unclean restart rebuilds producer state from here, scanning only the active segment.
    await this.producers.takeSnapshot(seg.baseOffset);
    this.segmentsGauge.set(this.segments.length);
    this.logger.info({ segmentBaseOffset: seg.baseOffset, closedSegmentBytes: old.sizeBytes }, 'rolled log segment');
  }

  // ----------------------------------------------------------------------------------------------- reads

  async read(fetchOffset: number, maxBytes: number, maxOffset = Number.POSITIVE_INFINITY): Promise<ReadResult> {
    this.checkReadable();
    for (let attempt = 0; ; attempt++) {
      const logStartOffset = this._logStartOffset;
      const logEndOffset = this._logEndOffset;
      if (fetchOffset < logStartOffset || fetchOffset > logEndOffset) {
        throw new KafkaProtocolError(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          `offset ${fetchOffset} is outside [${logStartOffset}, ${logEndOffset}] of ${this.topic}-${this.partition}`,
        );
      }
      const limit = Math.min(maxOffset, logEndOffset);
      const empty: ReadResult = { records: EMPTY, logStartOffset, logEndOffset };
      if (fetchOffset >= limit) return empty;
      const segments = this.segments;
      const slack = Math.max(MIN_SCAN_SLACK_BYTES, this.config.indexIntervalBytes * 2);
      let retry = false;
      for (let i = floorSegment(segments, fetchOffset); i < segments.length; i++) {
        const seg = segments[i]!;
        if (seg.baseOffset >= limit) break;
        if (!(await seg.tryAcquire())) {
          retry = true;
          break;
        }
        try {
          const records = await seg.readBatches(fetchOffset, maxBytes, limit, slack);
          if (records !== null) return { records, logStartOffset, logEndOffset };
        } finally {
          seg.release();
        }
      }
      if (!retry) return empty;
      assert(attempt < 100, 'read retried too often while segments changed');
    }
  }

  /**
   * ListOffsets by timestamp: the first record with timestamp >= timestampMs (Kafka semantics), found via the
   * time index and one decoded batch. null when no record is that new. Never at or past maxOffset.
   */
  async offsetForTimestamp(timestampMs: number, maxOffset = Number.POSITIVE_INFINITY): Promise<{ offset: number; timestamp: number } | null> {
    this.checkReadable();
    const segments = this.segments;
    const minOffset = this._logStartOffset;
    const limit = Math.min(maxOffset, this._logEndOffset);
    for (const seg of segments) {
      if (seg.maxTimestamp < timestampMs) continue;
      if (seg.baseOffset >= limit) break;
      if (!(await seg.tryAcquire())) continue; // deleted by retention meanwhile
      try {
        const startOffset = Math.max(seg.lookupTimestamp(timestampMs), minOffset);
        const found = await seg.findBatch(seg.lookupPosition(startOffset), (b) => b.lastOffset >= minOffset && b.maxTimestamp >= timestampMs);
        if (found === null) continue;
        if (found.info.baseOffset >= limit) return null;
        for (const r of decodeRecordBatch(found.batch).records) {
          if (r.offset >= minOffset && r.offset < limit && r.timestamp >= timestampMs) return { offset: r.offset, timestamp: r.timestamp };
        }
      } finally {
        seg.release();
      }
    }
    return null;
  }

  /**
   * ListOffsets MAX_TIMESTAMP (-3): the record with the largest timestamp (the first one on ties), or null for
   * an empty log.
   */
  async maxTimestampOffset(): Promise<{ offset: number; timestamp: number } | null> {
    this.checkReadable();
    let best: LogSegment | null = null;
    for (const seg of this.segments) if (seg.offsetOfMaxTimestamp >= 0 && (best === null || seg.maxTimestamp > best.maxTimestamp)) best = seg;
    if (best === null) return null;
    const target = best.offsetOfMaxTimestamp;
    const maxTs = best.maxTimestamp;
    if (!(await best.tryAcquire())) return this.maxTimestampOffset(); // replaced meanwhile: look again
    try {
      const found = await best.findBatch(best.lookupPosition(target), (b) => b.lastOffset >= target);
      if (found === null) return { offset: target, timestamp: maxTs };
      for (const r of decodeRecordBatch(found.batch).records) if (r.timestamp === maxTs) return { offset: r.offset, timestamp: maxTs };
      return { offset: found.info.baseOffset, timestamp: maxTs };
    } finally {
      best.release();
    }
  }

  /**
   * Calls fn with the header of every batch from the one containing fromOffset to the log end (no record
   * decoding): for rebuilding producer (idempotence) state after a restart. Reads 1 MiB chunks.
   */
  async forEachBatchHeader(fromOffset: number, fn: (header: RecordBatchHeader) => void): Promise<void> {
    this.checkReadable();
    const start = Math.max(fromOffset, this._logStartOffset);
    const end = this._logEndOffset;
    const segments = this.segments;
    for (let i = floorSegment(segments, start); i < segments.length; i++) {
      const seg = segments[i]!;
      if (seg.baseOffset >= end) break;
      if (!(await seg.tryAcquire())) continue;
      try {
        await seg.forEachBatch(seg.lookupPosition(start), (info, batch) => {
          if (info.baseOffset >= end) return true;
          if (info.lastOffset >= start) fn(readBatchHeader(batch));
          return false;
        });
      } finally {
        seg.release();
      }
    }
  }

  // ------------------------------------------------------------------------------- deletion and truncation

  /** DeleteRecords: raises the log start offset (persisted before returning) and drops whole segments below it. */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.exclusive(async () => {
      if (offset > this._logEndOffset || offset < 0) {
        throw new KafkaProtocolError(ErrorCode.OFFSET_OUT_OF_RANGE, `cannot delete before ${offset}: log end is ${this._logEndOffset}`);
      }
      if (offset <= this._logStartOffset) return this._logStartOffset;
      await writeOffsetCheckpoint(this.dir, LOG_START_OFFSET_FILE, offset);
      this._logStartOffset = offset;
      await this.onLogStartMoved();
      this.logger.info({ logStartOffset: offset }, 'log start offset raised (DeleteRecords)');
      await this.deleteSegmentsWhile((_seg, next) => next.baseOffset <= offset, 'log start offset');
      return this._logStartOffset;
    });
  }

  /** Retention by time and size (cleanup.policy=delete); never deletes the active segment. */
  runRetention(nowMs: number): Promise<void> {
    return this.exclusive(async () => {
      // Whole segments below the log start offset (DeleteRecords) go whatever the cleanup policy.
      const logStartOffset = this._logStartOffset;
      await this.deleteSegmentsWhile((_seg, next) => next.baseOffset <= logStartOffset, 'log start offset');
      if (!this.config.cleanupPolicy.includes('delete')) return;
      const { retentionMs, retentionBytes } = this.config;
      if (retentionMs >= 0) {
        await this.deleteSegmentsWhile((seg) => seg.maxTimestamp >= 0 ? nowMs - seg.maxTimestamp > retentionMs : nowMs - seg.rollBaseMs > retentionMs, 'retention.ms');
      }
      if (retentionBytes >= 0) {
        let excess = this.sizeBytes - retentionBytes;
        await this.deleteSegmentsWhile((seg) => {
          if (excess - seg.sizeBytes < 0) return false;
          excess -= seg.sizeBytes;
          return true;
        }, 'retention.bytes');
      }
    });
  }

  /** Deletes the oldest closed segments while `predicate` holds (writer only); persists the new start offset. */
  private async deleteSegmentsWhile(predicate: (seg: LogSegment, next: LogSegment) => boolean, reason: string): Promise<void> {
    const doomed: LogSegment[] = [];
    const segs = this.segments;
    for (let i = 0; i < segs.length - 1; i++) {
      if (!predicate(segs[i]!, segs[i + 1]!)) break;
      doomed.push(segs[i]!);
    }
    if (doomed.length === 0) return;
    const remaining = segs.slice(doomed.length);
    const newStart = Math.max(this._logStartOffset, remaining[0]!.baseOffset);
    if (newStart !== this._logStartOffset) await writeOffsetCheckpoint(this.dir, LOG_START_OFFSET_FILE, newStart);
    this._logStartOffset = newStart;
    await this.onLogStartMoved();
    this.segments = remaining;
    let bytes = 0;
    for (const seg of doomed) {
      bytes += seg.sizeBytes;
      await seg.deleteFiles();
    }
    await fsyncDir(this.dir);
    this.metrics.retentionDeletedSegments.inc(doomed.length);
    this.segmentsGauge.set(this.segments.length);
    this.logger.info(
      { reason, deletedSegments: doomed.map((s) => s.baseOffset), deletedBytes: bytes, logStartOffset: this._logStartOffset },
      'deleted log segments',
    );
  }

  /**
   * Replication truncation: removes every batch with an offset >= offset (whole batches: a batch straddling
   * `offset` goes too, like Kafka). Below the log start, the log restarts empty at `offset`.
   */
  truncateTo(offset: number): Promise<void> {
    return this.exclusive(async () => {
      assert(offset >= 0, `truncateTo(${offset})`);
      if (offset >= this.nextOffset) {
        // No data to drop, but an epoch entry at the log end (this replica led an epoch and wrote nothing in
        // it) must go, or the follower would keep presenting an epoch its new leader never had (Kafka does this too).
        this.epochs.truncateFromEnd(this.nextOffset);
        if (this.epochs.dirty) await this.persistEpochs();
        return;
      }
      await this.syncAll();
      const before = this.nextOffset;
      if (offset <= this._logStartOffset || offset <= this.segments[0]!.baseOffset) {
        await this.restartAt(offset);
      } else {
        const keepIndex = floorSegment(this.segments, offset);
        const doomed = this.segments.slice(keepIndex + 1);
        const seg = this.segments[keepIndex]!;
        for (const s of doomed) await s.deleteFiles();
        this.segments = this.segments.slice(0, keepIndex + 1);
        await seg.acquire();
        try {
          seg.active = true;
          await unlinkIfExists(seg.paths.index);
          await unlinkIfExists(seg.paths.timeIndex);
          await seg.truncateFromOffset(offset, this.config.indexIntervalBytes);
        } finally {
          seg.release();
        }
        await fsyncDir(this.dir);
        this.nextOffset = seg.nextOffset;
      }
      this._logEndOffset = this.nextOffset;
      this._durableEndOffset = this.nextOffset;
      this.recoveryPoint = Math.min(this.recoveryPoint, this.activeSegment().baseOffset);
      await writeOffsetCheckpoint(this.dir, RECOVERY_POINT_FILE, this.recoveryPoint);
      this.cleanerCheckpoint = Math.min(this.cleanerCheckpoint, this.nextOffset);
      this.epochs.truncateFromEnd(this.nextOffset);
      if (this.epochs.dirty) await this.persistEpochs();
      this.hw = clamp(this.hw, this._logStartOffset, this.nextOffset);
      this.segmentsGauge.set(this.segments.length);
      await this.producers.reload(this, this._logStartOffset, this.nextOffset);
      this.logger.info({ requestedOffset: offset, previousLogEndOffset: before, logEndOffset: this.nextOffset }, 'truncated log');
    });
  }

  /**
   * Replication: drops everything and restarts the log empty at `offset` (a follower whose log end is below
   * its leader's log start; Kafka's truncateFullyAndStartAt).
   */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    return this.exclusive(async () => {
      assert(offset >= 0, `truncateFullyAndStartAt(${offset})`);
      await this.syncAll();
      const before = { logStartOffset: this._logStartOffset, logEndOffset: this.nextOffset };
      await this.restartAt(offset);
      this._logEndOffset = this.nextOffset;
      this._durableEndOffset = this.nextOffset;
      await writeOffsetCheckpoint(this.dir, RECOVERY_POINT_FILE, this.recoveryPoint);
      this.cleanerCheckpoint = offset;
      this.segmentsGauge.set(this.segments.length);
      this.logger.warn({ ...before, newLogStartOffset: offset }, 'log emptied and restarted at the leader log start');
    });
  }

  /** Deletes every segment and starts an empty one at `offset` (which becomes the log start). Writer only. */
  private async restartAt(offset: number): Promise<void> {
    for (const s of this.segments) await s.deleteFiles();
    const seg = await LogSegment.create(this.dir, offset, this.pool, this.now());
    await fsyncDir(this.dir);
    await this.producers.clear();
    this.segments = [seg];
    this.nextOffset = offset;
    this._logStartOffset = offset;
    this.recoveryPoint = offset;
    this.hw = offset;
    await writeOffsetCheckpoint(this.dir, LOG_START_OFFSET_FILE, offset);
    this.epochs.clear();
    if (this.epochs.dirty) await this.persistEpochs();
  }

  // ----------------------------------------------------------------------------------------- compaction

  /** Compaction (cleanup.policy=compact): see cleaner.ts. Runs off the writer; only the swap is exclusive. */
  async compact(nowMs: number): Promise<void> {
    if (!this.config.cleanupPolicy.includes('compact') || this.cleaning || this.closed || this.failure !== null) return;
    this.cleaning = true;
    try {
      await runCompaction(this.cleanerHost(), nowMs);
    } finally {
      this.cleaning = false;
    }
  }

  private cleanerHost(): CleanerHost {
    return {
      dir: this.dir,
      config: this.config,
      logger: this.logger,
      metrics: this.metrics,
      pool: this.pool,
      nowMs: this.now,
      closedSegments: () => this.segments.filter((s) => !s.active && !s.deleted),
      cleanerCheckpoint: () => this.cleanerCheckpoint,
      swap: (replaced, cleaned) =>
        this.exclusive(async () => {
          const current = this.segments;
          const first = current.indexOf(replaced[0]!);
          const intact = first >= 0 && replaced.every((s, i) => current[first + i] === s && !s.active && !s.deleted);
          if (!intact) return false;
          const installed = await cleaned.install();
          this.segments = [...current.slice(0, first), ...(installed === null ? [] : [installed]), ...current.slice(first + replaced.length)];
          const following = current[first + replaced.length];
          this.cleanerCheckpoint = Math.max(this.cleanerCheckpoint, following?.baseOffset ?? this.nextOffset);
          await writeOffsetCheckpoint(this.dir, CLEANER_CHECKPOINT_FILE, this.cleanerCheckpoint);
          this.segmentsGauge.set(this.segments.length);
          return true;
        }),
    };
  }

  // ---------------------------------------------------------------------------------------- lifecycle

  /** Flushes, writes the active segment's indexes and checkpoints, then the clean-shutdown marker. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.failure !== null) {
      this.closed = true;
      return this.closeHandles();
    }
    return this.exclusive(async () => {
      this.closed = true;
      this.clearFlushTimer();
      await this.syncAll();
      const active = this.activeSegment();
      await active.writeIndexes();
      await writeOffsetCheckpoint(this.dir, LOG_START_OFFSET_FILE, this._logStartOffset);
      await writeOffsetCheckpoint(this.dir, RECOVERY_POINT_FILE, this.nextOffset);
      if (this.epochs.dirty) await this.persistEpochs();
      await this.writeHighWatermark(true);
      await this.producers.takeSnapshot(this.nextOffset);
      const marker: CleanShutdownMarker = { logEndOffset: this.nextOffset, activeBaseOffset: active.baseOffset, activeSizeBytes: active.sizeBytes };
      await writeFileDurably(join(this.dir, CLEAN_SHUTDOWN_FILE), JSON.stringify(marker));
      await this.closeHandles();
      this.logger.debug({ logEndOffset: this.nextOffset }, 'closed log cleanly');
    });
  }

  /** Closes without the clean-shutdown marker or index writes (tests; the next open recovers). */
  async closeUnclean(): Promise<void> {
    this.closed = true;
    this.clearFlushTimer();
    await this.closeHandles();
  }

  /** Removes the partition's directory (DeleteTopics). */
  async delete(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.clearFlushTimer();
      // Let the writer finish what it holds before the files go.
      await new Promise<void>((resolve) => this.enqueue({ kind: 'op', run: async () => resolve(), abort: () => resolve() }));
    }
    await this.closeHandles();
    await rm(this.dir, { recursive: true, force: true });
    this.metrics.sizeBytes.remove(this.labels);
    this.metrics.segments.remove(this.labels);
    this.metrics.flushes.remove(this.labels);
    this.logger.info('deleted partition log');
  }

  private async closeHandles(): Promise<void> {
    for (const seg of this.segments) {
      this.pool.forget(seg);
      await seg.close();
    }
  }

  private checkReadable(): void {
    if (this.failure !== null) throw this.storageError();
    if (this.closed) throw this.closedError();
  }

  private storageError(): KafkaProtocolError {
    return new KafkaProtocolError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.topic}-${this.partition} is offline: ${this.failure?.message ?? 'unknown'}`, {
      cause: this.failure,
    });
  }

  /** A failed write or fsync takes the log offline (its page cache state is unknown; restart recovers). */
  private fail(err: unknown): void {
    if (this.failure !== null) return;
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.logger.error({ err: this.failure }, 'log storage failure: log is offline until restart');
    const e = this.storageError();
    for (const req of this.durabilityWaiters.splice(0)) req.reject(e);
    for (const task of this.queue.splice(0)) {
      if (task.kind === 'append') task.req.reject(e);
      else task.abort(e);
    }
  }

  // --------------------------------------------------------------------------------------------- loading

  private async load(): Promise<void> {
    const stopTimer = this.metrics.recoverySeconds.startTimer();
    const started = this.now();
    if ((await mkdir(this.dir, { recursive: true })) !== undefined) await fsyncDir(dirname(this.dir));
    await recoverInterruptedSwap(this.dir, this.logger);
    const files = await readdir(this.dir);
    for (const f of files) if (f.endsWith(TMP_SUFFIX)) await unlinkIfExists(join(this.dir, f));
    const bases = files
      .map(parseLogFileName)
      .filter((b): b is number => b !== null)
      .sort((a, b) => a - b);

    const markerBuf = await readFileOrNull(join(this.dir, CLEAN_SHUTDOWN_FILE));
    let marker: CleanShutdownMarker | null = null;
    if (markerBuf !== null) {
      try {
        marker = JSON.parse(markerBuf.toString('utf8')) as CleanShutdownMarker;
      } catch {
        marker = null;
      }
      // Consume the marker before accepting writes: a crash from here on must trigger recovery.
      await unlinkIfExists(join(this.dir, CLEAN_SHUTDOWN_FILE));
      await fsyncDir(this.dir);
    }
    const checkpointStart = (await readOffsetCheckpoint(this.dir, LOG_START_OFFSET_FILE)) ?? 0;
    this.recoveryPoint = (await readOffsetCheckpoint(this.dir, RECOVERY_POINT_FILE)) ?? 0;
    this.cleanerCheckpoint = (await readOffsetCheckpoint(this.dir, CLEANER_CHECKPOINT_FILE)) ?? 0;
    const clean =
      marker !== null && bases.length > 0 && marker.activeBaseOffset === bases[bases.length - 1] && Number.isSafeInteger(marker.logEndOffset);

    let scanned = 0;
    let truncatedBytes = 0;
    const truncations: { segment: number; bytes: number; reason: string | null }[] = [];
    const segments: LogSegment[] = [];
    let cutAfter = false;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      if (cutAfter) {
        // Everything after a corrupt batch is unreachable (offsets must be contiguous): drop it.
        const paths = segmentPaths(this.dir, base);
        const bytes = (await stat(paths.log)).size;
        truncatedBytes += bytes;
        truncations.push({ segment: base, bytes, reason: 'follows a truncated segment' });
        for (const p of [paths.log, paths.index, paths.timeIndex]) await unlinkIfExists(p);
        continue;
      }
      const isLast = i === bases.length - 1;
      const next = bases[i + 1];
      const belowRecoveryPoint = next !== undefined && next <= this.recoveryPoint;
      const trust = clean || belowRecoveryPoint;
      const prev = segments[segments.length - 1];
      const { segment, scan } = await LogSegment.open(this.dir, base, this.pool, {
        trustIndexes: trust,
        indexIntervalBytes: this.config.indexIntervalBytes,
        prevLastOffset: prev && prev.nextOffset > 0 ? prev.nextOffset - 1 : base - 1,
        nowMs: this.now(),
      });
      if (clean && isLast && segment.sizeBytes !== marker!.activeSizeBytes) {
        // The marker disagrees with the file: do not trust it, scan.
        const rescan = await segment.recover(this.config.indexIntervalBytes, base - 1);
        scanned++;
        if (rescan.truncatedBytes > 0) truncations.push({ segment: base, bytes: rescan.truncatedBytes, reason: rescan.reason });
        truncatedBytes += rescan.truncatedBytes;
      }
      if (scan !== null) {
        scanned++;
        if (scan.truncatedBytes > 0) {
          truncatedBytes += scan.truncatedBytes;
          truncations.push({ segment: base, bytes: scan.truncatedBytes, reason: scan.reason });
          if (!isLast) cutAfter = true;
        }
      }
      if (segment.nextOffset < 0 && !isLast) segment.nextOffset = bases[i + 1]!;
      // Closed segments join the handle LRU as they open, so a long log never holds every handle at once (the
      // last one pushed becomes the active segment and stays out of the LRU).
      const previous = segments[segments.length - 1];
      if (previous !== undefined) this.pool.touch(previous);
      segments.push(segment);
    }
    if (segments.length === 0) {
      const seg = await LogSegment.create(this.dir, checkpointStart, this.pool, this.now());
      await fsyncDir(this.dir);
      segments.push(seg);
    }
    const active = segments[segments.length - 1]!;
    if (active.nextOffset < 0) {
      // Trusted via the clean-shutdown marker.
      active.nextOffset = clean && marker!.activeSizeBytes === active.sizeBytes ? marker!.logEndOffset : active.baseOffset;
    }
    active.active = true;
    this.segments = segments;
    this.nextOffset = active.nextOffset;
    this._logEndOffset = this.nextOffset;
    this._durableEndOffset = this.nextOffset;
    this._logStartOffset = Math.max(checkpointStart, segments[0]!.baseOffset);
    if (this._logStartOffset > this.nextOffset) {
      this.logger.warn({ logStartOffset: this._logStartOffset, logEndOffset: this.nextOffset }, 'log start offset beyond log end: restarting empty');
      await this.restartAt(this._logStartOffset);
      this._logEndOffset = this.nextOffset;
      this._durableEndOffset = this.nextOffset;
    }
    await this.loadEpochsAndHighWatermark();
    // Segments before the active one are sealed (fsynced with indexes): the active one is where scans start.
    this.recoveryPoint = this.activeSegment().baseOffset;
    await writeOffsetCheckpoint(this.dir, RECOVERY_POINT_FILE, this.recoveryPoint);
    if (truncatedBytes > 0) await fsyncDir(this.dir);
    await this.producers.load(this, { logStartOffset: this._logStartOffset, logEndOffset: this.nextOffset, cleanShutdown: clean });
    stopTimer();
    this.metrics.recoveryTruncatedBytes.inc(truncatedBytes);
    this.segmentsGauge.set(this.segments.length);
    this.recoveryStats = { clean, scannedSegments: scanned, truncatedBytes };
    const fields = {
      clean,
      segments: this.segments.length,
      scannedSegments: scanned,
      truncatedBytes,
      truncations,
      logStartOffset: this._logStartOffset,
      logEndOffset: this._logEndOffset,
      durationMs: this.now() - started,
    };
    if (truncatedBytes > 0) this.logger.warn(fields, 'recovered log: truncated torn or corrupt tail');
    else if (scanned > 0) this.logger.info(fields, 'recovered log');
    else this.logger.debug(fields, 'opened log');
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/** Index of the last segment whose baseOffset <= offset (0 when offset precedes them all). */
function floorSegment(segments: readonly LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
