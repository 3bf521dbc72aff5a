import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptDataError, type Logger } from '@fluxo/common';
import {
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  TimestampType,
  computeBatchCrc,
  decodeRecordBatch,
  encodeRecordBatch,
  readBatchHeader,
  setMaxTimestamp,
} from '@fluxo/protocol';
import { CLEANER_SWAP_FILE, baseOffsetName, segmentPaths } from './file-names.js';
import { fsyncDir, readFileOrNull, unlinkIfExists, writeAllAt, writeFileDurably } from './fs-util.js';
import type { SegmentHandlePool } from './handle-pool.js';
import type { LogConfig } from './log-config.js';
import { LogSegment } from './log-segment.js';
import type { StorageMetrics } from './storage-metrics.js';

/**
 * Log compaction (cleanup.policy=compact), Kafka's cleaner in miniature:
 *  1. candidates: the closed segments (never the active one), stopping at the first one with records younger
 *     than min.compaction.lag.ms; skipped while dirty bytes (after the cleaner checkpoint) / candidate bytes is
 *     below min.cleanable.dirty.ratio;
 *  2. a key -> latest offset map over the candidates (decoding their batches);
 *  3. each group of consecutive candidates (<= segment.bytes together) is rewritten into one new segment in
 *     `<dir>/.cleaner/`: a record survives if it is the latest for its key (records without a key and control
 *     batches always survive); a latest tombstone (null value) survives until its timestamp is older than
 *     delete.retention.ms. Batches keep their base offset and their original lastOffset (as Kafka does, for
 *     producer state); untouched batches are copied byte for byte, others re-encoded with the same
 *     compression, producer id/epoch/base sequence, transactional flag, leader epoch and timestamp type;
 *  4. the swap commits by a durable manifest (cleaner-swap.json) and then renames the cleaned files over the
 *     old names and unlinks the other replaced segments; open() finishes (or discards) an interrupted swap.
 * Aborted transactional data is not removed (Kafka removes it); control batches are kept.
 */

/** What the cleaner needs from its PartitionLog. */
export interface CleanerHost {
  readonly dir: string;
  readonly config: LogConfig;
  readonly logger: Logger;
  readonly metrics: StorageMetrics;
  readonly pool: SegmentHandlePool;
  readonly nowMs: () => number;
  closedSegments(): LogSegment[];
  cleanerCheckpoint(): number;
  /** Runs on the log's writer: replaces `replaced` (still intact?) with the cleaned segment. */
  swap(replaced: LogSegment[], cleaned: CleanedSegment): Promise<boolean>;
}

export interface CleanedSegment {
  /** Commits the swap on disk and returns the opened new segment (null when nothing survived). */
  install(): Promise<LogSegment | null>;
}

const CLEANER_DIR = '.cleaner';
/** Keys held in the offset map at most: bounds cleaner memory (the rest waits for the next run). */
const MAX_MAP_KEYS = 2_000_000;
const WRITE_CHUNK_BYTES = 4 * 1024 * 1024;

interface SwapManifest {
  baseOffset: number | null;
  replaced: number[];
}

export async function runCompaction(host: CleanerHost, nowMs: number): Promise<void> {
  const c = host.config;
  let candidates = host.closedSegments();
  if (c.minCompactionLagMs > 0) {
    const cut = candidates.findIndex((s) => s.maxTimestamp > nowMs - c.minCompactionLagMs);
    if (cut >= 0) candidates = candidates.slice(0, cut);
  }
  if (candidates.length === 0) return;
  const checkpoint = host.cleanerCheckpoint();
  let total = 0;
  let dirty = 0;
  for (const s of candidates) {
    total += s.sizeBytes;
    if (s.baseOffset >= checkpoint) dirty += s.sizeBytes;
  }
  if (total === 0 || dirty / total < c.minCleanableDirtyRatio) return;

  const started = Date.now();
  const latest = new Map<string, number>();
  let mapped = 0;
  let bytesRead = 0;
  for (const seg of candidates) {
    if (latest.size >= MAX_MAP_KEYS) break;
    if (!(await seg.tryAcquire())) break; // deleted by retention meanwhile: clean what came before
    try {
      await seg.forEachBatch(0, (info, batch) => {
        if (info.isControl) return;
        for (const r of decodeRecordBatch(batch).records) if (r.key !== null) latest.set(r.key.toString('latin1'), r.offset);
      });
      bytesRead += seg.sizeBytes;
    } finally {
      seg.release();
    }
    mapped++;
  }
  candidates = candidates.slice(0, mapped);
  const cleanerDir = join(host.dir, CLEANER_DIR);
  await rm(cleanerDir, { recursive: true, force: true });
  await mkdir(cleanerDir, { recursive: true });

  let before = 0;
  let after = 0;
  let removedRecords = 0;
  let groups = 0;
  try {
    for (const group of groupSegments(candidates, c.segmentBytes)) {
      const out = await LogSegment.create(cleanerDir, group[0]!.baseOffset, host.pool, nowMs);
      let removed = 0;
      try {
        removed = await rewriteGroup(group, out, latest, nowMs - c.deleteRetentionMs, c.indexIntervalBytes);
        await out.fdatasync();
        await out.seal();
      } finally {
        await out.close();
        host.pool.forget(out);
      }
      await fsyncDir(cleanerDir);
      const groupBytes = group.reduce((n, s) => n + s.sizeBytes, 0);
      const outBytes = out.sizeBytes;
      const cleaned: CleanedSegment = { install: () => installCleaned(host, group, out, cleanerDir) };
      if (await host.swap(group, cleaned)) {
        before += groupBytes;
        after += outBytes;
        removedRecords += removed;
        groups++;
      } else {
        host.logger.info({ segments: group.map((s) => s.baseOffset) }, 'compaction skipped a group changed meanwhile');
      }
      bytesRead += groupBytes;
    }
  } finally {
    await rm(cleanerDir, { recursive: true, force: true });
  }
  host.metrics.cleanerRuns.inc();
  host.metrics.cleanerBytesRead.inc(bytesRead);
  host.metrics.cleanerBytesWritten.inc(after);
  host.logger.info(
    { groups, segments: candidates.length, keys: latest.size, bytesBefore: before, bytesAfter: after, removedRecords, durationMs: Date.now() - started },
    'compacted log',
  );
}

/** Consecutive segments whose total size fits in one segment and whose offsets fit a relative int32. */
function groupSegments(segs: LogSegment[], segmentBytes: number): LogSegment[][] {
  const groups: LogSegment[][] = [];
  let cur: LogSegment[] = [];
  let bytes = 0;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const next = segs[i + 1];
    const span = (next?.baseOffset ?? s.baseOffset + 1) - (cur[0]?.baseOffset ?? s.baseOffset);
    if (cur.length > 0 && (bytes + s.sizeBytes > segmentBytes || span > 0x7fffffff)) {
      groups.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(s);
    bytes += s.sizeBytes;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

/** Writes the surviving batches of `group` into `out`; returns how many records were dropped. */
async function rewriteGroup(group: LogSegment[], out: LogSegment, latest: Map<string, number>, tombstoneHorizonMs: number, indexIntervalBytes: number): Promise<number> {
  let removed = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    await writeAllAt(out.fd!, pending, out.sizeBytes);
    out.onWritten(out.writePosition);
    pending = [];
    pendingBytes = 0;
  };
  const emit = (batch: Buffer): void => {
    const h = readBatchHeader(batch);
    out.onBatchAssigned(
      { baseOffset: h.baseOffset, lastOffset: h.baseOffset + h.lastOffsetDelta, maxTimestamp: h.maxTimestamp, position: out.writePosition, sizeBytes: batch.length },
      indexIntervalBytes,
    );
    pending.push(batch);
    pendingBytes += batch.length;
  };
  for (const seg of group) {
    // A segment deleted meanwhile: the output is garbage, and the swap will refuse it (group not intact).
    if (!(await seg.tryAcquire())) continue;
    try {
      const survivors: Buffer[] = [];
      await seg.forEachBatch(0, (info, batch) => {
        if (info.isControl) {
          survivors.push(Buffer.from(batch));
          return;
        }
        const decoded = decodeRecordBatch(batch);
        const kept = decoded.records.filter((r) => {
          if (r.key === null) return true;
          if (latest.get(r.key.toString('latin1')) !== r.offset) return false;
          return !(r.value === null && r.timestamp < tombstoneHorizonMs);
        });
        removed += decoded.records.length - kept.length;
        if (kept.length === decoded.records.length) {
          survivors.push(Buffer.from(batch));
          return;
        }
        if (kept.length === 0) return;
        const rebuilt = encodeRecordBatch({
          baseOffset: decoded.baseOffset,
          baseTimestamp: decoded.baseTimestamp,
          producerId: decoded.producerId,
          producerEpoch: decoded.producerEpoch,
          baseSequence: decoded.baseSequence,
          isTransactional: decoded.isTransactional,
          isControl: false,
          partitionLeaderEpoch: decoded.partitionLeaderEpoch,
          compression: decoded.compression,
          records: kept.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offsetDelta })),
        });
        // Keep the original lastOffset (Kafka's overrideLastOffset) so producer state stays consistent.
        rebuilt.writeInt32BE(decoded.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
        rebuilt.writeUInt32BE(computeBatchCrc(rebuilt), CRC_OFFSET);
        if (decoded.timestampType === TimestampType.LogAppendTime) setMaxTimestamp(rebuilt, TimestampType.LogAppendTime, decoded.maxTimestamp);
        survivors.push(rebuilt);
      });
      for (const b of survivors) {
        emit(b);
        if (pendingBytes >= WRITE_CHUNK_BYTES) await flush();
      }
    } finally {
      seg.release();
    }
  }
  await flush();
  return removed;
}

/** The swap, on the log's writer: manifest (commit point), renames over the old names, unlinks, manifest gone. */
async function installCleaned(host: CleanerHost, group: LogSegment[], out: LogSegment, cleanerDir: string): Promise<LogSegment | null> {
  const base = group[0]!.baseOffset;
  const empty = out.sizeBytes === 0;
  const manifest: SwapManifest = { baseOffset: empty ? null : base, replaced: group.map((s) => s.baseOffset) };
  await writeFileDurably(join(host.dir, CLEANER_SWAP_FILE), JSON.stringify(manifest));
  for (const seg of group) seg.retire();
  await finishSwap(host.dir, cleanerDir, manifest);
  if (empty) return null;
  const { segment } = await LogSegment.open(host.dir, base, host.pool, {
    trustIndexes: true,
    indexIntervalBytes: host.config.indexIntervalBytes,
    prevLastOffset: base - 1,
    nowMs: host.nowMs(),
  });
  host.pool.touch(segment);
  return segment;
}

async function finishSwap(dir: string, cleanerDir: string, manifest: SwapManifest): Promise<void> {
  if (manifest.baseOffset !== null) {
    const from = segmentPaths(cleanerDir, manifest.baseOffset);
    const to = segmentPaths(dir, manifest.baseOffset);
    for (const key of ['index', 'timeIndex', 'log'] as const) {
      try {
        await rename(from[key], to[key]);
      } catch (err) {
        // Already renamed before a crash: fine. The log file must exist one way or the other.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  for (const b of manifest.replaced) {
    if (b === manifest.baseOffset) continue;
    const p = segmentPaths(dir, b);
    await unlinkIfExists(p.log);
    await unlinkIfExists(p.index);
    await unlinkIfExists(p.timeIndex);
  }
  await fsyncDir(dir);
  await unlinkIfExists(join(dir, CLEANER_SWAP_FILE));
  await fsyncDir(dir);
}

/** On open: completes a swap whose manifest was committed, and discards any uncommitted cleaner output. */
export async function recoverInterruptedSwap(dir: string, logger: Logger): Promise<void> {
  const cleanerDir = join(dir, CLEANER_DIR);
  const buf = await readFileOrNull(join(dir, CLEANER_SWAP_FILE));
  if (buf !== null) {
    let manifest: SwapManifest;
    try {
      manifest = JSON.parse(buf.toString('utf8')) as SwapManifest;
    } catch (err) {
      throw new CorruptDataError(`unreadable ${CLEANER_SWAP_FILE} in ${dir}`, { cause: err });
    }
    await finishSwap(dir, cleanerDir, manifest);
    logger.warn({ baseOffset: manifest.baseOffset, replaced: manifest.replaced.map(baseOffsetName) }, 'completed an interrupted compaction swap');
  }
  try {
    if ((await readdir(cleanerDir)).length > 0) logger.info('discarding uncommitted compaction output');
  } catch {
    return;
  }
  await rm(cleanerDir, { recursive: true, force: true });
}
