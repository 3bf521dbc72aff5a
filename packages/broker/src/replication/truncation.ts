import type { EpochEndOffset } from '@fluxo/storage';

/** What a follower's log offers to the truncation decision. */
export interface TruncatableLog {
  readonly logEndOffset: number;
  readonly highWatermark: number;
  endOffsetForEpoch(epoch: number): EpochEndOffset;
}

export interface TruncationDecision {
  /** Truncate to this offset (>= the log end: nothing to drop). */
  readonly offset: number;
  /** false: the follower does not have the epoch the leader answered with; ask again after truncating. */
  readonly complete: boolean;
}

/**
 * Kafka's AbstractFetcherThread.getOffsetTruncationState (KIP-101/279): where a follower truncates given the
 * leader's answer for the follower's latest epoch (OffsetForLeaderEpoch), or the diverging epoch of a fetch.
 * - The leader cannot say (undefined offset): keep what is below the high watermark, like Kafka.
 * - The leader answers an epoch the follower also has: truncate to the smaller of the two end offsets.
 * - The follower lacks that epoch: truncate to where its largest epoch below it ends and ask again.
 */
export function truncationFor(log: TruncatableLog, leader: { readonly leaderEpoch: number; readonly endOffset: number }): TruncationDecision {
  const replicaEnd = log.logEndOffset;
  if (leader.endOffset < 0) return { offset: Math.min(log.highWatermark, replicaEnd), complete: true };
  if (leader.leaderEpoch < 0) return { offset: Math.min(leader.endOffset, replicaEnd), complete: true };
  const mine = log.endOffsetForEpoch(leader.leaderEpoch);
  if (mine.endOffset < 0) return { offset: Math.min(log.highWatermark, replicaEnd), complete: true };
  if (mine.leaderEpoch !== leader.leaderEpoch) return { offset: Math.min(mine.endOffset, replicaEnd), complete: false };
  return { offset: Math.min(mine.endOffset, leader.endOffset, replicaEnd), complete: true };
}
