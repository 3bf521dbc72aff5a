import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { batchOf, openLog, readAll, tmpDir } from './testing/batches.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tmpDir());
});
afterEach(async () => {
  await cleanup();
});

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

describe('retention', () => {
  it('deletes closed segments older than retention.ms, never the active one', async () => {
    const { log } = await openLog(dir, { segmentBytes: 600, retentionMs: 10 * HOUR });
    // 40 batches, timestamps one hour apart.
    for (let i = 0; i < 40; i++) await log.append(batchOf([`v${i}-${'x'.repeat(100)}`], { timestampMs: T0 + i * HOUR }), { leaderEpoch: 0 });
    const segmentsBefore = log.segmentCount;
    expect(segmentsBefore).toBeGreaterThan(8);
    const now = T0 + 39 * HOUR;
    await log.runRetention(now);
    expect(log.segmentCount).toBeLessThan(segmentsBefore);
    // Every remaining record is at most ~retention old, except those sharing a segment with younger ones.
    const remaining = await readAll(log);
    expect(remaining[remaining.length - 1]!.offset).toBe(39);
    expect(remaining[0]!.offset).toBe(log.logStartOffset);
    expect(remaining[0]!.timestamp).toBeGreaterThanOrEqual(now - 10 * HOUR - 5 * HOUR);
    const err = (await log.read(0, 100).catch((e: unknown) => e)) as KafkaProtocolError;
    expect(err.code).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);

    // Far future: everything but the active segment goes.
    await log.runRetention(now + 1000 * HOUR);
    expect(log.segmentCount).toBe(1);
    expect(log.logEndOffset).toBe(40);
    expect((await readdir(dir)).filter((f) => f.endsWith('.log'))).toHaveLength(1);
    await log.close();

    const { log: again } = await openLog(dir, { segmentBytes: 600 });
    expect(again.logStartOffset).toBe(log.logStartOffset);
    await again.close();
  });

  it('deletes the oldest segments while the log is over retention.bytes', async () => {
    const { log } = await openLog(dir, { segmentBytes: 1000, retentionBytes: 3000, retentionMs: -1 });
    for (let i = 0; i < 60; i++) await log.append(batchOf([`v${i}-${'x'.repeat(100)}`]), { leaderEpoch: 0 });
    expect(log.sizeBytes).toBeGreaterThan(6000);
    await log.runRetention(Date.now());
    // Kafka's rule: delete a segment only if the log stays >= retention.bytes without it.
    expect(log.sizeBytes).toBeGreaterThanOrEqual(3000);
    expect(log.sizeBytes).toBeLessThan(3000 + 1000);
    const remaining = await readAll(log);
    expect(remaining[remaining.length - 1]!.offset).toBe(59);
    expect(remaining[0]!.offset).toBe(log.logStartOffset);
    await log.close();
  });

  it('does nothing for cleanup.policy=compact only', async () => {
    const { log } = await openLog(dir, { segmentBytes: 600, retentionMs: 1, cleanupPolicy: ['compact'] });
    for (let i = 0; i < 20; i++) await log.append(batchOf([`v${i}-${'x'.repeat(100)}`], { keys: [`k${i}`], timestampMs: T0 }), { leaderEpoch: 0 });
    const n = log.segmentCount;
    await log.runRetention(T0 + 1000 * HOUR);
    expect(log.segmentCount).toBe(n);
    await log.close();
  });
});

describe('deleteRecordsBefore', () => {
  it('raises and persists the log start offset and drops whole segments below it', async () => {
    const { log } = await openLog(dir, { segmentBytes: 600 });
    for (let i = 0; i < 30; i++) await log.append(batchOf([`v${i}-${'x'.repeat(100)}`]), { leaderEpoch: 0 });
    const before = log.segmentCount;
    expect(await log.deleteRecordsBefore(17)).toBe(17);
    expect(log.logStartOffset).toBe(17);
    expect(log.segmentCount).toBeLessThan(before);
    expect(((await log.read(16, 100).catch((e: unknown) => e)) as KafkaProtocolError).code).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const all = await readAll(log);
    expect(all[0]!.offset).toBe(17);
    expect(await log.deleteRecordsBefore(5)).toBe(17); // never goes back
    expect(((await log.deleteRecordsBefore(31).catch((e: unknown) => e)) as KafkaProtocolError).code).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const appended = await log.append(batchOf(['z']), { leaderEpoch: 0 });
    expect(appended.logStartOffset).toBe(17);
    await log.closeUnclean(); // the checkpoint, not the clean close, must carry it

    const { log: again } = await openLog(dir, { segmentBytes: 600 });
    expect(again.logStartOffset).toBe(17);
    expect((await readAll(again))[0]!.offset).toBe(17);
    // Up to the log end: the log is then empty but keeps its offsets.
    expect(await again.deleteRecordsBefore(31)).toBe(31);
    expect((await again.read(31, 100)).records.length).toBe(0);
    expect((await again.append(batchOf(['after']), { leaderEpoch: 0 })).baseOffset).toBe(31);
    await again.close();
  });
});

describe('offsetForTimestamp and maxTimestampOffset', () => {
  it('finds the first record with timestamp >= target via the time index', async () => {
    const { log } = await openLog(dir, { segmentBytes: 2000, indexIntervalBytes: 200 });
    // Batch b holds records 3b..3b+2 with timestamps T0 + 10*(3b+i).
    for (let b = 0; b < 50; b++) {
      const ts = [0, 1, 2].map((i) => T0 + 10 * (3 * b + i));
      await log.append(batchOf(['a', 'b', 'c'].map((s) => `${s}${b}`), { timestampMs: ts }), { leaderEpoch: 0 });
    }
    expect(log.segmentCount).toBeGreaterThan(2);
    for (const target of [0, 1, 5, 44, 45, 46, 100, 149]) {
      expect(await log.offsetForTimestamp(T0 + 10 * target)).toEqual({ offset: target, timestamp: T0 + 10 * target });
    }
    expect(await log.offsetForTimestamp(T0 + 10 * 44 + 3)).toEqual({ offset: 45, timestamp: T0 + 450 });
    expect(await log.offsetForTimestamp(T0 - 1000)).toEqual({ offset: 0, timestamp: T0 });
    expect(await log.offsetForTimestamp(T0 + 10 * 150)).toBeNull();
    expect(await log.maxTimestampOffset()).toEqual({ offset: 149, timestamp: T0 + 1490 });
    await log.close();
    // Closed segments answer from their saved time indexes after a clean reopen.
    const { log: again } = await openLog(dir, { segmentBytes: 2000, indexIntervalBytes: 200 });
    expect(await again.offsetForTimestamp(T0 + 10 * 77)).toEqual({ offset: 77, timestamp: T0 + 770 });
    expect(await again.maxTimestampOffset()).toEqual({ offset: 149, timestamp: T0 + 1490 });
    await again.close();
  });

  it('handles timestamps that go backwards', async () => {
    const { log } = await openLog(dir);
    await log.append(batchOf(['a'], { timestampMs: T0 + 100 }), { leaderEpoch: 0 });
    await log.append(batchOf(['b'], { timestampMs: T0 + 50 }), { leaderEpoch: 0 });
    await log.append(batchOf(['c'], { timestampMs: T0 + 200 }), { leaderEpoch: 0 });
    expect(await log.offsetForTimestamp(T0 + 60)).toEqual({ offset: 0, timestamp: T0 + 100 });
    expect(await log.offsetForTimestamp(T0 + 150)).toEqual({ offset: 2, timestamp: T0 + 200 });
    expect(await log.maxTimestampOffset()).toEqual({ offset: 2, timestamp: T0 + 200 });
    await log.close();
  });
});
