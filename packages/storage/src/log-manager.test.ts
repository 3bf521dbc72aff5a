import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry, silentLogger } from '@fluxo/common';
import { LogManager } from './log-manager.js';
import { batchOf, config, readAll, tmpDir } from './testing/batches.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tmpDir());
});
afterEach(async () => {
  await cleanup();
});

function manager(overrides: Partial<ConstructorParameters<typeof LogManager>[0]> = {}): LogManager {
  return new LogManager({
    dataDir: dir,
    logger: silentLogger(),
    registry: createRegistry(),
    configFor: (topic) => config(topic.startsWith('compact') ? { cleanupPolicy: ['compact'], segmentBytes: 500, minCleanableDirtyRatio: 0 } : { segmentBytes: 500, retentionBytes: 1000, retentionMs: -1 }),
    retentionCheckIntervalMs: 0,
    cleanerBackoffMs: 0,
    ...overrides,
  });
}

describe('LogManager', () => {
  it('creates logs in <topic>-<partition> dirs, reopens them at start, and deletes them', async () => {
    const m = manager();
    await m.start();
    const a0 = await m.getOrCreate('orders.v1-eu', 0);
    const [a1, a1again] = await Promise.all([m.getOrCreate('orders.v1-eu', 1), m.getOrCreate('orders.v1-eu', 1)]);
    expect(a1).toBe(a1again);
    await a0.append(batchOf(['x', 'y']), { leaderEpoch: 0 });
    await a1.append(batchOf(['z']), { leaderEpoch: 0 });
    await mkdir(join(dir, 'metadata-7')); // someone else's directory: not a log
    await m.close();
    expect((await readdir(dir)).sort()).toEqual(['metadata-7', 'orders.v1-eu-0', 'orders.v1-eu-1']);

    const m2 = manager();
    await m2.start();
    expect(m2.all().map((l) => `${l.topic}/${l.partition}`).sort()).toEqual(['orders.v1-eu/0', 'orders.v1-eu/1']);
    const r0 = m2.get('orders.v1-eu', 0)!;
    expect(r0.recoveryStats.clean).toBe(true);
    expect((await readAll(r0)).map((r) => r.value)).toEqual(['x', 'y']);
    await m2.deleteLog('orders.v1-eu', 0);
    expect(m2.get('orders.v1-eu', 0)).toBeUndefined();
    await expect(stat(join(dir, 'orders.v1-eu-0'))).rejects.toThrow();
    await m2.close();
  });

  it('runs retention and the cleaner over its logs', async () => {
    const m = manager();
    await m.start();
    const del = await m.getOrCreate('events', 0);
    const cmp = await m.getOrCreate('compacted', 0);
    for (let i = 0; i < 30; i++) {
      await del.append(batchOf([`e${i}-${'x'.repeat(100)}`]), { leaderEpoch: 0 });
      await cmp.append(batchOf([`c${i}-${'x'.repeat(100)}`], { keys: [`k${i % 2}`] }), { leaderEpoch: 0 });
    }
    const delSize = del.sizeBytes;
    const cmpSize = cmp.sizeBytes;
    await m.runRetention();
    await m.runCleaner();
    expect(del.sizeBytes).toBeLessThan(delSize);
    expect(del.sizeBytes).toBeGreaterThanOrEqual(1000);
    expect(cmp.sizeBytes).toBeLessThan(cmpSize);
    const latest = (await readAll(cmp)).filter((r) => r.offset < cmp.segmentBaseOffsets().at(-1)!);
    expect(latest.length).toBeLessThanOrEqual(2);
    await m.close();
  });

  it('caps open segment handles and still reads every segment', async () => {
    const m = manager({ maxOpenSegments: 3 });
    await m.start();
    const log = await m.getOrCreate('events-many', 0, config({ segmentBytes: 300 }));
    for (let i = 0; i < 40; i++) await log.append(batchOf([`e${i}-${'x'.repeat(150)}`]), { leaderEpoch: 0 });
    expect(log.segmentCount).toBeGreaterThan(10);
    const fds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
    const before = await fds();
    expect((await readAll(log, 0, 200)).map((r) => r.offset)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await fds()).toBeLessThanOrEqual(before + 4);
    await m.close();
  });
});
