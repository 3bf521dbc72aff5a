import { assert } from '@fluxo/common';
import type { RaftStorage } from './storage.js';
import { entrySizeBytes, type Entry, type Snapshot } from './types.js';

/**
 * The node's view of its log: what the host persisted (storage) plus what it has not persisted yet
 * (`unstable`: entries from `offset` on, or a snapshot received from the leader).
 */
export class RaftLog {
  unstableSnapshot: Snapshot | null = null;
  unstableEntries: Entry[] = [];
  /** Index of unstableEntries[0]. */
  private offset: number;
  committed: number;
  applied: number;

  constructor(
    private readonly storage: RaftStorage,
    committed: number,
    applied: number,
  ) {
    this.offset = storage.lastIndex() + 1;
    this.committed = committed;
    this.applied = applied;
    assert(applied >= storage.firstIndex() - 1 && applied <= committed, `applied ${applied} out of range`);
    assert(committed <= storage.lastIndex(), `persisted commit ${committed} past persisted last index`);
  }

  firstIndex(): number {
    return this.unstableSnapshot !== null ? this.unstableSnapshot.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstableEntries.length > 0) return this.offset + this.unstableEntries.length - 1;
    if (this.unstableSnapshot !== null) return this.unstableSnapshot.index;
    return this.storage.lastIndex();
  }

  /** Last index the host has made durable (the leader counts only this for itself when committing). */
  stableLastIndex(): number {
    if (this.unstableSnapshot !== null) return 0; // the persisted log is about to be replaced
    return this.unstableEntries.length > 0 ? this.offset - 1 : this.storage.lastIndex();
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, 'last term unknown');
    return t;
  }

  /** Term at `index`, or undefined when compacted away or past the end. */
  term(index: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (index < dummy || index > this.lastIndex()) return undefined;
    if (this.unstableSnapshot !== null && index === this.unstableSnapshot.index) return this.unstableSnapshot.term;
    if (index >= this.offset && this.unstableEntries.length > 0) return (this.unstableEntries[index - this.offset] as Entry).term;
    assert(this.unstableSnapshot === null, 'index before unstable snapshot');
    return this.storage.term(index);
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Entries [lo, hi), at least one, at most maxBytes otherwise. Requires firstIndex() <= lo. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1, `entries(${lo}, ${hi}) out of range`);
    if (lo >= hi) return [];
    let out: Entry[] = [];
    if (lo < this.offset) {
      out = this.storage.entries(lo, Math.min(hi, this.offset), maxBytes);
      if (out.length < Math.min(hi, this.offset) - lo) return out; // hit the byte limit
    }
    if (hi > this.offset) {
      let sizeBytes = 0;
      for (const e of out) sizeBytes += entrySizeBytes(e);
      for (let i = Math.max(lo, this.offset); i < hi; i++) {
        const entry = this.unstableEntries[i - this.offset] as Entry;
        sizeBytes += entrySizeBytes(entry);
        if (out.length > 0 && sizeBytes > maxBytes) break;
        out.push(entry);
      }
    }
    return out;
  }

  /** Appends entries, truncating a conflicting unstable or stable suffix. Never touches committed entries. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    assert(first > this.committed, `append at ${first} would overwrite committed ${this.committed}`);
    assert(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`);
    if (first === this.offset + this.unstableEntries.length) {
      for (const e of entries) this.unstableEntries.push(e);
    } else if (first <= this.offset) {
      this.offset = first;
      this.unstableEntries = [...entries];
    } else {
      this.unstableEntries = this.unstableEntries.slice(0, first - this.offset).concat(entries);
    }
  }

  /**
   * Index of the first entry of `entries` that is not already in the log (conflicting term or past the end),
   * or 0 if all are present.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /** Largest index <= hi (and >= firstIndex()-1) whose term is <= term: terms never decrease along the log. */
  lastIndexWithTermAtMost(hi: number, term: number): number {
    let lo = this.firstIndex() - 1;
    hi = Math.min(hi, this.lastIndex());
    if (hi < lo) return lo;
    if ((this.term(hi) as number) <= term) return hi;
    if ((this.term(lo) as number) > term) return lo;
    // invariant: term(lo) <= term < term(hi)
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if ((this.term(mid) as number) <= term) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** Smallest index in [lo, hi] whose term is >= term (hi must have term >= term). */
  firstIndexWithTermAtLeast(lo: number, hi: number, term: number): number {
    lo = Math.max(lo, this.firstIndex());
    if (lo >= hi) return hi;
    if ((this.term(lo) as number) >= term) return lo;
    // invariant: term(lo) < term <= term(hi)
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if ((this.term(mid) as number) >= term) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} past last index ${this.lastIndex()}`);
    this.committed = index;
  }

  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Replaces the log with a snapshot from the leader (not yet persisted). */
  restore(snapshot: Snapshot): void {
    assert(snapshot.index > this.committed, 'restore of a snapshot not past commit');
    this.unstableSnapshot = snapshot;
    this.unstableEntries = [];
    this.offset = snapshot.index + 1;
    this.committed = snapshot.index;
  }

  /** The host persisted entries up to (index, term): drop them from unstable if they are still there. */
  stableTo(index: number, term: number): void {
    if (index < this.offset || this.unstableEntries.length === 0) return;
    const pos = index - this.offset;
    if (pos >= this.unstableEntries.length) return;
    if ((this.unstableEntries[pos] as Entry).term !== term) return; // replaced meanwhile
    this.unstableEntries = this.unstableEntries.slice(pos + 1);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.unstableSnapshot !== null && this.unstableSnapshot.index === index) this.unstableSnapshot = null;
  }

  /** Committed entries not yet handed to the host, up to maxBytes (at least one). */
  nextCommittedEntries(maxBytes: number): Entry[] {
    if (this.unstableSnapshot !== null) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (lo > this.committed) return [];
    return this.entries(lo, this.committed + 1, maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    return this.unstableSnapshot === null && this.committed > this.applied;
  }
}
