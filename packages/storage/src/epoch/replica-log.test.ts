import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, type KafkaProtocolError } from '@fluxo/common';
import { readBatchHeader } from '@fluxo/protocol';
import type { PartitionLog } from '../partition-log.js';
import { batchOf, openLog, readAll, tmpDir } from '../testing/batches.js';
import { HIGH_WATERMARK_CHECKPOINT_FILE, LEADER_EPOCH_CHECKPOINT_FILE } from './epoch-checkpoint.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tmpDir('fluxo-epoch-'));
});
afterEach(async () => {
  await cleanup();
});

const sub = async (name: string): Promise<string> => {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  return d;
};

/** Everything in `from` at and after `offset`, as a follower fetch would get it. */
async function fetchFrom(from: PartitionLog, offset: number, maxBytes = 1 << 20): Promise<Buffer> {
  return (await from.read(offset, maxBytes)).records;
}

async function epochsOnDisk(d: string): Promise<string> {
  return readFile(join(d, LEADER_EPOCH_CHECKPOINT_FILE), 'utf8');
}

describe('leader epochs', () => {
  it('stamps leader appends, checkpoints the epoch starts and keeps them across clean and unclean reopen', async () => {
    const d = await sub('a');
    const { log } = await openLog(d, { segmentBytes: 1024 });
    for (let i = 0; i < 5; i++) await log.append(batchOf([`a${i}`]), { leaderEpoch: 0 });
    await log.assignEpochStart(3);
    for (let i = 0; i < 5; i++) await log.append(batchOf([`b${i}`, `b${i}'`]), { leaderEpoch: 3 });
    await log.append(batchOf(['c']), { leaderEpoch: 4 });
    const expected = [
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 5 },
      { epoch: 4, startOffset: 15 },
    ];
    expect(log.epochEntries()).toEqual(expected);
    expect(await epochsOnDisk(d)).toBe('0\n3\n0 0\n3 5\n4 15\n');
    expect(log.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 5 });
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 0, endOffset: 5 });
    expect(log.endOffsetForEpoch(4)).toEqual({ leaderEpoch: 4, endOffset: 16 });
    expect(log.epochForOffset(14)).toBe(3);
    expect(readBatchHeader((await log.read(15, 1)).records).partitionLeaderEpoch).toBe(4);

    // An older leader may not append any more.
    const err = (await log.append(batchOf(['zombie']), { leaderEpoch: 3 }).catch((e: unknown) => e)) as KafkaProtocolError;
    expect(err.code).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(log.logEndOffset).toBe(16);
    await log.close();

    const { log: clean } = await openLog(d, { segmentBytes: 1024 });
    expect(clean.epochEntries()).toEqual(expected);
    await clean.closeUnclean();
    const { log: unclean } = await openLog(d, { segmentBytes: 1024 });
    expect(unclean.recoveryStats.clean).toBe(false);
    expect(unclean.epochEntries()).toEqual(expected);
    await unclean.close();
  });

  it('an epoch started without data is dropped by truncation to the log end (former leader turned follower)', async () => {
    const { log } = await openLog(await sub('b'));
    await log.append(batchOf(['x', 'y']), { leaderEpoch: 1 });
    await log.assignEpochStart(2);
    expect(log.latestEpoch).toBe(2);
    expect(log.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 1, endOffset: 2 });
    await log.truncateTo(2); // nothing to drop but the empty epoch
    expect(log.latestEpoch).toBe(1);
    expect(log.logEndOffset).toBe(2);
    await log.close();
  });

  it('truncation and log start moves trim the cache and its checkpoint', async () => {
    const d = await sub('c');
    const { log } = await openLog(d, { segmentBytes: 512 });
    for (let e = 0; e < 4; e++) for (let i = 0; i < 4; i++) await log.append(batchOf([`e${e}-${i}-${'v'.repeat(60)}`]), { leaderEpoch: e * 2 });
    expect(log.epochEntries().map((x) => [x.epoch, x.startOffset])).toEqual([
      [0, 0],
      [2, 4],
      [4, 8],
      [6, 12],
    ]);
    await log.truncateTo(9);
    expect(log.logEndOffset).toBe(9);
    expect(log.epochEntries().map((x) => [x.epoch, x.startOffset])).toEqual([
      [0, 0],
      [2, 4],
      [4, 8],
    ]);
    expect(await epochsOnDisk(d)).toBe('0\n3\n0 0\n2 4\n4 8\n');
    await log.deleteRecordsBefore(6);
    expect(log.epochEntries().map((x) => [x.epoch, x.startOffset])).toEqual([
      [2, 6],
      [4, 8],
    ]);
    expect(await epochsOnDisk(d)).toBe('0\n2\n2 6\n4 8\n');
    await log.truncateTo(0); // below the log start: empty again, no epochs
    expect(log.epochEntries()).toEqual([]);
    await log.close();
  });

  it('rebuilds a missing or garbled checkpoint from the batches', async () => {
    const d = await sub('d');
    const { log } = await openLog(d);
    for (let i = 0; i < 3; i++) await log.append(batchOf([`a${i}`]), { leaderEpoch: 0 });
    await log.close();
    // Logs written before epochs were tracked have no checkpoint: one epoch, found from the first and last batch.
    await rm(join(d, LEADER_EPOCH_CHECKPOINT_FILE));
    const { log: one } = await openLog(d);
    expect(one.epochEntries()).toEqual([{ epoch: 0, startOffset: 0 }]);
    await one.append(batchOf(['b']), { leaderEpoch: 5 });
    await one.append(batchOf(['c']), { leaderEpoch: 7 });
    await one.close();
    await writeFile(join(d, LEADER_EPOCH_CHECKPOINT_FILE), '0\n3\nnot numbers\n');
    const { log: scanned } = await openLog(d);
    expect(scanned.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 5, startOffset: 3 },
      { epoch: 7, startOffset: 4 },
    ]);
    expect(await epochsOnDisk(d)).toBe('0\n3\n0 0\n5 3\n7 4\n');
    await scanned.close();
  });
});

describe('appendAsFollower', () => {
  it('keeps the leader offsets and epochs, checks continuity and CRC, and extends the epoch cache', async () => {
    const { log: leader } = await openLog(await sub('leader'), { segmentBytes: 600 });
    const fd = await sub('follower');
    const { log: follower } = await openLog(fd, { segmentBytes: 600 });
    for (let i = 0; i < 6; i++) await leader.append(batchOf([`a${i}`, `a${i}'`]), { leaderEpoch: 1 });
    await leader.deleteRecordsBefore(0);
    for (let i = 0; i < 6; i++) await leader.append(batchOf([`b${i}-${'w'.repeat(50)}`]), { leaderEpoch: 4 });

    // Catch up in a few fetches, as a follower does.
    while (follower.logEndOffset < leader.logEndOffset) {
      const res = await follower.appendAsFollower(await fetchFrom(leader, follower.logEndOffset, 300));
      expect(res.lastOffset + 1).toBe(follower.logEndOffset);
    }
    expect(follower.durableEndOffset).toBe(18);
    expect(follower.epochEntries()).toEqual(leader.epochEntries());
    expect(await readAll(follower, 0, 1 << 20)).toEqual(await readAll(leader, 0, 1 << 20));

    // Already have it: refused, nothing changes.
    const again = (await follower.appendAsFollower(await fetchFrom(leader, 12)).catch((e: unknown) => e)) as KafkaProtocolError;
    expect(again.code).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    // A flipped byte: refused by the CRC check.
    await leader.append(batchOf(['tail']), { leaderEpoch: 4 });
    const bad = Buffer.from(await fetchFrom(leader, 18));
    bad[bad.length - 2]! ^= 0xff;
    expect(((await follower.appendAsFollower(bad).catch((e: unknown) => e)) as KafkaProtocolError).code).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(follower.logEndOffset).toBe(18);

    // Survives a crash like any append.
    await follower.closeUnclean();
    const { log: reopened } = await openLog(fd, { segmentBytes: 600 });
    expect(reopened.logEndOffset).toBe(18);
    expect(reopened.epochEntries()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 4, startOffset: 12 },
    ]);
    // Leadership moves to the follower: it stamps its new epoch after the leader's data.
    await reopened.assignEpochStart(5);
    expect((await reopened.append(batchOf(['as leader']), { leaderEpoch: 5 })).baseOffset).toBe(18);
    expect(reopened.endOffsetForEpoch(4)).toEqual({ leaderEpoch: 4, endOffset: 18 });
    await reopened.close();
    await leader.close();
  });

  it('restarts empty at the leader log start (truncateFullyAndStartAt)', async () => {
    const { log } = await openLog(await sub('behind'));
    await log.append(batchOf(['old']), { leaderEpoch: 0 });
    log.updateHighWatermark(1);
    await log.truncateFullyAndStartAt(500);
    expect(log.logStartOffset).toBe(500);
    expect(log.logEndOffset).toBe(500);
    expect(log.highWatermark).toBe(500);
    expect(log.epochEntries()).toEqual([]);
    await log.close();
  });
});

describe('high-watermark checkpoint', () => {
  it('restarts from min(checkpoint, log end) and ignores a garbled file', async () => {
    const d = await sub('hw');
    const { log } = await openLog(d);
    for (let i = 0; i < 10; i++) await log.append(batchOf([`v${i}`]), { leaderEpoch: 0 });
    expect(log.highWatermark).toBe(0);
    expect(log.updateHighWatermark(7)).toBe(7);
    expect(log.updateHighWatermark(99)).toBe(10); // never past the log end
    log.updateHighWatermark(6);
    await log.checkpointHighWatermark();
    expect(await readFile(join(d, HIGH_WATERMARK_CHECKPOINT_FILE), 'utf8')).toBe('0\n1\nt 0 6\n');
    await log.closeUnclean();

    const { log: again } = await openLog(d);
    expect(again.highWatermark).toBe(6);
    await again.truncateTo(4);
    expect(again.highWatermark).toBe(4);
    await again.close(); // writes it durably
    expect(await readFile(join(d, HIGH_WATERMARK_CHECKPOINT_FILE), 'utf8')).toBe('0\n1\nt 0 4\n');

    // A checkpoint beyond the recovered log end (lost unflushed tail): the log end wins.
    await writeFile(join(d, HIGH_WATERMARK_CHECKPOINT_FILE), '0\n1\nt 0 1000\n');
    const { log: ahead } = await openLog(d);
    expect(ahead.highWatermark).toBe(4);
    await ahead.close();
    await writeFile(join(d, HIGH_WATERMARK_CHECKPOINT_FILE), 'garbage');
    const { log: garbled } = await openLog(d);
    expect(garbled.highWatermark).toBe(0);
    await garbled.close();
  });
});
