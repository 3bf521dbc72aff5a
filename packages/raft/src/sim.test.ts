import { describe, expect, it } from 'vitest';
import { formatFailure, runSimulation, type SimResult } from './sim/index.js';

/**
 * Deterministic cluster simulation over many seeds. Env: RAFT_SIM_SEED (run one seed, e.g. to reproduce a
 * failure), RAFT_SIM_SEEDS (how many seeds), RAFT_SIM_FIRST_SEED, RAFT_SIM_STEPS (chaos ticks per seed).
 */
const envInt = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
};

const ONE_SEED = process.env['RAFT_SIM_SEED'];
const SEEDS = envInt('RAFT_SIM_SEEDS', 3000);
const FIRST_SEED = envInt('RAFT_SIM_FIRST_SEED', 1);
const STEPS = envInt('RAFT_SIM_STEPS', 2000);

describe('raft simulation', () => {
  it('the same seed replays exactly', () => {
    const a = runSimulation({ seed: 42, steps: 200 });
    const b = runSimulation({ seed: 42, steps: 200 });
    expect(a.ok, a.ok ? '' : formatFailure(a)).toBe(true);
    expect(b.stats).toEqual(a.stats);
  });

  it(ONE_SEED !== undefined ? `seed ${ONE_SEED}` : `${SEEDS} seeds x ${STEPS} ticks keep every invariant`, { timeout: 600_000 }, () => {
    const seeds = ONE_SEED !== undefined ? [envInt('RAFT_SIM_SEED', 0)] : Array.from({ length: SEEDS }, (_, i) => FIRST_SEED + i);
    const failures: SimResult[] = [];
    const totals = { ticks: 0, elections: 0, crashes: 0, snapshotsSent: 0, confChanges: 0, transfers: 0, proposalsAcked: 0 };
    for (const seed of seeds) {
      const result = runSimulation({ seed, steps: STEPS });
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += result.stats[k];
      if (!result.ok) {
        failures.push(result);
        if (failures.length >= 3) break;
      }
    }
    if (failures.length > 0) {
      const first = failures[0] as SimResult;
      console.error(formatFailure(first));
      expect.fail(`failing seeds: ${failures.map((f) => f.seed).join(', ')}\n${first.error}`);
    }
    // the runs must actually exercise the interesting paths
    if (seeds.length >= 100) {
      expect(totals.elections).toBeGreaterThan(seeds.length);
      expect(totals.crashes).toBeGreaterThan(0);
      expect(totals.snapshotsSent).toBeGreaterThan(0);
      expect(totals.confChanges).toBeGreaterThan(0);
      expect(totals.transfers).toBeGreaterThan(0);
    }
    console.log(`raft sim: ${seeds.length} seeds, ${JSON.stringify(totals)}`);
  });
});
