import { assert } from '@fluxo/common';
import type { PartitionLog } from '@fluxo/storage';

/** The single node is leader of every partition, at this epoch (bumped by the replication issue). */
export const LEADER_EPOCH = 0;

/**
 * A partition this node leads: its log plus the high watermark. On a single node an append is committed
 * once durable (per the flush policy), so the high watermark is the end of the last append that resolved.
 * Fetch long polls wait here for it to advance.
 */
export class Partition {
  private hw: number;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly log: PartitionLog,
  ) {
    // Everything recovered at open is on disk: committed.
    this.hw = log.logEndOffset;
  }

  get highWatermark(): number {
    return this.hw;
  }

  /** No transactions yet: everything below the high watermark is stable. */
  get lastStableOffset(): number {
    return this.hw;
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Appends already-validated (CRC-checked) v2 batches; the high watermark moves when the append is durable. */
  async append(batches: Buffer, logAppendTimeMs: number | undefined): Promise<{ baseOffset: number; lastOffset: number; logAppendTimeMs: number; logStartOffset: number }> {
    const result = await this.log.append(batches, logAppendTimeMs === undefined ? { leaderEpoch: LEADER_EPOCH, crcVerified: true } : { leaderEpoch: LEADER_EPOCH, logAppendTimeMs, crcVerified: true });
    this.advanceHighWatermark(result.lastOffset + 1);
    return result;
  }

  private advanceHighWatermark(offset: number): void {
    if (offset <= this.hw) return;
    assert(offset <= this.log.logEndOffset, `high watermark ${offset} beyond log end ${this.log.logEndOffset}`);
    this.hw = offset;
    this.wake();
  }

  /** Calls `wake` once, on the next high-watermark advance (or deletion); returns a cancel function. */
  onAdvance(wake: () => void): () => void {
    if (this.closed) {
      wake();
      return () => undefined;
    }
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  private wake(): void {
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  /** Marks the partition gone (topic deleted / node stopping): wakes waiters so long polls answer. */
  markClosed(): void {
    this.closed = true;
    this.wake();
  }
}
