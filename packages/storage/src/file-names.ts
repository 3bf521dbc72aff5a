import { join } from 'node:path';

/** Kafka's segment file names: the base offset as 20 zero-padded digits plus a suffix. */
export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
/** Output of the cleaner before the swap commits. */
export const CLEANED_SUFFIX = '.cleaned';
export const TMP_SUFFIX = '.tmp';

/** Checkpoints, one small text file each, written tmp+fsync+rename+dir fsync. */
export const LOG_START_OFFSET_FILE = 'log-start-offset.checkpoint';
export const RECOVERY_POINT_FILE = 'recovery-point.checkpoint';
export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset.checkpoint';
/** Present only between a clean close() and the next open(): lets open() skip the recovery scan. */
export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
/** Commit point of a compaction swap: lists the segments the cleaned one replaces. */
export const CLEANER_SWAP_FILE = 'cleaner-swap.json';

export function baseOffsetName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

export function segmentPaths(dir: string, baseOffset: number): { log: string; index: string; timeIndex: string } {
  const name = baseOffsetName(baseOffset);
  return {
    log: join(dir, name + LOG_SUFFIX),
    index: join(dir, name + INDEX_SUFFIX),
    timeIndex: join(dir, name + TIME_INDEX_SUFFIX),
  };
}

/** Base offset of a `<20 digits>.log` file name, or null for any other file. */
export function parseLogFileName(file: string): number | null {
  const m = /^(\d{20})\.log$/.exec(file);
  return m ? Number(m[1]) : null;
}

/** `<topic>-<partition>` directory names (topics may contain '-': the partition is after the last one). */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const m = /^(.+)-(\d+)$/.exec(name);
  if (!m) return null;
  return { topic: m[1]!, partition: Number(m[2]) };
}
