import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLog, readAll, tmpDir } from './testing/batches.js';
import { runUntilThenKill } from './testing/kill-after.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const script = fileURLToPath(new URL('./testing/crash-appender.mjs', import.meta.url));

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  // The child runs the built package.
  execFileSync('npx', ['tsc', '-b', 'packages/storage'], { cwd: root, stdio: 'inherit' });
  ({ dir, cleanup } = await tmpDir('fluxo-crash-'));
});
afterAll(async () => {
  await cleanup();
});

/** Runs the appender until it has acknowledged `acks` appends, then SIGKILLs it; returns offset -> value. */
async function runAndKill(runId: string, acks: number): Promise<Map<number, string>> {
  const acked = new Map<number, string>();
  await runUntilThenKill(script, [dir, runId, '65536'], root, acks, (line) => {
    if (line.startsWith('ready')) return false;
    const sp = line.indexOf(' ');
    acked.set(Number(line.slice(0, sp)), line.slice(sp + 1));
    return true;
  });
  return acked;
}

describe('crash (kill -9) during appends', () => {
  it('keeps every acknowledged append and serves no corrupt batch', async () => {
    const everything = new Map<number, string>();
    for (let run = 0; run < 3; run++) {
      const acked = await runAndKill(`run${run}`, 1500);
      expect(acked.size).toBeGreaterThanOrEqual(1500);
      for (const [o, v] of acked) everything.set(o, v);

      const { log } = await openLog(dir, { segmentBytes: 65536, indexIntervalBytes: 1024 });
      expect(log.recoveryStats.clean).toBe(false);
      // readAll decodes every batch with CRC verification: a corrupt batch would throw.
      const records = await readAll(log, 0, 1 << 20);
      const byOffset = new Map(records.map((r) => [r.offset, r.value]));
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: records.length }, (_, i) => i));
      for (const [offset, value] of everything) expect(byOffset.get(offset)).toBe(value);
      await log.closeUnclean(); // next run recovers again
    }
  });
});
