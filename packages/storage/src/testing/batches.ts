import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, silentLogger } from '@fluxo/common';
import { decodeRecordBatch, encodeRecordBatch, readBatchHeader } from '@fluxo/protocol';
import { DEFAULT_LOG_CONFIG, PartitionLog, type LogConfig } from '../index.js';

/** A producer-style batch (baseOffset 0) of `values` with optional keys and timestamps. */
export function batchOf(
  values: (string | null)[],
  opts: { keys?: (string | null)[]; timestampMs?: number | number[]; compression?: number } = {},
): Buffer {
  return encodeRecordBatch({
    compression: opts.compression ?? 0,
    records: values.map((v, i) => ({
      key: opts.keys?.[i] != null ? Buffer.from(opts.keys[i]!) : null,
      value: v === null ? null : Buffer.from(v),
      timestamp: Array.isArray(opts.timestampMs) ? opts.timestampMs[i]! : (opts.timestampMs ?? 1_700_000_000_000),
    })),
  });
}

/** Every record in a buffer of whole batches: offset, key, value (as strings), timestamp. */
export function recordsIn(buf: Buffer): { offset: number; key: string | null; value: string | null; timestamp: number }[] {
  const out: { offset: number; key: string | null; value: string | null; timestamp: number }[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const size = readBatchHeader(buf, pos).batchLength + 12;
    const b = decodeRecordBatch(buf.subarray(pos, pos + size), { verifyCrc: true });
    for (const r of b.records) out.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp });
    pos += size;
  }
  return out;
}

/** Reads the whole log from `from` by repeated fetches, like a consumer. */
export async function readAll(log: PartitionLog, from = log.logStartOffset, maxBytes = 4096) {
  const all: ReturnType<typeof recordsIn> = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, maxBytes);
    if (records.length === 0) break;
    const recs = recordsIn(records).filter((r) => r.offset >= offset);
    all.push(...recs);
    const lastBatchEnd = lastOffsetOf(records) + 1;
    offset = lastBatchEnd;
  }
  return all;
}

function lastOffsetOf(buf: Buffer): number {
  let pos = 0;
  let last = -1;
  while (pos < buf.length) {
    const h = readBatchHeader(buf, pos);
    last = h.baseOffset + h.lastOffsetDelta;
    pos += h.batchLength + 12;
  }
  return last;
}

export async function tmpDir(prefix = 'fluxo-storage-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides };
}

export function openLog(dir: string, cfg: Partial<LogConfig> = {}, nowMs?: () => number) {
  const registry = createRegistry();
  return PartitionLog.open({
    dir,
    topic: 't',
    partition: 0,
    config: config(cfg),
    logger: silentLogger(),
    registry,
    ...(nowMs ? { nowMs } : {}),
  }).then((log) => ({ log, registry }));
}
