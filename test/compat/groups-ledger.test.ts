/**
 * The ledger the groups-* tests judge rebalances with (groups-support.ts checkLedger) must catch what it is for:
 * a skipped record, a resume at an offset nobody committed, and more duplicates than records left uncommitted.
 * Synthetic histories, no node.
 */
import { describe, expect, it } from 'vitest';
import { checkLedger, type MemberEvent } from './groups-support.js';

let clock = 0;
/** Records processed one after the other (the ledger orders a partition's runs by when they started). */
const m = (partition: number, from: number, to: number): MemberEvent[] =>
  Array.from({ length: to - from }, (_, i) => ({ kind: 'm', partition, offset: from + i, value: `${partition}:${from + i}`, atMs: ++clock }));
const c = (partition: number, offset: number): MemberEvent => ({ kind: 'c', partition, offset });
const all = (partition: number, to: number): string[] => Array.from({ length: to }, (_, i) => `${partition}:${i}`);

describe('checkLedger', () => {
  it('accepts a handover that redelivers exactly the uncommitted tail', () => {
    // a reads 0..9, commits 6, leaves; b resumes at 6: 4 duplicates, 4 uncommitted.
    const r = checkLedger(new Map([['a', [...m(0, 0, 10), c(0, 6)]], ['b', [...m(0, 6, 20), c(0, 20)]]]), all(0, 20));
    expect(r).toMatchObject({ missing: [], badResumes: [], resumesBelowCommit: [], duplicates: 4, uncommittedAtHandover: 4 });
  });

  it('flags a skipped record', () => {
    const r = checkLedger(new Map([['a', [...m(0, 0, 10), c(0, 10)]], ['b', m(0, 11, 20)]]), all(0, 20));
    expect(r.missing).toEqual(['0:10']);
    expect(r.badResumes).toHaveLength(1);
  });

  it('flags a resume below the last commit (committed records redelivered)', () => {
    // a committed 10 but b starts at 3 (an earlier commit of a's): 7 committed records come again.
    const r = checkLedger(new Map([['a', [...m(0, 0, 5), c(0, 3), ...m(0, 5, 10), c(0, 10)]], ['b', [...m(0, 3, 20), c(0, 20)]]]), all(0, 20));
    expect(r.badResumes).toEqual([]);
    expect(r.resumesBelowCommit).toEqual([expect.stringMatching(/^b resumed partition 0 at 3 though 10 was committed; runs a:0-9\(c10@\d+\) b:3-19\(c20@\d+\)$/)]);
    expect(r.duplicates).toBe(7);
    expect(r.uncommittedAtHandover).toBe(0);
  });

  it('does not credit a run with commits made after its partition was revoked', () => {
    // c reads 0..7, loses the partition (no commit), d reads 0..9 and commits 10; c gets it back with nothing
    // to read and commits 10 again. c's first run still left 8 uncommitted records.
    const history = (revoke: boolean): Map<string, MemberEvent[]> => new Map([
      ['c', [...m(0, 0, 8), ...(revoke ? [{ kind: 'r', partitions: [0] } satisfies MemberEvent] : []), c(0, 10)]],
      ['d', [...m(0, 0, 10), c(0, 10)]],
    ]);
    expect(checkLedger(history(true), all(0, 10))).toMatchObject({ resumesBelowCommit: [], duplicates: 8, uncommittedAtHandover: 8 });
    // Without the revoke in the history the late commit would look like c's, and d's resume like a violation.
    expect(checkLedger(history(false), all(0, 10)).resumesBelowCommit).toHaveLength(1);
  });

  it('counts commits seen outside the event stream (kcat revoke commits) by offset', () => {
    const r = checkLedger(new Map([['a', m(0, 0, 10)], ['b', m(0, 8, 20)]]), all(0, 20), {
      extraCommits: new Map([['a', [{ partition: 0, offset: 8 }]]]),
      resumesVisible: false,
    });
    // b's run is the last one of the partition: its uncommitted tail cannot come back and does not count.
    expect(r).toMatchObject({ missing: [], resumesBelowCommit: [], duplicates: 2, uncommittedAtHandover: 2 });
  });
});
