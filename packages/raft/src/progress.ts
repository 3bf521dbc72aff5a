import { assert } from '@fluxo/common';

/**
 * The leader's view of one follower (etcd's Progress): probe sends one append at a time until the follower's
 * position is known; replicate streams appends optimistically up to maxInflightMsgs unacknowledged; snapshot
 * waits for an InstallSnapshot to land.
 */
export class Progress {
  match = 0;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot' = 'probe';
  /** Probe: an append is outstanding; wait for its answer (or a heartbeat response) before the next one. */
  probeSent = false;
  /** Snapshot state: the snapshot index sent, and ticks since (resent after an election timeout). */
  pendingSnapshot = 0;
  snapshotTicks = 0;
  /** For check-quorum: heard from since the last check. */
  recentActive = false;
  /** Last indexes of in-flight appends, oldest first (replicate state). */
  private inflights: number[] = [];

  constructor(
    next: number,
    private readonly maxInflightMsgs: number,
  ) {
    this.next = next;
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    else this.next = this.match + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights = [];
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflights = [];
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = snapshotIndex;
    this.snapshotTicks = 0;
    this.inflights = [];
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.length >= this.maxInflightMsgs;
      case 'snapshot':
        return true;
    }
  }

  /** An append with entries up to lastIndex was sent. */
  sentEntries(lastIndex: number, count: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.push(lastIndex);
        assert(this.inflights.length <= this.maxInflightMsgs, 'inflight window overflow');
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** A heartbeat answered while the window is full: appends were probably lost, let one more through. */
  freeFirstInflight(): void {
    this.inflights.shift();
  }

  /** Successful append response up to `index`; false if it is stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    while (this.inflights.length > 0 && (this.inflights[0] as number) <= index) this.inflights.shift();
    return updated;
  }

  /**
   * Rejected append at prevLogIndex `rejected`; `hintNext` is where the conflict hint says to resume.
   * False when the rejection is stale.
   */
  maybeDecrTo(rejected: number, hintNext: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.becomeProbe();
      this.next = Math.max(this.match + 1, Math.min(hintNext, rejected));
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(this.match + 1, Math.min(hintNext, rejected));
    this.probeSent = false;
    return true;
  }
}
