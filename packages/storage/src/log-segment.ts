import { assert, CorruptDataError } from '@fluxo/common';
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, readBatchHeader } from '@fluxo/protocol';
import { walkBatches, type BatchInfo } from './batch-scan.js';
import { segmentPaths } from './file-names.js';
import { fsClose, fsFdatasync, fsFstat, fsFtruncate, fsOpen, readAt, readFileOrNull, unlinkIfExists, writeNewFileSynced } from './fs-util.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import type { SegmentHandlePool } from './handle-pool.js';

const EMPTY = Buffer.alloc(0);

/** What a recovery scan of a segment found. */
export interface SegmentScanResult {
  readonly validBytes: number;
  readonly truncatedBytes: number;
  readonly reason: string | null;
  readonly batches: number;
}

/**
 * One segment: `<base>.log` (record batches exactly as appended), its sparse offset and time indexes, and the
 * bookkeeping the log needs without touching the disk (size, next offset, max timestamp).
 *
 * Byte ranges: [0, sizeBytes) holds complete, readable batches; [sizeBytes, writePosition) is being written by
 * the log's single writer. Readers never look past sizeBytes.
 *
 * A closed segment may give its file handle and indexes back to the SegmentHandlePool (LRU, capped) and reload
 * them on the next acquire(); the active segment keeps them.
 */
export class LogSegment {
  readonly paths: { log: string; index: string; timeIndex: string };
  fd: number | null = null;
  sizeBytes = 0;
  writePosition = 0;
  /** One past the last offset assigned into this segment; -1 when unknown (a closed segment loaded lazily). */
  nextOffset: number;
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** Wall-clock ms of the segment's first batch: segment.ms rolls are measured from it. */
  rollBaseMs: number;
  active = false;
  deleted = false;
  private offsetIndex: OffsetIndex | null = null;
  private timeIndex: TimeIndex | null = null;
  private bytesSinceIndexEntry = 0;
  private refs = 0;
  private opening: Promise<void> | null = null;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private readonly pool: SegmentHandlePool,
    rollBaseMs: number,
  ) {
    this.paths = segmentPaths(dir, baseOffset);
    this.nextOffset = baseOffset;
    this.rollBaseMs = rollBaseMs;
  }

  /** Creates an empty active segment (the caller fsyncs the directory). */
  static async create(dir: string, baseOffset: number, pool: SegmentHandlePool, nowMs: number): Promise<LogSegment> {
    const seg = new LogSegment(dir, baseOffset, pool, nowMs);
    await unlinkIfExists(seg.paths.index);
    await unlinkIfExists(seg.paths.timeIndex);
    seg.fd = await fsOpen(seg.paths.log, 'w+');
    seg.offsetIndex = new OffsetIndex();
    seg.timeIndex = new TimeIndex();
    seg.active = true;
    return seg;
  }

  /**
   * Opens an existing segment. With `trustIndexes`, size and max timestamp come from the file and the saved
   * indexes (no scan); a missing or invalid index falls back to a scan. Returns the segment and, when it was
   * scanned, what the scan found (the scan truncates a torn or corrupt tail).
   */
  static async open(
    dir: string,
    baseOffset: number,
    pool: SegmentHandlePool,
    opts: { trustIndexes: boolean; indexIntervalBytes: number; prevLastOffset: number; nowMs: number },
  ): Promise<{ segment: LogSegment; scan: SegmentScanResult | null }> {
    const seg = new LogSegment(dir, baseOffset, pool, opts.nowMs);
    seg.fd = await fsOpen(seg.paths.log, 'r+');
    const stat = await fsFstat(seg.fd);
    seg.sizeBytes = stat.size;
    seg.writePosition = stat.size;
    seg.rollBaseMs = stat.mtimeMs;
    if (opts.trustIndexes && (await seg.loadIndexes())) {
      seg.nextOffset = -1;
      return { segment: seg, scan: null };
    }
    const scan = await seg.recover(opts.indexIntervalBytes, opts.prevLastOffset);
    return { segment: seg, scan };
  }

  get isEmpty(): boolean {
    return this.writePosition === 0;
  }

  indexSizesBytes(): { offsetIndexBytes: number; timeIndexBytes: number } {
    return { offsetIndexBytes: this.offsetIndex?.sizeBytes ?? 0, timeIndexBytes: this.timeIndex?.sizeBytes ?? 0 };
  }

  /**
   * Pins the file handle and indexes (reopening them if the pool evicted them) until release(). False (and
   * nothing pinned) when the segment was deleted or replaced meanwhile: callers working from a snapshot of the
   * segment list retry or skip.
   */
  async tryAcquire(): Promise<boolean> {
    if (this.deleted) return false;
    await this.acquire();
    return true;
  }

  /** Like tryAcquire, for a segment known to be live (the writer's own, or one the caller holds). */
  async acquire(): Promise<void> {
    assert(!this.deleted, `segment ${this.baseOffset} is deleted`);
    this.refs++;
    try {
      while (this.fd === null || this.offsetIndex === null) {
        if (this.opening === null) this.opening = this.reopen().finally(() => (this.opening = null));
        await this.opening;
      }
    } catch (err) {
      this.refs--;
      throw err;
    }
    this.pool.touch(this);
  }

  release(): void {
    assert(this.refs > 0, 'segment released more often than acquired');
    this.refs--;
    if (this.refs === 0 && this.deleted) void this.closeHandle();
  }

  /** True when the pool may close this segment's handle and drop its indexes. */
  get evictable(): boolean {
    return !this.active && this.refs === 0 && this.fd !== null && this.opening === null;
  }

  /** Pool eviction: close the handle, drop the in-memory indexes (they are on disk). */
  async evict(): Promise<void> {
    if (!this.evictable) return;
    this.offsetIndex = null;
    this.timeIndex = null;
    await this.closeHandle();
  }

  /**
   * Records a batch the writer has placed at `position` (before its bytes hit the file: readers are bounded
   * by sizeBytes, and the index only points at batches below the log end they use).
   */
  onBatchAssigned(b: { baseOffset: number; lastOffset: number; maxTimestamp: number; position: number; sizeBytes: number }, indexIntervalBytes: number): void {
    assert(this.active && this.offsetIndex !== null && this.timeIndex !== null, 'append to a closed segment');
    assert(b.baseOffset >= this.nextOffset, `offsets must increase: ${b.baseOffset} after ${this.nextOffset - 1}`);
    assert(b.position === this.writePosition, `batch position ${b.position} is not the segment end ${this.writePosition}`);
    assert(b.lastOffset - this.baseOffset <= 0x7fffffff, 'relative offset overflow');
    this.trackBatch(b, indexIntervalBytes);
    this.writePosition += b.sizeBytes;
    this.nextOffset = b.lastOffset + 1;
  }

  /** Marks bytes up to `position` as written (readable). */
  onWritten(position: number): void {
    assert(position >= this.sizeBytes && position <= this.writePosition, `written position ${position} out of order`);
    this.sizeBytes = position;
  }

  /** Base-relative offset index lookup: byte position to start scanning for `offset`. */
  lookupPosition(offset: number): number {
    assert(this.offsetIndex !== null, 'segment not acquired');
    return this.offsetIndex.lookup(Math.max(0, offset - this.baseOffset));
  }

  /** Offset where a search for the first batch with maxTimestamp >= timestampMs may start. */
  lookupTimestamp(timestampMs: number): number {
    assert(this.timeIndex !== null, 'segment not acquired');
    return this.baseOffset + this.timeIndex.lookup(timestampMs);
  }

  /**
   * Reads whole batches from the one containing fetchOffset: at most maxBytes (but always the first whole
   * batch), only batches with lastOffset < maxOffset, only below sizeBytes at call time. One read in the
   * common case (index position + maxBytes + scanSlackBytes). null: no batch at or after fetchOffset here.
   */
  async readBatches(fetchOffset: number, maxBytes: number, maxOffset: number, scanSlackBytes: number): Promise<Buffer | null> {
    assert(this.fd !== null, 'segment not acquired');
    const fd = this.fd;
    const endPosition = this.sizeBytes;
    let position = this.lookupPosition(fetchOffset);
    let prevLast = -1;
    let wantBytes = Math.max(1, maxBytes) + scanSlackBytes;
    while (position < endPosition) {
      const chunk = await readAt(fd, position, Math.min(endPosition - position, wantBytes));
      if (chunk.length === 0) return null; // truncated under us (replication truncation): nothing here
      let firstStart = -1;
      let firstLast = -1;
      let end = -1;
      const stop = walkBatches(chunk, 0, { verifyCrc: false, prevLastOffset: prevLast }, (b) => {
        if (firstStart < 0) {
          if (b.lastOffset < fetchOffset) {
            prevLast = b.lastOffset;
            return false;
          }
          firstStart = b.start;
          firstLast = b.lastOffset;
          end = b.start + b.sizeBytes;
          return b.lastOffset >= maxOffset;
        }
        if (b.lastOffset >= maxOffset || b.start + b.sizeBytes - firstStart > maxBytes) return true;
        end = b.start + b.sizeBytes;
        return false;
      });
      if (firstStart >= 0) return firstLast >= maxOffset ? EMPTY : chunk.subarray(firstStart, end);
      if (stop.kind === 'invalid') throw new CorruptDataError(`${this.paths.log} at ${position + stop.start}: ${stop.reason}`);
      if (stop.kind === 'incomplete') {
        // The next batch does not fit in this chunk: continue from it with a read large enough for it.
        if (stop.start === 0 && stop.needBytes <= chunk.length) {
          throw new CorruptDataError(`${this.paths.log} at ${position}: batch runs past the written end ${endPosition}`);
        }
        position += stop.start;
        wantBytes = Math.max(wantBytes, stop.needBytes + Math.max(0, maxBytes));
        continue;
      }
      position += chunk.length;
    }
    return null;
  }

  /**
   * Calls fn for each whole batch from `position` (a batch boundary) to sizeBytes, reading 1 MiB chunks (or a
   * whole batch when larger); fn gets the batch's file position in info.start and a view of its bytes. Stops
   * when fn returns true. For the rare paths (timestamp search, cleaner), not for fetch.
   */
  async forEachBatch(position: number, fn: (info: BatchInfo, batch: Buffer) => boolean | void): Promise<void> {
    assert(this.fd !== null, 'segment not acquired');
    const fd = this.fd;
    const endPosition = this.sizeBytes;
    let wantBytes = 1024 * 1024;
    while (position < endPosition) {
      const chunk = await readAt(fd, position, Math.min(endPosition - position, wantBytes));
      if (chunk.length === 0) return;
      const chunkPosition = position;
      let stopped = false;
      const stop = walkBatches(chunk, 0, { verifyCrc: false, prevLastOffset: -1, checkOffsets: false }, (b) => {
        stopped = fn({ ...b, start: chunkPosition + b.start }, chunk.subarray(b.start, b.start + b.sizeBytes)) === true;
        return stopped;
      });
      if (stopped) return;
      if (stop.kind === 'invalid') throw new CorruptDataError(`${this.paths.log} at ${position + stop.start}: ${stop.reason}`);
      if (stop.kind === 'incomplete') {
        if (stop.start === 0 && stop.needBytes <= chunk.length) {
          throw new CorruptDataError(`${this.paths.log} at ${position}: batch runs past the written end ${endPosition}`);
        }
        position += stop.start;
        wantBytes = Math.max(wantBytes, stop.needBytes);
        continue;
      }
      position += chunk.length;
    }
  }

  /** The first batch at or after `position` matching pred, with its bytes. */
  async findBatch(position: number, pred: (b: BatchInfo) => boolean): Promise<{ info: BatchInfo; batch: Buffer } | null> {
    let found: { info: BatchInfo; batch: Buffer } | null = null;
    await this.forEachBatch(position, (info, batch) => {
      if (!pred(info)) return false;
      found = { info, batch };
      return true;
    });
    return found;
  }

  /** Replaced by a compacted segment whose files took this one's names: close, but never unlink. */
  retire(): void {
    this.deleted = true;
    this.active = false;
    this.pool.forget(this);
    if (this.refs === 0) void this.closeHandle();
  }

  /** Reads the bytes of [position, position + length) (below sizeBytes). */
  async readRange(position: number, length: number): Promise<Buffer> {
    assert(this.fd !== null, 'segment not acquired');
    assert(position >= 0 && position + length <= this.sizeBytes, `range ${position}+${length} past segment size ${this.sizeBytes}`);
    return readAt(this.fd, position, length);
  }

  async fdatasync(): Promise<void> {
    assert(this.fd !== null, 'segment not open');
    await fsFdatasync(this.fd);
  }

  /**
   * Scans the whole file: verifies each batch (header sanity, strictly increasing offsets, CRC), rebuilds both
   * indexes, and truncates the file at the first incomplete or invalid batch (torn write / corruption).
   */
  async recover(indexIntervalBytes: number, prevLastOffset: number): Promise<SegmentScanResult> {
    assert(this.fd !== null, 'segment not open');
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.bytesSinceIndexEntry = 0;
    this.nextOffset = this.baseOffset;
    const fileSize = (await fsFstat(this.fd)).size;
    const chunkBytes = 8 * 1024 * 1024;
    let position = 0;
    let prevLast = Math.max(prevLastOffset, this.baseOffset - 1);
    let batches = 0;
    let reason: string | null = null;
    let firstTimestamp = -1;
    while (position < fileSize) {
      let chunk = await readAt(this.fd, position, Math.min(chunkBytes, fileSize - position));
      let stop = walkBatches(chunk, 0, { verifyCrc: true, prevLastOffset: prevLast }, (b) => {
        this.trackBatch({ ...b, position: position + b.start }, indexIntervalBytes);
        if (firstTimestamp < 0) firstTimestamp = b.maxTimestamp;
        prevLast = b.lastOffset;
        batches++;
      });
      if (stop.kind === 'incomplete' && stop.start === 0 && position + stop.needBytes <= fileSize) {
        // One batch bigger than the chunk: read exactly it.
        chunk = await readAt(this.fd, position, stop.needBytes);
        stop = walkBatches(chunk, 0, { verifyCrc: true, prevLastOffset: prevLast }, (b) => {
          this.trackBatch({ ...b, position: position + b.start }, indexIntervalBytes);
          if (firstTimestamp < 0) firstTimestamp = b.maxTimestamp;
          prevLast = b.lastOffset;
          batches++;
        });
      }
      if (stop.kind === 'end') {
        position += chunk.length;
        continue;
      }
      if (stop.kind === 'incomplete' && position + stop.start + stop.needBytes <= fileSize && stop.start > 0) {
        position += stop.start;
        continue;
      }
      position += stop.start;
      reason = stop.kind === 'invalid' ? stop.reason : 'incomplete batch (torn write)';
      break;
    }
    const truncatedBytes = fileSize - position;
    if (truncatedBytes > 0) {
      await fsFtruncate(this.fd, position);
      await fsFdatasync(this.fd);
    }
    this.sizeBytes = position;
    this.writePosition = position;
    this.nextOffset = batches > 0 ? prevLast + 1 : this.baseOffset;
    if (firstTimestamp > 0 && firstTimestamp < this.rollBaseMs) this.rollBaseMs = firstTimestamp;
    return { validBytes: position, truncatedBytes, reason: truncatedBytes > 0 ? reason : null, batches };
  }

  /** Drops every batch whose lastOffset >= offset (whole batches), returning the bytes removed. */
  async truncateFromOffset(offset: number, indexIntervalBytes: number): Promise<number> {
    await this.acquire();
    try {
      const keep = await this.positionOfFirstBatchEndingAtOrAfter(offset);
      const removed = keep === null ? 0 : this.sizeBytes - keep.position;
      if (keep !== null) {
        await fsFtruncate(this.fd!, keep.position);
        await fsFdatasync(this.fd!);
        this.sizeBytes = keep.position;
        this.writePosition = keep.position;
      }
      // Rebuild indexes, next offset and max timestamp from what remains (truncation is rare: a scan is fine).
      await this.recover(indexIntervalBytes, -1);
      return removed;
    } finally {
      this.release();
    }
  }

  private async positionOfFirstBatchEndingAtOrAfter(offset: number): Promise<{ position: number } | null> {
    let position = this.lookupPosition(offset);
    while (position < this.sizeBytes) {
      const head = await readAt(this.fd!, position, BATCH_HEADER_SIZE);
      if (head.length < BATCH_HEADER_SIZE) return null;
      const h = readBatchHeader(head);
      if (h.baseOffset + h.lastOffsetDelta >= offset) return { position };
      position += LOG_OVERHEAD + h.batchLength;
    }
    return null;
  }

  /**
   * Closes the segment for appends: adds the final time index entry (the segment's max timestamp), writes
   * both index files and fsyncs them. The caller has fsynced the log file.
   */
  async seal(): Promise<void> {
    assert(this.active && this.offsetIndex !== null && this.timeIndex !== null, 'seal of a closed segment');
    await this.writeIndexes();
    this.active = false;
    this.pool.touch(this);
  }

  /** Writes both index files (fsynced); used by seal() and by a clean close of the active segment. */
  async writeIndexes(): Promise<void> {
    assert(this.offsetIndex !== null && this.timeIndex !== null, 'indexes not loaded');
    if (this.offsetOfMaxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
    await writeNewFileSynced(this.paths.index, this.offsetIndex.toBuffer());
    await writeNewFileSynced(this.paths.timeIndex, this.timeIndex.toBuffer());
  }

  async close(): Promise<void> {
    await this.closeHandle();
  }

  /** Removes the files; the handle closes once in-flight reads release it. */
  async deleteFiles(): Promise<void> {
    this.deleted = true;
    this.active = false;
    this.pool.forget(this);
    await unlinkIfExists(this.paths.log);
    await unlinkIfExists(this.paths.index);
    await unlinkIfExists(this.paths.timeIndex);
    if (this.refs === 0) await this.closeHandle();
  }

  private trackBatch(b: { baseOffset: number; lastOffset: number; maxTimestamp: number; position: number; sizeBytes: number }, indexIntervalBytes: number): void {
    const index = this.offsetIndex!;
    const timeIndex = this.timeIndex!;
    if (b.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = b.maxTimestamp;
      this.offsetOfMaxTimestamp = b.baseOffset;
    }
    if (this.bytesSinceIndexEntry >= indexIntervalBytes && b.position > 0) {
      index.append(b.baseOffset - this.baseOffset, b.position);
      if (this.offsetOfMaxTimestamp >= 0) timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += b.sizeBytes;
  }

  /** Loads saved indexes; false when missing or inconsistent with the log file (then the caller scans). */
  private async loadIndexes(): Promise<boolean> {
    const [indexBuf, timeBuf] = await Promise.all([readFileOrNull(this.paths.index), readFileOrNull(this.paths.timeIndex)]);
    if (indexBuf === null || timeBuf === null) return false;
    try {
      this.offsetIndex = OffsetIndex.fromBuffer(indexBuf, Math.max(1, this.sizeBytes));
      this.timeIndex = TimeIndex.fromBuffer(timeBuf);
    } catch {
      this.offsetIndex = null;
      this.timeIndex = null;
      return false;
    }
    const last = this.timeIndex.lastEntry();
    if (last !== null) {
      this.maxTimestamp = last.timestamp;
      this.offsetOfMaxTimestamp = this.baseOffset + last.relativeOffset;
    }
    if (this.sizeBytes > 0) {
      const head = await readAt(this.fd!, 0, BATCH_HEADER_SIZE);
      if (head.length === BATCH_HEADER_SIZE) {
        const firstMax = readBatchHeader(head).maxTimestamp;
        if (firstMax > 0 && firstMax < this.rollBaseMs) this.rollBaseMs = firstMax;
      }
    }
    return true;
  }

  private async reopen(): Promise<void> {
    if (this.fd === null) this.fd = await fsOpen(this.paths.log, 'r+');
    if (this.offsetIndex === null) {
      if (!(await this.loadIndexes())) {
        // Closed segments' indexes were written at seal time; a bad one is rebuilt from the (sealed) log.
        await this.recover(4096, -1);
      }
    }
  }

  private async closeHandle(): Promise<void> {
    const fd = this.fd;
    if (fd === null) return;
    this.fd = null;
    await fsClose(fd);
  }
}

