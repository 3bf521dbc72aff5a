import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRecordBatch, readBatchHeader } from '@fluxo/protocol';
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
const DAY = 86_400_000;
const compactCfg = { segmentBytes: 700, cleanupPolicy: ['compact' as const], minCleanableDirtyRatio: 0, deleteRetentionMs: DAY };

describe('compaction', () => {
  it('keeps the latest value per key with offsets preserved, and expires tombstones after delete.retention.ms', async () => {
    const { log, registry } = await openLog(dir, compactCfg);
    // 5 keys, 12 rounds: key k{j} gets value r{round}; batches of 2 records so some batches are partly kept.
    let offset = 0;
    const latest = new Map<string, { offset: number; value: string | null }>();
    for (let round = 0; round < 12; round++) {
      for (let j = 0; j < 5; j += 2) {
        const keys = [`k${j}`, `k${j + 1}`].filter((k) => k !== 'k5');
        const values = keys.map((k) => `${k}=r${round}-${'p'.repeat(40)}`);
        await log.append(batchOf(values, { keys, timestampMs: T0 + round }), { leaderEpoch: 0 });
        keys.forEach((k, i) => latest.set(k, { offset: offset + i, value: values[i]! }));
        offset += keys.length;
      }
    }
    // A tombstone for k1, then one more batch so the tombstone's segment is closed.
    await log.append(batchOf([null], { keys: ['k1'], timestampMs: T0 + 100 }), { leaderEpoch: 0 });
    latest.set('k1', { offset, value: null });
    offset++;
    for (let i = 0; i < 8; i++) {
      await log.append(batchOf([`pad${i}-${'q'.repeat(200)}`], { keys: [`pad${i}`], timestampMs: T0 + 200 }), { leaderEpoch: 0 });
      latest.set(`pad${i}`, { offset, value: `pad${i}-${'q'.repeat(200)}` });
      offset++;
    }
    const sizeBefore = log.sizeBytes;
    const segmentsBefore = log.segmentCount;
    const activeBase = log.segmentBaseOffsets().at(-1)!;

    await log.compact(T0 + 1000); // tombstone still within delete.retention.ms
    expect(log.sizeBytes).toBeLessThan(sizeBefore);
    expect(log.segmentCount).toBeLessThan(segmentsBefore);
    expect(log.logEndOffset).toBe(offset);
    const after = await readAll(log);
    // Offsets strictly increase and are original offsets.
    for (let i = 1; i < after.length; i++) expect(after[i]!.offset).toBeGreaterThan(after[i - 1]!.offset);
    const byKey = new Map<string, { offset: number; value: string | null }[]>();
    for (const r of after) byKey.set(r.key!, [...(byKey.get(r.key!) ?? []), { offset: r.offset, value: r.value }]);
    for (const [key, want] of latest) {
      const got = byKey.get(key)!;
      // Below the active segment exactly one record per key remains: the latest.
      expect(got.at(-1)).toEqual(want);
      expect(got.filter((g) => g.offset < activeBase).length).toBeLessThanOrEqual(1);
    }
    expect(byKey.get('k1')!.at(-1)!.value).toBeNull(); // tombstone kept for now
    expect(await registry.getSingleMetricAsString('fluxo_log_cleaner_runs_total')).toMatch(/total 1/);

    // Past delete.retention.ms the tombstone itself goes.
    await log.compact(T0 + 100 + DAY + 1);
    const later = await readAll(log);
    expect(later.some((r) => r.key === 'k1')).toBe(false);
    expect(later.find((r) => r.key === 'k0')).toEqual(expect.objectContaining({ offset: latest.get('k0')!.offset, value: latest.get('k0')!.value }));
    expect(log.logEndOffset).toBe(offset);
    expect((await log.append(batchOf(['new'], { keys: ['k0'] }), { leaderEpoch: 0 })).baseOffset).toBe(offset);
    await log.close();

    // Survives a reopen (clean) and a scan (unclean).
    const { log: again } = await openLog(dir, compactCfg);
    const reopened = await readAll(again);
    expect(reopened.map((r) => r.offset)).toEqual([...later.map((r) => r.offset), offset]);
    await again.closeUnclean();
    const { log: scanned } = await openLog(dir, compactCfg);
    expect((await readAll(scanned)).length).toBe(reopened.length);
    await scanned.close();
  });

  it('keeps producer fields and the original lastOffset of a partly compacted batch', async () => {
    const { log } = await openLog(dir, compactCfg);
    const idem = encodeRecordBatch({
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 0, // a producer's first batch in a partition starts at sequence 0 (else UNKNOWN_PRODUCER_ID)
      compression: 1,
      records: ['a', 'b', 'c'].map((k) => ({ key: Buffer.from(k), value: Buffer.from(`old-${k}`), timestamp: T0 })),
    });
    await log.append(idem, { leaderEpoch: 5 });
    await log.append(batchOf(['new-b-' + 'z'.repeat(700)], { keys: ['b'], timestampMs: T0 }), { leaderEpoch: 5 });
    await log.append(batchOf(['tail'], { keys: ['t'], timestampMs: T0 }), { leaderEpoch: 5 });
    await log.compact(T0 + 10);
    const { records } = await log.read(0, 100);
    const h = readBatchHeader(records);
    expect(h).toMatchObject({ baseOffset: 0, lastOffsetDelta: 2, producerId: 42, producerEpoch: 3, baseSequence: 0, compression: 1, partitionLeaderEpoch: 5, recordCount: 2 });
    const all = await readAll(log);
    expect(all.map((r) => [r.offset, r.key])).toEqual([
      [0, 'a'],
      [2, 'c'],
      [3, 'b'],
      [4, 't'],
    ]);
    await log.close();
  });

  it('finishes a swap whose manifest was committed before a crash, and discards uncommitted output', async () => {
    const { log } = await openLog(dir, compactCfg);
    for (let i = 0; i < 20; i++) await log.append(batchOf([`v${i}-${'x'.repeat(100)}`], { keys: [`k${i % 3}`], timestampMs: T0 }), { leaderEpoch: 0 });
    await log.close();
    const bases = (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
    expect(bases.length).toBeGreaterThan(3);
    // Simulate: cleaned output of the first two segments exists in .cleaner, manifest committed, nothing renamed.
    // Build it by compacting a copy: simplest is to reuse segment 2's files as the "cleaned" output of 1+2.
    const cleanerDir = join(dir, '.cleaner');
    await mkdir(cleanerDir);
    const [first, second] = bases as [string, string];
    const secondBase = Number(second.slice(0, 20));
    const firstBase = Number(first.slice(0, 20));
    for (const ext of ['.log', '.index', '.timeindex']) {
      await rename(join(dir, second.slice(0, 20) + ext), join(cleanerDir, first.slice(0, 20) + ext));
    }
    await writeFile(join(dir, 'cleaner-swap.json'), JSON.stringify({ baseOffset: firstBase, replaced: [firstBase, secondBase] }));
    const { log: again } = await openLog(dir, compactCfg);
    expect(again.segmentBaseOffsets()[0]).toBe(firstBase);
    expect(again.segmentBaseOffsets()).not.toContain(secondBase);
    expect((await readdir(dir)).includes('cleaner-swap.json')).toBe(false);
    expect((await readdir(dir)).includes('.cleaner')).toBe(false);
    await again.close();

    // Uncommitted output (no manifest) is discarded.
    await mkdir(cleanerDir);
    await writeFile(join(cleanerDir, '00000000000000000000.log'), 'garbage');
    const { log: third } = await openLog(dir, compactCfg);
    expect((await readdir(dir)).includes('.cleaner')).toBe(false);
    await third.close();
  });
});
