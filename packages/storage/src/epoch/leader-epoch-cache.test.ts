import { describe, expect, it } from 'vitest';
import { LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from './leader-epoch-cache.js';

describe('LeaderEpochCache', () => {
  it('answers OffsetForLeaderEpoch like Kafka', () => {
    const c = new LeaderEpochCache();
    expect(c.endOffsetFor(0, 10)).toEqual({ leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET });
    c.assign(2, 0);
    c.assign(4, 10);
    c.assign(7, 25);
    // Latest epoch: the log end.
    expect(c.endOffsetFor(7, 40)).toEqual({ leaderEpoch: 7, endOffset: 40 });
    // A known older epoch ends where the next one starts.
    expect(c.endOffsetFor(4, 40)).toEqual({ leaderEpoch: 4, endOffset: 25 });
    expect(c.endOffsetFor(2, 40)).toEqual({ leaderEpoch: 2, endOffset: 10 });
    // An epoch this log never had: the largest one below it, ending where the next starts.
    expect(c.endOffsetFor(5, 40)).toEqual({ leaderEpoch: 4, endOffset: 25 });
    expect(c.endOffsetFor(3, 40)).toEqual({ leaderEpoch: 2, endOffset: 10 });
    // Older than everything: the requested epoch, ending at the first entry.
    expect(c.endOffsetFor(1, 40)).toEqual({ leaderEpoch: 1, endOffset: 0 });
    // Newer than everything: undefined.
    expect(c.endOffsetFor(8, 40)).toEqual({ leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET });
    expect(c.endOffsetFor(UNDEFINED_EPOCH, 40)).toEqual({ leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET });
    expect(c.epochForOffset(0)).toBe(2);
    expect(c.epochForOffset(24)).toBe(4);
    expect(c.epochForOffset(25)).toBe(7);
  });

  it('assign keeps epochs and start offsets strictly increasing', () => {
    const c = new LeaderEpochCache();
    expect(c.assign(1, 0)).toBe(true);
    expect(c.assign(1, 5)).toBe(false); // same epoch, later start: nothing to record
    expect(c.assign(3, 10)).toBe(true);
    expect(c.all).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 10 },
    ]);
    // A lower start for the latest epoch replaces it.
    expect(c.assign(3, 8)).toBe(true);
    expect(c.all).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 8 },
    ]);
    // An entry that conflicts with later ones drops them (divergent tail).
    expect(c.assign(2, 4)).toBe(true);
    expect(c.all).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 4 },
    ]);
  });

  it('truncates from the end and from the start', () => {
    const c = new LeaderEpochCache([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 10 },
      { epoch: 5, startOffset: 20 },
    ]);
    c.dirty = false;
    c.truncateFromEnd(30);
    expect(c.dirty).toBe(false);
    c.truncateFromEnd(20); // the epoch starting at the new end goes
    expect(c.all.map((e) => e.epoch)).toEqual([0, 2]);
    expect(c.dirty).toBe(true);
    c.assign(5, 20);
    c.truncateFromStart(15); // epoch 2 now starts at 15, epoch 0 is gone
    expect(c.all).toEqual([
      { epoch: 2, startOffset: 15 },
      { epoch: 5, startOffset: 20 },
    ]);
    c.truncateFromStart(20);
    expect(c.all).toEqual([{ epoch: 5, startOffset: 20 }]);
    c.truncateFromStart(3); // before everything: unchanged
    expect(c.all).toEqual([{ epoch: 5, startOffset: 20 }]);
  });
});
