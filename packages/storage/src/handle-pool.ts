import { assert } from '@fluxo/common';
import type { LogSegment } from './log-segment.js';

/**
 * Caps how many closed segments keep an open file handle and in-memory indexes (LRU). Active segments are
 * always open and do not count against the cap's eviction (they are skipped). One pool per LogManager.
 */
export class SegmentHandlePool {
  private readonly lru = new Set<LogSegment>();

  constructor(readonly maxOpenSegments: number) {
    assert(maxOpenSegments >= 1, 'maxOpenSegments must be >= 1');
  }

  get openCount(): number {
    return this.lru.size;
  }

  touch(seg: LogSegment): void {
    this.lru.delete(seg);
    this.lru.add(seg);
    if (this.lru.size > this.maxOpenSegments) this.evictSome();
  }

  forget(seg: LogSegment): void {
    this.lru.delete(seg);
  }

  private evictSome(): void {
    let excess = this.lru.size - this.maxOpenSegments;
    for (const seg of this.lru) {
      if (excess <= 0) break;
      if (!seg.evictable) continue;
      this.lru.delete(seg);
      excess--;
      void seg.evict();
    }
  }
}
