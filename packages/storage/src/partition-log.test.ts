import { open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { readBatchHeader } from '@fluxo/protocol';
import { batchOf, openLog, readAll, recordsIn, tmpDir } from './testing/batches.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tmpDir());
});
afterEach(async () => {
  await cleanup();
});

const value = (i: number): string => `value-${i}-${'x'.repeat(80)}`;

describe('PartitionLog append and read', () => {
  it('assigns contiguous offsets and reads every record back across segment rolls', async () => {
    const { log } = await openLog(dir, { segmentBytes: 2048, indexIntervalBytes: 256 });
    let expected = 0;
    for (let b = 0; b < 60; b++) {
      const res = await log.append(batchOf([value(3 * b), value(3 * b + 1), value(3 * b + 2)]), { leaderEpoch: 7 });
      expect(res.baseOffset).toBe(expected);
      expect(res.lastOffset).toBe(expected + 2);
      expect(res.logAppendTimeMs).toBe(-1);
      expected += 3;
    }
    expect(log.logEndOffset).toBe(180);
    expect(log.durableEndOffset).toBe(180);
    expect(log.segmentCount).toBeGreaterThan(5);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
    expect(files[0]).toBe('00000000000000000000.log');
    expect(files.every((f) => /^\d{20}\.log$/.test(f))).toBe(true);

    const all = await readAll(log, 0, 1000);
    expect(all.map((r) => r.offset)).toEqual(Array.from({ length: 180 }, (_, i) => i));
    expect(all.map((r) => r.value)).toEqual(Array.from({ length: 180 }, (_, i) => value(i)));

    // Every offset: the first returned batch contains it; leader epoch was rewritten.
    for (let o = 0; o < 180; o++) {
      const { records } = await log.read(o, 1);
      const h = readBatchHeader(records);
      expect(h.baseOffset).toBeLessThanOrEqual(o);
      expect(h.baseOffset + h.lastOffsetDelta).toBeGreaterThanOrEqual(o);
      expect(h.partitionLeaderEpoch).toBe(7);
      expect(records.length).toBe(h.batchLength + 12); // maxBytes 1: still one whole batch
    }
    await log.close();

    // Reopen (clean): same content, appends continue at the right offset.
    const { log: again } = await openLog(dir, { segmentBytes: 2048, indexIntervalBytes: 256 });
    expect(again.recoveryStats.clean).toBe(true);
    expect(again.logEndOffset).toBe(180);
    expect((await readAll(again, 0, 100_000)).map((r) => r.value)).toEqual(Array.from({ length: 180 }, (_, i) => value(i)));
    expect((await again.append(batchOf(['next']), { leaderEpoch: 8 })).baseOffset).toBe(180);
    await again.close();
  });

  it('respects maxBytes (whole batches) and maxOffset, and rejects offsets out of range', async () => {
    const { log } = await openLog(dir);
    for (let b = 0; b < 10; b++) await log.append(batchOf([value(b)]), { leaderEpoch: 0 });
    const one = (await log.read(0, 1)).records;
    const batchBytes = one.length;
    const three = await log.read(2, batchBytes * 3 + 1);
    expect(recordsIn(three.records).map((r) => r.offset)).toEqual([2, 3, 4]);
    expect(three.logEndOffset).toBe(10);
    const capped = await log.read(2, 1_000_000, 5);
    expect(recordsIn(capped.records).map((r) => r.offset)).toEqual([2, 3, 4]);
    expect((await log.read(5, 1_000_000, 5)).records.length).toBe(0);
    expect((await log.read(10, 1_000_000)).records.length).toBe(0);
    const err = await log.read(11, 100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaProtocolError);
    expect((err as KafkaProtocolError).code).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    await log.close();
  });

  it('appends several batches in one call and rejects corrupt or oversized input', async () => {
    const { log } = await openLog(dir, { maxMessageBytes: 10_000 });
    const res = await log.append(Buffer.concat([batchOf(['a', 'b']), batchOf(['c']), batchOf(['d', 'e', 'f'])]), { leaderEpoch: 1 });
    expect(res).toMatchObject({ baseOffset: 0, lastOffset: 5 });
    expect((await readAll(log)).map((r) => r.value)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);

    const bad = batchOf(['zzz']);
    bad[bad.length - 1] ^= 0xff;
    const crcErr = (await log.append(bad, { leaderEpoch: 1 }).catch((e: unknown) => e)) as KafkaProtocolError;
    expect(crcErr.code).toBe(ErrorCode.CORRUPT_MESSAGE);
    const torn = batchOf(['zzz']).subarray(0, 40);
    expect(((await log.append(torn, { leaderEpoch: 1 }).catch((e: unknown) => e)) as KafkaProtocolError).code).toBe(ErrorCode.CORRUPT_MESSAGE);
    const big = batchOf(['y'.repeat(20_000)]);
    expect(((await log.append(big, { leaderEpoch: 1 }).catch((e: unknown) => e)) as KafkaProtocolError).code).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(log.logEndOffset).toBe(6);
    await log.close();
  });

  it('stamps LogAppendTime into the batch', async () => {
    const { log } = await openLog(dir, { messageTimestampType: 'LogAppendTime' }, () => 1_800_000_000_000);
    const res = await log.append(batchOf(['a'], { timestampMs: 5 }), { leaderEpoch: 0 });
    expect(res.logAppendTimeMs).toBe(1_800_000_000_000);
    const { records } = await log.read(0, 1000);
    expect(readBatchHeader(records).maxTimestamp).toBe(1_800_000_000_000);
    expect(readBatchHeader(records).timestampType).toBe(1);
    expect(recordsIn(records)[0]!.timestamp).toBe(1_800_000_000_000); // CRC still valid (recordsIn verifies)
    await log.close();
  });
});

describe('forEachBatchHeader', () => {
  it('walks batch headers from the batch containing an offset to the log end', async () => {
    const { log } = await openLog(dir, { segmentBytes: 1024 });
    for (let b = 0; b < 20; b++) await log.append(batchOf([value(2 * b), value(2 * b + 1)]), { leaderEpoch: 3 });
    const bases: number[] = [];
    await log.forEachBatchHeader(7, (h) => {
      expect(h.partitionLeaderEpoch).toBe(3);
      bases.push(h.baseOffset);
    });
    expect(bases).toEqual(Array.from({ length: 17 }, (_, i) => 6 + 2 * i));
    await log.close();
  });
});

describe('group commit', () => {
  it('shares fsyncs between concurrent appends and resolves each with its own offsets', async () => {
    const { log, registry } = await openLog(dir);
    const n = 300;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => log.append(batchOf([`m${i}`, `m${i}b`]), { leaderEpoch: 0 })));
    const bases = results.map((r) => r.baseOffset);
    expect(new Set(bases).size).toBe(n);
    expect([...bases].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => 2 * i));
    for (const r of results) expect(r.lastOffset).toBe(r.baseOffset + 1);
    // Appends were queued in call order: offsets follow it.
    expect(bases).toEqual(Array.from({ length: n }, (_, i) => 2 * i));
    expect(log.fsyncCount).toBeGreaterThan(0);
    expect(log.fsyncCount).toBeLessThan(n);
    expect(log.durableEndOffset).toBe(2 * n);
    const metrics = await registry.getSingleMetricAsString('fluxo_log_flush_seconds');
    expect(metrics).toContain(`fluxo_log_flush_seconds_count ${log.fsyncCount}`);
    const all = await readAll(log, 0, 1 << 20);
    expect(all.map((r) => r.value)).toEqual(Array.from({ length: n }, (_, i) => [`m${i}`, `m${i}b`]).flat());
    await log.close();
  });

  it('appends arriving while an fsync runs are covered by the next single fsync', async () => {
    const { log } = await openLog(dir);
    await log.append(batchOf(['warm-up']), { leaderEpoch: 0 });
    const before = log.fsyncCount;
    const first = log.append(batchOf(['first']), { leaderEpoch: 0 });
    // Wait until 'first' is written (published) - its fsync is then queued or running.
    while (log.logEndOffset < 2) await new Promise((r) => setImmediate(r));
    const burst = Array.from({ length: 50 }, (_, i) => log.append(batchOf([`b${i}`]), { leaderEpoch: 0 }));
    const results = await Promise.all([first, ...burst]);
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    // At most: the fsync covering 'first' + one per write of the burst (the writer coalesces it into <= 2 writevs).
    expect(log.fsyncCount - before).toBeLessThanOrEqual(3);
    await log.close();
  });

  it('relaxed mode (flush.messages > 1) resolves after the write and fsyncs in the background', async () => {
    const { log } = await openLog(dir, { flushMessages: 10 });
    for (let i = 0; i < 9; i++) await log.append(batchOf([`r${i}`]), { leaderEpoch: 0 });
    expect(log.fsyncCount).toBe(0);
    expect(log.durableEndOffset).toBe(0);
    await log.append(batchOf(['r9']), { leaderEpoch: 0 });
    await log.flush();
    expect(log.fsyncCount).toBeGreaterThanOrEqual(1);
    expect(log.durableEndOffset).toBe(10);
    await log.close();
  });
});

describe('recovery', () => {
  async function writeSome(n: number, cfg = {}): Promise<void> {
    const { log } = await openLog(dir, cfg);
    for (let i = 0; i < n; i++) await log.append(batchOf([value(i)]), { leaderEpoch: 0 });
    await log.closeUnclean();
  }

  it('truncates a torn last batch and keeps every whole one', async () => {
    await writeSome(20);
    const file = join(dir, '00000000000000000000.log');
    const size = (await stat(file)).size;
    await truncate(file, size - 17);
    const { log, registry } = await openLog(dir);
    expect(log.recoveryStats.clean).toBe(false);
    expect(log.recoveryStats.truncatedBytes).toBeGreaterThan(0);
    expect(log.logEndOffset).toBe(19);
    expect((await readAll(log)).map((r) => r.value)).toEqual(Array.from({ length: 19 }, (_, i) => value(i)));
    expect(await registry.getSingleMetricAsString('fluxo_log_recovery_truncated_bytes_total')).toMatch(/total [1-9]/);
    expect((await log.append(batchOf(['after']), { leaderEpoch: 1 })).baseOffset).toBe(19);
    await log.close();
  });

  it('truncates at a batch whose CRC does not match (flipped byte)', async () => {
    await writeSome(20);
    const file = join(dir, '00000000000000000000.log');
    const size = (await stat(file)).size;
    const fh = await open(file, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, size - 5);
    b[0] ^= 0x01;
    await fh.write(b, 0, 1, size - 5);
    await fh.close();
    const { log } = await openLog(dir);
    expect(log.logEndOffset).toBe(19);
    expect((await stat(file)).size).toBeLessThan(size);
    expect((await readAll(log)).map((r) => r.value)).toEqual(Array.from({ length: 19 }, (_, i) => value(i)));
    await log.close();
  });

  it('skips the scan after a clean shutdown and scans again after a crash', async () => {
    const cfg = { segmentBytes: 1024 };
    const { log } = await openLog(dir, cfg);
    for (let i = 0; i < 30; i++) await log.append(batchOf([value(i)]), { leaderEpoch: 0 });
    await log.close();
    expect(await readFile(join(dir, '.clean-shutdown'), 'utf8')).toContain('"logEndOffset":30');
    const { log: clean } = await openLog(dir, cfg);
    expect(clean.recoveryStats).toMatchObject({ clean: true, scannedSegments: 0 });
    await expect(stat(join(dir, '.clean-shutdown'))).rejects.toThrow(); // consumed on open
    expect((await readAll(clean)).length).toBe(30);
    await clean.closeUnclean();
    const { log: crashed } = await openLog(dir, cfg);
    expect(crashed.recoveryStats.clean).toBe(false);
    expect(crashed.recoveryStats.scannedSegments).toBe(1); // only the active segment: the rest is below the recovery point
    expect(crashed.logEndOffset).toBe(30);
    expect((await readAll(crashed)).map((r) => r.value)).toEqual(Array.from({ length: 30 }, (_, i) => value(i)));
    await crashed.close();
  });

  it('rebuilds a missing index of a closed segment', async () => {
    const cfg = { segmentBytes: 1024, indexIntervalBytes: 100 };
    const { log } = await openLog(dir, cfg);
    for (let i = 0; i < 30; i++) await log.append(batchOf([value(i)]), { leaderEpoch: 0 });
    await log.close();
    await writeFile(join(dir, '00000000000000000000.index'), Buffer.from([1, 2, 3]));
    const { log: again } = await openLog(dir, cfg);
    expect((await readAll(again)).map((r) => r.value)).toEqual(Array.from({ length: 30 }, (_, i) => value(i)));
    await again.close();
  });
});

describe('truncateTo', () => {
  it('drops whole batches at and after the offset, also across segments', async () => {
    const { log } = await openLog(dir, { segmentBytes: 1024 });
    for (let i = 0; i < 30; i++) await log.append(batchOf([value(2 * i), value(2 * i + 1)]), { leaderEpoch: 0 });
    expect(log.segmentCount).toBeGreaterThan(3);
    await log.truncateTo(21); // mid-batch [20, 21]: that batch goes too
    expect(log.logEndOffset).toBe(20);
    expect((await readAll(log)).map((r) => r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect((await log.append(batchOf(['new']), { leaderEpoch: 2 })).baseOffset).toBe(20);
    await log.closeUnclean();
    const { log: again } = await openLog(dir, { segmentBytes: 1024 });
    expect(again.logEndOffset).toBe(21);
    expect((await readAll(again)).map((r) => r.value).slice(-1)).toEqual(['new']);
    await again.close();
  });
});

describe('concurrency and rolls', () => {
  it('readers running during appends only ever see whole, acknowledged-order batches below the log end', async () => {
    const { log } = await openLog(dir, { segmentBytes: 4096, indexIntervalBytes: 512 });
    let stop = false;
    let reads = 0;
    const reader = async (): Promise<void> => {
      let offset = 0;
      while (!stop || offset < log.logEndOffset) {
        const leoBefore = log.logEndOffset;
        const { records, logEndOffset } = await log.read(offset, 3000);
        reads++;
        expect(logEndOffset).toBeGreaterThanOrEqual(leoBefore);
        const recs = recordsIn(records); // verifies every CRC: a partly written batch would fail
        for (const r of recs) expect(r.offset).toBeLessThan(logEndOffset);
        const fresh = recs.filter((r) => r.offset >= offset);
        if (fresh.length > 0) {
          expect(fresh[0]!.offset).toBe(offset);
          for (const r of fresh) expect(r.value).toBe(value(r.offset));
          offset = fresh[fresh.length - 1]!.offset + 1;
        } else await new Promise((r) => setImmediate(r));
      }
      expect(offset).toBe(400);
    };
    const readers = [reader(), reader()];
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < 400; i++) {
      appends.push(log.append(batchOf([value(i)]), { leaderEpoch: 0 }));
      if (i % 25 === 0) await Promise.all(appends.splice(0));
    }
    await Promise.all(appends);
    stop = true;
    await Promise.all(readers);
    expect(reads).toBeGreaterThan(2);
    await log.close();
  });

  it('rolls by segment.ms measured from the first append of the segment', async () => {
    let now = 1_000_000;
    const { log } = await openLog(dir, { segmentMs: 60_000 }, () => now);
    await log.append(batchOf(['a']), { leaderEpoch: 0 });
    now += 30_000;
    await log.append(batchOf(['b']), { leaderEpoch: 0 });
    expect(log.segmentCount).toBe(1);
    now += 30_001;
    await log.append(batchOf(['c']), { leaderEpoch: 0 });
    expect(log.segmentBaseOffsets()).toEqual([0, 2]);
    await log.close();
  });

  it('recovers when only a few bytes of the last batch header reached the file', async () => {
    const { log } = await openLog(dir);
    for (let i = 0; i < 5; i++) await log.append(batchOf([value(i)]), { leaderEpoch: 0 });
    await log.closeUnclean();
    const file = join(dir, '00000000000000000000.log');
    const fh = await open(file, 'a');
    await fh.write(Buffer.from([0, 0, 0, 0, 0]));
    await fh.close();
    const { log: again } = await openLog(dir);
    expect(again.recoveryStats.truncatedBytes).toBe(5);
    expect(again.logEndOffset).toBe(5);
    await again.close();
  });
});
