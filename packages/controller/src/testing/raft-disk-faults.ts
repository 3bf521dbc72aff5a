import { Level } from 'level';
import { ENTRY_PREFIX, HARD_STATE_KEY, decodeHardState, entryKey, indexOfEntryKey } from '../storage/storage-codec.js';

/**
 * Test-only disk faults on a stopped node's raft LevelDB (`<dataDir>/raft`).
 */

/**
 * Simulates a crash that lost the unsynced tail: deletes every entry past the hard state's commit index
 * (never a committed one). Returns the deleted indexes.
 */
export async function dropUncommittedTail(location: string): Promise<number[]> {
  const db = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    const hs = await db.get(HARD_STATE_KEY);
    const commit = hs === undefined ? 0 : decodeHardState(hs).commit;
    const dropped: number[] = [];
    for await (const key of db.keys({ gt: entryKey(commit), lt: Buffer.from([ENTRY_PREFIX + 1]) })) dropped.push(indexOfEntryKey(key));
    await db.batch(dropped.map((i) => ({ type: 'del' as const, key: entryKey(i) })), { sync: true });
    return dropped;
  } finally {
    await db.close();
  }
}

/** Overwrites entry `index` with bytes that fail their checksum. */
export async function corruptEntry(location: string, index: number): Promise<void> {
  const db = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    const value = await db.get(entryKey(index));
    if (value === undefined) throw new Error(`no entry ${index} in ${location}`);
    const bad = Buffer.from(value);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    await db.put(entryKey(index), bad, { sync: true });
  } finally {
    await db.close();
  }
}
