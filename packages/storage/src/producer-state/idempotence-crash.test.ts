import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { openLog, readAll, tmpDir } from '../testing/batches.js';
import { runUntilThenKill } from '../testing/kill-after.js';
import { idempotentBatch } from './testing/idempotent-batches.js';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const script = fileURLToPath(new URL('./testing/idempotent-appender.mjs', import.meta.url));
const SEGMENT_BYTES = 16_384;
const PID = 42;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  execFileSync('npx', ['tsc', '-b', 'packages/storage'], { cwd: root, stdio: 'inherit' });
  ({ dir, cleanup } = await tmpDir('fluxo-idem-crash-'));
});
afterAll(async () => {
  await cleanup();
});

/** Runs the appender from `startSeq` until `acks` appends are acknowledged, then SIGKILLs it: seq -> offset. */
async function runAndKill(startSeq: number, acks: number): Promise<Map<number, number>> {
  const acked = new Map<number, number>();
  await runUntilThenKill(script, [dir, String(PID), String(startSeq), String(SEGMENT_BYTES)], root, acks, (line) => {
    if (line.startsWith('ready')) return false;
    const [offset, seq] = line.split(' ').map(Number);
    acked.set(seq!, offset!);
    return true;
  });
  return acked;
}

describe('idempotent appends across kill -9', () => {
  it('keeps each sequence once, and a resent batch of the last five gets its original offset after recovery', async () => {
    const everything = new Map<number, number>();
    let nextSeq = 0;
    for (let run = 0; run < 3; run++) {
      const acked = await runAndKill(nextSeq, 600);
      for (const [s, o] of acked) everything.set(s, o);

      const { log } = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
      expect(log.recoveryStats.clean).toBe(false);
      const records = await readAll(log, 0, 1 << 20);
      // Every sequence once, in order, from 0: a crash only ever loses an unacknowledged suffix.
      expect(records.map((r) => r.value)).toEqual(records.map((_, i) => `p${PID}-e0-s${i}`));
      for (const [s, o] of everything) expect(records[o]?.value).toBe(`p${PID}-e0-s${s}`);
      const last = records.length - 1;
      const end = log.logEndOffset;
      // The producer retries its last five batches (acknowledged or not): duplicates, original offsets.
      for (let s = last - 4; s <= last; s++) expect((await log.append(idempotentBatch(PID, 0, s), { leaderEpoch: 0 })).baseOffset).toBe(s);
      expect(log.logEndOffset).toBe(end);
      // An older one is not a duplicate any more, and is not written twice either.
      await expect(log.append(idempotentBatch(PID, 0, last - 5), { leaderEpoch: 0 })).rejects.toSatisfy(
        (err) => err instanceof KafkaProtocolError && err.code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      );
      nextSeq = last + 1;
      // Alternate how the next child starts: from a clean-shutdown snapshot, or by recovery and a scan.
      if (run % 2 === 0) await log.close();
      else await log.closeUnclean();
    }
  });
});
