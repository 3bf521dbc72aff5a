import { describe, expect, it } from 'vitest';
import { LeaderEpochCache } from '@fluxo/storage';
import { truncationFor } from './truncation.js';

/** A follower log with these epoch starts, log end and high watermark. */
function log(entries: [number, number][], logEndOffset: number, highWatermark = 0) {
  const cache = new LeaderEpochCache(entries.map(([epoch, startOffset]) => ({ epoch, startOffset })));
  return { logEndOffset, highWatermark, endOffsetForEpoch: (e: number) => cache.endOffsetFor(e, logEndOffset) };
}

describe('truncationFor (Kafka getOffsetTruncationState)', () => {
  it('truncates to the smaller end of a shared epoch', () => {
    // Follower wrote 0..27 in epoch 0; the new leader has epoch 0 ending at 20.
    expect(truncationFor(log([[0, 0]], 27), { leaderEpoch: 0, endOffset: 20 })).toEqual({ offset: 20, complete: true });
    // Follower behind the leader's end of that epoch: nothing to drop.
    expect(truncationFor(log([[0, 0]], 12), { leaderEpoch: 0, endOffset: 20 })).toEqual({ offset: 12, complete: true });
  });

  it('asks again when the follower lacks the epoch the leader answered with', () => {
    // Follower has epochs 0 and 3 (3 unknown to the leader, which answers its epoch 2 ending at 40).
    const f = log([[0, 0], [3, 30]], 50);
    expect(truncationFor(f, { leaderEpoch: 2, endOffset: 40 })).toEqual({ offset: 30, complete: false });
  });

  it('falls back to the high watermark when the leader cannot say', () => {
    expect(truncationFor(log([[1, 0]], 30, 12), { leaderEpoch: -1, endOffset: -1 })).toEqual({ offset: 12, complete: true });
    // Leader knows no epoch but an end offset (an older leader's empty cache): its end.
    expect(truncationFor(log([[1, 0]], 30, 12), { leaderEpoch: -1, endOffset: 25 })).toEqual({ offset: 25, complete: true });
    // Leader answers an epoch older than anything the follower has: where the follower's first epoch starts.
    expect(truncationFor(log([[5, 10]], 30, 14), { leaderEpoch: 2, endOffset: 10 })).toEqual({ offset: 10, complete: true });
  });
});
