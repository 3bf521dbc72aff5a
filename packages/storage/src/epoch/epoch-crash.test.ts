import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { openLog, tmpDir } from '../testing/batches.js';
import { runUntilThenKill } from '../testing/kill-after.js';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const script = fileURLToPath(new URL('./testing/epoch-crash-writer.mjs', import.meta.url));

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  // The child runs the built package.
  execFileSync('npx', ['tsc', '-b', 'packages/storage'], { cwd: root, stdio: 'inherit' });
  ({ dir, cleanup } = await tmpDir('fluxo-epoch-crash-'));
});
afterAll(async () => {
  await cleanup();
});

/** Runs the writer until it acknowledged `checkpoints` high-watermark checkpoints, SIGKILLs it; returns the last one. */
async function runAndKill(checkpoints: number): Promise<number> {
  let lastHw = -1;
  await runUntilThenKill(script, [dir], root, checkpoints, (line) => {
    if (!line.startsWith('hw ')) return false;
    lastHw = Number(line.slice(3));
    return true;
  });
  return lastHw;
}

describe('kill -9 while epochs and the high watermark are checkpointed', () => {
  it('reopens with an epoch cache that matches the batches and a high watermark no lower than the last checkpoint', async () => {
    for (let run = 0; run < 3; run++) {
      const lastHw = await runAndKill(60 + run * 20);
      const { log } = await openLog(dir, { segmentBytes: 32 * 1024, indexIntervalBytes: 1024 });
      expect(log.recoveryStats.clean).toBe(false);
      // The cache as the batches themselves say it must be.
      const scanned = new LeaderEpochCache();
      await log.forEachBatchHeader(log.logStartOffset, (h) => {
        if (h.partitionLeaderEpoch !== scanned.latestEpoch) scanned.assign(h.partitionLeaderEpoch, h.baseOffset);
      });
      expect(scanned.all.length).toBeGreaterThan(run);
      expect(log.epochEntries()).toEqual(scanned.all);
      // kill -9 keeps the page cache: the last acknowledged checkpoint (or a later one) is what reopens.
      expect(log.highWatermark).toBeGreaterThanOrEqual(Math.min(lastHw, log.logEndOffset));
      expect(log.highWatermark).toBeLessThanOrEqual(log.logEndOffset);
      await log.closeUnclean();
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
  });
});
