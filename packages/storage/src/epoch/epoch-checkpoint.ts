import { join } from 'node:path';
import { writeFile, rename } from 'node:fs/promises';
import { CorruptDataError } from '@fluxo/common';
import { TMP_SUFFIX } from '../file-names.js';
import { readFileOrNull, writeFileDurably } from '../fs-util.js';
import type { EpochEntry } from './leader-epoch-cache.js';

/** Kafka's file names in the partition directory. */
export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
export const HIGH_WATERMARK_CHECKPOINT_FILE = 'replication-offset-checkpoint';

const VERSION = '0';

/**
 * Kafka's leader-epoch-checkpoint: "0\n<count>\n<epoch> <startOffset>\n..." — replaced atomically and durably
 * (tmp, fsync, rename, directory fsync). null when absent; CorruptDataError when it does not parse (the log
 * then rebuilds the cache from its batches).
 */
export async function readEpochCheckpoint(dir: string): Promise<EpochEntry[] | null> {
  const path = join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
  const buf = await readFileOrNull(path);
  if (buf === null) return null;
  const lines = buf.toString('utf8').split('\n');
  const count = Number(lines[1]);
  if (lines[0] !== VERSION || !Number.isSafeInteger(count) || count < 0 || lines.length < count + 2) throw new CorruptDataError(`bad leader epoch checkpoint ${path}`);
  const entries: EpochEntry[] = [];
  for (let i = 0; i < count; i++) {
    const m = /^(\d+) (\d+)$/.exec(lines[2 + i]!);
    const epoch = Number(m?.[1]);
    const startOffset = Number(m?.[2]);
    const prev = entries[entries.length - 1];
    if (m === null || !Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset) || (prev !== undefined && (epoch <= prev.epoch || startOffset <= prev.startOffset))) {
      throw new CorruptDataError(`bad leader epoch checkpoint ${path}: line ${i + 3}`);
    }
    entries.push({ epoch, startOffset });
  }
  return entries;
}

export async function writeEpochCheckpoint(dir: string, entries: readonly EpochEntry[]): Promise<void> {
  const body = `${VERSION}\n${entries.length}\n${entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join('')}`;
  await writeFileDurably(join(dir, LEADER_EPOCH_CHECKPOINT_FILE), body);
}

/**
 * The partition's high watermark (Kafka's replication-offset-checkpoint, one file per partition here:
 * "0\n1\n<topic> <partition> <hw>\n"). Only a lower bound is ever needed after a restart (the replica starts
 * from min(checkpoint, log end) and learns the rest from the leader), so the periodic write is atomic (rename)
 * without fsync; close() writes it durably. Unreadable -> null (the caller starts from the log start).
 */
export async function readHighWatermarkCheckpoint(dir: string): Promise<number | null> {
  const buf = await readFileOrNull(join(dir, HIGH_WATERMARK_CHECKPOINT_FILE));
  if (buf === null) return null;
  const lines = buf.toString('utf8').split('\n');
  const m = lines[0] === VERSION && lines[1] === '1' ? /^\S+ \d+ (\d+)$/.exec(lines[2] ?? '') : null;
  const hw = Number(m?.[1]);
  return m !== null && Number.isSafeInteger(hw) ? hw : null;
}

export async function writeHighWatermarkCheckpoint(dir: string, topic: string, partition: number, hw: number, durable: boolean): Promise<void> {
  const path = join(dir, HIGH_WATERMARK_CHECKPOINT_FILE);
  const body = `${VERSION}\n1\n${topic} ${partition} ${hw}\n`;
  if (durable) {
    await writeFileDurably(path, body);
    return;
  }
  await writeFile(path + TMP_SUFFIX, body);
  await rename(path + TMP_SUFFIX, path);
}
