import fs from 'node:fs';
import path from 'node:path';

/** On-disk layout from the storage contract: <dataDir>/<topic>-<partition>/<20-digit base offset>.log */
export function partitionDir(dataDir: string, topic: string, partition = 0): string {
  return path.join(dataDir, `${topic}-${partition}`);
}

/** Segment .log files of a partition, oldest first. */
export function segmentFiles(dataDir: string, topic: string, partition = 0): string[] {
  const dir = partitionDir(dataDir, topic, partition);
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export function activeSegment(dataDir: string, topic: string, partition = 0): string {
  const files = segmentFiles(dataDir, topic, partition);
  if (files.length === 0) throw new Error(`no .log segment in ${partitionDir(dataDir, topic, partition)}`);
  return files[files.length - 1]!;
}

export interface StoredBatch {
  position: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
  magic: number;
  compression: number;
  recordCount: number;
}

/** Batch boundaries in a segment file (v2 header offsets); stops at an incomplete tail. */
export function storedBatches(file: string): StoredBatch[] {
  const buf = fs.readFileSync(file);
  const batches: StoredBatch[] = [];
  let pos = 0;
  while (pos + 61 <= buf.length) {
    const batchLength = buf.readInt32BE(pos + 8);
    const sizeBytes = 12 + batchLength;
    if (batchLength <= 0 || pos + sizeBytes > buf.length) break;
    const baseOffset = Number(buf.readBigInt64BE(pos));
    batches.push({
      position: pos,
      sizeBytes,
      baseOffset,
      lastOffset: baseOffset + buf.readInt32BE(pos + 23),
      magic: buf.readInt8(pos + 16),
      compression: buf.readInt16BE(pos + 21) & 0x07,
      recordCount: buf.readInt32BE(pos + 57),
    });
    pos += sizeBytes;
  }
  return batches;
}

/** Records stored per compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) across a partition's segments. */
export function storedRecordsByCodec(dataDir: string, topic: string, partition = 0): Record<number, number> {
  const byCodec: Record<number, number> = {};
  for (const file of segmentFiles(dataDir, topic, partition)) {
    for (const b of storedBatches(file)) byCodec[b.compression] = (byCodec[b.compression] ?? 0) + b.recordCount;
  }
  return byCodec;
}

export const CODEC_ID: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
