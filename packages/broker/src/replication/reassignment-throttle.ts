import { assert } from '@fluxo/common';

/**
 * Kafka's replication quota for reassignments (`leader.replication.throttled.rate`, bytes/s): a token bucket the
 * leader draws from when it sends log data to a replica that is being added to a partition (the bulk copy of a
 * reassignment), so moving data does not starve producers and in-sync followers. A send may overdraw (Kafka
 * always returns at least one whole batch); later sends wait until the debt is repaid. Rate <= 0: unlimited.
 */
export class ReassignmentThrottle {
  private tokens: number;
  private lastRefillMs: number;

  constructor(
    private readonly rateBytesPerSec: number,
    private readonly nowMs: () => number,
  ) {
    this.tokens = Math.max(0, rateBytesPerSec);
    this.lastRefillMs = nowMs();
  }

  get enabled(): boolean {
    return this.rateBytesPerSec > 0;
  }

  /** Bytes that may be sent now (Infinity when unlimited, 0 while in debt). */
  available(): number {
    if (!this.enabled) return Number.POSITIVE_INFINITY;
    const now = this.nowMs();
    // At most one second of burst.
    this.tokens = Math.min(this.rateBytesPerSec, this.tokens + ((now - this.lastRefillMs) * this.rateBytesPerSec) / 1000);
    this.lastRefillMs = now;
    return Math.max(0, Math.floor(this.tokens));
  }

  /** Records `bytes` sent to a throttled replica. */
  consume(bytes: number): void {
    assert(bytes >= 0, 'negative throttle consumption');
    if (this.enabled) this.tokens -= bytes;
  }
}
