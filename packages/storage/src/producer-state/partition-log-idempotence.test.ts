import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { batchOf, openLog, readAll, tmpDir } from '../testing/batches.js';
import { atOffset, idempotentBatch } from './testing/idempotent-batches.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tmpDir('fluxo-idempotence-'));
});
afterEach(async () => {
  await cleanup();
});

const EPOCH = { leaderEpoch: 0 };
/** A fresh copy each time: the log rewrites offsets in place, a client resends its original bytes. */
const send = (pid: number, epoch: number, seq: number, count = 1): Buffer => idempotentBatch(pid, epoch, seq, count);

async function rejectionCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KafkaProtocolError);
    return (err as KafkaProtocolError).code;
  }
  throw new Error('append was expected to fail');
}

describe('PartitionLog with idempotent producers', () => {
  it('answers a resent batch with its original offsets and keeps one copy', async () => {
    const { log } = await openLog(dir);
    await log.append(batchOf(['plain']), EPOCH);
    const first = await log.append(send(1, 0, 0, 3), EPOCH);
    expect([first.baseOffset, first.lastOffset]).toEqual([1, 3]);
    const again = await log.append(send(1, 0, 0, 3), EPOCH);
    expect([again.baseOffset, again.lastOffset]).toEqual([1, 3]);
    expect(log.logEndOffset).toBe(4);
    expect((await readAll(log, 0, 1 << 20)).map((r) => r.value)).toEqual(['plain', 'p1-e0-s0', 'p1-e0-s1', 'p1-e0-s2']);
    await log.close();
  });

  it('detects a duplicate pipelined behind its original (both queued before the first write)', async () => {
    const { log } = await openLog(dir);
    const [a, b, dupA, dupB] = await Promise.all([
      log.append(send(1, 0, 0, 2), EPOCH),
      log.append(send(1, 0, 2, 2), EPOCH),
      log.append(send(1, 0, 0, 2), EPOCH),
      log.append(send(1, 0, 2, 2), EPOCH),
    ]);
    expect([a.baseOffset, b.baseOffset, dupA.baseOffset, dupB.baseOffset]).toEqual([0, 2, 0, 2]);
    expect(log.logEndOffset).toBe(4);
    // A group of duplicates alone resolves too (nothing to write).
    expect((await Promise.all([log.append(send(1, 0, 0, 2), EPOCH), log.append(send(1, 0, 2, 2), EPOCH)])).map((r) => r.baseOffset)).toEqual([0, 2]);
    await log.close();
  });

  it('refuses a sequence gap and an older epoch without writing, and other appends go on', async () => {
    const { log } = await openLog(dir);
    await log.append(send(1, 1, 0), EPOCH);
    const results = await Promise.allSettled([
      log.append(send(1, 1, 5), EPOCH),
      log.append(send(1, 0, 1), EPOCH),
      log.append(batchOf(['other']), EPOCH),
      log.append(send(1, 1, 1), EPOCH),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect(await rejectionCode(log.append(send(1, 1, 5), EPOCH))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await rejectionCode(log.append(send(1, 0, 2), EPOCH))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect((await readAll(log, 0, 1 << 20)).map((r) => r.value)).toEqual(['p1-e1-s0', 'other', 'p1-e1-s1']);
    await log.close();
  });

  it('still detects duplicates after a clean restart (snapshot at the log end, no scan)', async () => {
    const { log } = await openLog(dir);
    for (let i = 0; i < 5; i++) await log.append(send(1, 0, i * 2, 2), EPOCH);
    await log.close();
    expect((await readdir(dir)).filter((f) => f.endsWith('.snapshot'))).toEqual(['00000000000000000010.snapshot']);
    const { log: again } = await openLog(dir);
    for (let i = 0; i < 5; i++) expect((await again.append(send(1, 0, i * 2, 2), EPOCH)).baseOffset).toBe(i * 2);
    expect(again.logEndOffset).toBe(10);
    expect(await rejectionCode(again.append(send(1, 0, 11), EPOCH))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await again.append(send(1, 0, 10), EPOCH)).baseOffset).toBe(10);
    await again.close();
  });

  it('rebuilds the state from the log after an unclean stop, from the snapshot of the last roll', async () => {
    const { log } = await openLog(dir, { segmentBytes: 600 });
    const offsets: number[] = [];
    for (let i = 0; i < 30; i++) offsets.push((await log.append(send(i % 3, 0, Math.floor(i / 3)), EPOCH)).baseOffset);
    expect(log.segmentCount).toBeGreaterThan(3);
    await log.closeUnclean();
    const snapshots = (await readdir(dir)).filter((f) => f.endsWith('.snapshot'));
    expect(snapshots.length).toBe(2); // taken at the last two rolls
    const { log: again } = await openLog(dir, { segmentBytes: 600 });
    expect(again.recoveryStats.clean).toBe(false);
    // The last batch of each producer (and four before it) are known: resends get their offsets back.
    for (let i = 15; i < 30; i++) expect((await again.append(send(i % 3, 0, Math.floor(i / 3)), EPOCH)).baseOffset).toBe(offsets[i]);
    for (let p = 0; p < 3; p++) expect((await again.append(send(p, 0, 10), EPOCH)).baseOffset).toBe(30 + p);
    await again.close();
  });

  it('rebuilds the whole state by scanning when there is no snapshot at all', async () => {
    const { log } = await openLog(dir);
    await log.append(send(4, 2, 0, 3), EPOCH);
    await log.append(send(4, 2, 3, 3), EPOCH);
    await log.closeUnclean();
    const { log: again } = await openLog(dir);
    expect((await again.append(send(4, 2, 3, 3), EPOCH)).baseOffset).toBe(3);
    expect(await rejectionCode(again.append(send(4, 1, 6), EPOCH))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    await again.close();
  });

  it('rebuilds the state after a truncation: the truncated batch can be written again', async () => {
    const { log } = await openLog(dir, { segmentBytes: 600 });
    for (let i = 0; i < 12; i++) await log.append(send(1, 0, i), EPOCH);
    await log.close();
    const { log: again } = await openLog(dir, { segmentBytes: 600 });
    await again.truncateTo(8);
    // Snapshots past the new end describe batches that are gone.
    for (const f of await readdir(dir)) if (f.endsWith('.snapshot')) expect(Number(f.slice(0, 20))).toBeLessThanOrEqual(8);
    expect((await again.append(send(1, 0, 7), EPOCH)).baseOffset).toBe(7); // still there: a duplicate
    expect((await again.append(send(1, 0, 8), EPOCH)).baseOffset).toBe(8); // gone: appended anew
    expect(await rejectionCode(again.append(send(1, 0, 10), EPOCH))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    await again.truncateTo(0);
    // Nothing known any more: the producer must start over at sequence 0.
    expect(await rejectionCode(again.append(send(1, 0, 5), EPOCH))).toBe(ErrorCode.UNKNOWN_PRODUCER_ID);
    expect((await again.append(send(1, 1, 0), EPOCH)).baseOffset).toBe(0);
    await again.close();
  });

  it('learns producers from follower appends, so the next leader detects their duplicates', async () => {
    const { log } = await openLog(dir);
    await log.appendAsFollower(Buffer.concat([atOffset(send(8, 0, 0, 2), 0), atOffset(send(8, 0, 2, 2), 2)]));
    expect((await log.append(send(8, 0, 2, 2), EPOCH)).baseOffset).toBe(2);
    expect((await log.append(send(8, 0, 4), EPOCH)).baseOffset).toBe(4);
    await log.close();
  });

  it('forgets producers idle for producer.id.expiration.ms', async () => {
    const { log } = await openLog(dir);
    await log.append(idempotentBatch(1, 0, 0, 1, { timestampMs: 1_000 }), EPOCH);
    expect(log.expireProducers(1_000 + 999, 1_000)).toBe(0);
    expect(log.expireProducers(1_000 + 1_000, 1_000)).toBe(1);
    expect(await rejectionCode(log.append(send(1, 0, 1), EPOCH))).toBe(ErrorCode.UNKNOWN_PRODUCER_ID);
    expect((await log.append(send(1, 1, 0), EPOCH)).baseOffset).toBe(1);
    await log.close();
  });
});
