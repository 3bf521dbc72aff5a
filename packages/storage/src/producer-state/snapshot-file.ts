import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CorruptDataError, DecodeError } from '@fluxo/common';
import { Reader, Writer } from '@fluxo/protocol';
import { baseOffsetName } from '../file-names.js';
import { readFileOrNull, unlinkIfExists, writeFileDurably } from '../fs-util.js';
import { BATCHES_TO_RETAIN, ProducerEntry } from './producer-entry.js';

/**
 * Producer-state snapshots, Kafka's `<20-digit offset>.snapshot` files: the state of every producer after all
 * batches below `offset`, so a restart scans only the log after it. Unlike Kafka's (last batch only) they keep
 * every retained batch, so duplicates of all five are still recognised after a restart.
 *
 * Layout (big endian): int16 version, uint32 CRC-32 of the rest, int64 offset, int32 producer count, then per
 * producer int64 id, int16 epoch, int64 last timestamp, int8 batch count, and per batch int32 first sequence,
 * int32 last sequence, int64 first offset, int32 last offset delta, int64 timestamp.
 */
export const SNAPSHOT_SUFFIX = '.snapshot';
const VERSION = 1;
const HEADER_BYTES = 6;

export function snapshotPath(dir: string, offset: number): string {
  return join(dir, baseOffsetName(offset) + SNAPSHOT_SUFFIX);
}

/** Offsets of the snapshot files in `dir`, ascending. */
export async function listSnapshotOffsets(dir: string): Promise<number[]> {
  const offsets: number[] = [];
  for (const f of await readdir(dir)) {
    const m = /^(\d{20})\.snapshot$/.exec(f);
    if (m) offsets.push(Number(m[1]));
  }
  return offsets.sort((a, b) => a - b);
}

export function encodeSnapshot(offset: number, producers: Iterable<ProducerEntry>): Buffer {
  const w = new Writer(4096);
  w.writeInt16(VERSION).writeInt32(0); // CRC placeholder
  w.writeInt64(offset);
  const entries = [...producers].filter((p) => p.batches.length > 0);
  w.writeInt32(entries.length);
  for (const p of entries) {
    w.writeInt64(p.producerId).writeInt16(p.epoch).writeInt64(p.lastTimestampMs).writeInt8(p.batches.length);
    for (const b of p.batches) {
      w.writeInt32(b.firstSeq).writeInt32(b.lastSeq).writeInt64(b.firstOffset).writeInt32(b.lastOffset - b.firstOffset).writeInt64(b.timestampMs);
    }
  }
  const buf = w.toBuffer();
  buf.writeUInt32BE(crc32(buf.subarray(HEADER_BYTES)), 2);
  return buf;
}

/** Decodes a snapshot; throws CorruptDataError for a torn, garbled or foreign file. */
export function decodeSnapshot(buf: Buffer, what: string): { offset: number; producers: ProducerEntry[] } {
  try {
    if (buf.length < HEADER_BYTES + 12) throw new DecodeError('too short');
    const version = buf.readInt16BE(0);
    if (version !== VERSION) throw new DecodeError(`unknown version ${version}`);
    if (buf.readUInt32BE(2) !== crc32(buf.subarray(HEADER_BYTES))) throw new DecodeError('CRC mismatch');
    const r = new Reader(buf, HEADER_BYTES);
    const offset = r.readInt64();
    const count = r.readInt32();
    if (count < 0) throw new DecodeError(`negative producer count ${count}`);
    const producers: ProducerEntry[] = [];
    for (let i = 0; i < count; i++) {
      const entry = new ProducerEntry(r.readInt64(), r.readInt16(), r.readInt64());
      const batches = r.readInt8();
      if (batches < 1 || batches > BATCHES_TO_RETAIN) throw new DecodeError(`producer ${entry.producerId} has ${batches} batches`);
      for (let j = 0; j < batches; j++) {
        const firstSeq = r.readInt32();
        const lastSeq = r.readInt32();
        const firstOffset = r.readInt64();
        const lastOffset = firstOffset + r.readInt32();
        entry.addBatch(entry.epoch, { firstSeq, lastSeq, firstOffset, lastOffset, timestampMs: r.readInt64() });
      }
      entry.lastTimestampMs = entry.batches[entry.batches.length - 1]!.timestampMs;
      producers.push(entry);
    }
    if (r.remaining !== 0) throw new DecodeError(`${r.remaining} trailing bytes`);
    return { offset, producers };
  } catch (err) {
    if (err instanceof DecodeError) throw new CorruptDataError(`bad producer snapshot ${what}: ${err.message}`);
    throw err;
  }
}

export async function writeSnapshot(dir: string, offset: number, producers: Iterable<ProducerEntry>): Promise<void> {
  await writeFileDurably(snapshotPath(dir, offset), encodeSnapshot(offset, producers));
}

export async function readSnapshot(dir: string, offset: number): Promise<{ offset: number; producers: ProducerEntry[] } | null> {
  const path = snapshotPath(dir, offset);
  const buf = await readFileOrNull(path);
  return buf === null ? null : decodeSnapshot(buf, path);
}

export async function deleteSnapshot(dir: string, offset: number): Promise<void> {
  await unlinkIfExists(snapshotPath(dir, offset));
}
