import { assert } from '@fluxo/common';

/** Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET (OffsetForLeaderEpoch answers for an unknown epoch). */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  readonly epoch: number;
  /** First offset written in this epoch. */
  readonly startOffset: number;
}

export interface EpochEndOffset {
  readonly leaderEpoch: number;
  readonly endOffset: number;
}

/**
 * Kafka's LeaderEpochFileCache, in memory: the start offset of every leader epoch in the log, both strictly
 * increasing. The log persists it (leader-epoch-checkpoint) whenever `dirty` is set by a change. A handful of
 * entries per partition (one per leader change that wrote data), so arrays and linear scans from the end.
 */
export class LeaderEpochCache {
  private entries: EpochEntry[];
  /** Set by every change; the log clears it once the checkpoint file holds the change. */
  dirty = false;

  constructor(entries: readonly EpochEntry[] = []) {
    for (let i = 1; i < entries.length; i++) {
      assert(entries[i]!.epoch > entries[i - 1]!.epoch && entries[i]!.startOffset > entries[i - 1]!.startOffset, 'epoch entries must strictly increase');
    }
    this.entries = [...entries];
  }

  get all(): readonly EpochEntry[] {
    return this.entries;
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** Latest epoch, or UNDEFINED_EPOCH when empty. */
  get latestEpoch(): number {
    return this.entries.length === 0 ? UNDEFINED_EPOCH : this.entries[this.entries.length - 1]!.epoch;
  }

  /** Start offset of the latest epoch, or -1 when empty. */
  get latestStartOffset(): number {
    return this.entries.length === 0 ? -1 : this.entries[this.entries.length - 1]!.startOffset;
  }

  /**
   * Records that `epoch` starts at `startOffset` (Kafka's assign): a no-op for the latest epoch at the same or a
   * later start; otherwise entries that would break monotonicity (epoch >= epoch or start >= startOffset) go
   * first. Returns whether anything changed.
   */
  assign(epoch: number, startOffset: number): boolean {
    assert(epoch >= 0 && startOffset >= 0, `epoch entry (${epoch}, ${startOffset})`);
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && last.epoch === epoch && startOffset >= last.startOffset) return false;
    let keep = this.entries.length;
    while (keep > 0 && (this.entries[keep - 1]!.epoch >= epoch || this.entries[keep - 1]!.startOffset >= startOffset)) keep--;
    this.entries = [...this.entries.slice(0, keep), { epoch, startOffset }];
    this.dirty = true;
    return true;
  }

  /**
   * Kafka's OffsetForLeaderEpoch answer for `requestedEpoch`, given the log end offset: the largest epoch
   * <= requestedEpoch this log has, and the offset where the next epoch starts (the log end for the latest
   * epoch). A requested epoch older than every entry answers (requestedEpoch, start of the first entry); one
   * newer than every entry, or an empty cache, answers (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const n = this.entries.length;
    if (requestedEpoch === UNDEFINED_EPOCH || n === 0) return { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (this.entries[n - 1]!.epoch === requestedEpoch) return { leaderEpoch: requestedEpoch, endOffset: logEndOffset };
    // The first entry with a higher epoch.
    let higher = n;
    while (higher > 0 && this.entries[higher - 1]!.epoch > requestedEpoch) higher--;
    if (higher === n) {
      // Requested epoch is newer than anything here (and not the latest).
      return { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    }
    const next = this.entries[higher]!;
    if (higher === 0) return { leaderEpoch: requestedEpoch, endOffset: next.startOffset };
    return { leaderEpoch: this.entries[higher - 1]!.epoch, endOffset: next.startOffset };
  }

  /** Epoch of the batch holding `offset` (the latest entry starting at or before it), or UNDEFINED_EPOCH. */
  epochForOffset(offset: number): number {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.startOffset <= offset) return this.entries[i]!.epoch;
    return UNDEFINED_EPOCH;
  }

  /** Log truncated to `endOffset`: entries starting at or after it go (Kafka's truncateFromEnd). */
  truncateFromEnd(endOffset: number): void {
    let keep = this.entries.length;
    while (keep > 0 && this.entries[keep - 1]!.startOffset >= endOffset) keep--;
    if (keep === this.entries.length) return;
    this.entries = this.entries.slice(0, keep);
    this.dirty = true;
  }

  /**
   * Log start moved to `startOffset`: entries wholly before it go, and the one covering it now starts there
   * (Kafka's truncateFromStart).
   */
  truncateFromStart(startOffset: number): void {
    let covering = -1;
    for (let i = 0; i < this.entries.length && this.entries[i]!.startOffset <= startOffset; i++) covering = i;
    if (covering < 0 || (covering === 0 && this.entries[0]!.startOffset === startOffset)) return;
    const first = { epoch: this.entries[covering]!.epoch, startOffset };
    this.entries = [first, ...this.entries.slice(covering + 1)];
    this.dirty = true;
  }

  clear(): void {
    if (this.entries.length === 0) return;
    this.entries = [];
    this.dirty = true;
  }
}
