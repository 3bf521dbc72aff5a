import { assert } from '@fluxo/common';
import { CompactedError, StorageRangeError } from './errors.js';
import type { RaftStorage } from './storage.js';
import { entrySizeBytes, type ConfState, type Entry, type HardState, type Snapshot } from './types.js';

const EMPTY = new Uint8Array(0);

/**
 * In-memory RaftStorage with the write side a host needs (append, applySnapshot, setHardState,
 * createSnapshot, compact). Used by tests and the simulator as the "disk", and by hosts that keep a copy
 * of the log in memory in front of their durable store.
 */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState = { term: 0, vote: null, commit: 0 };
  private snap: Snapshot = { index: 0, term: 0, confState: { voters: [] }, data: EMPTY };
  /** ents[0] is a dummy at the compaction point (its index and term are what term(firstIndex-1) returns). */
  private ents: Entry[] = [{ index: 0, term: 0, type: 'normal', data: EMPTY }];

  /**
   * A storage holding state loaded from a durable store: `entries` follow the compaction point (index and
   * term of the last compacted entry) contiguously. The loader validates; this only asserts the shape.
   */
  static restore(state: { hardState: HardState; snapshot: Snapshot; compaction: { index: number; term: number }; entries: readonly Entry[] }): MemoryStorage {
    const m = new MemoryStorage();
    m.hardState = state.hardState;
    m.snap = state.snapshot;
    m.ents = [{ index: state.compaction.index, term: state.compaction.term, type: 'normal', data: EMPTY }];
    for (const e of state.entries) {
      assert(e.index === m.lastIndex() + 1, `restore: entry ${e.index} does not follow ${m.lastIndex()}`);
      m.ents.push(e);
    }
    return m;
  }

  /** Index and term of the last compacted entry (what term(firstIndex - 1) returns). */
  compactionPoint(): { index: number; term: number } {
    const dummy = this.ents[0] as Entry;
    return { index: dummy.index, term: dummy.term };
  }

  initialState(): { hardState: HardState; confState: ConfState; confIndex: number } {
    return { hardState: this.hardState, confState: this.snap.confState, confIndex: this.snap.index };
  }

  hardStateNow(): HardState {
    return this.hardState;
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(index: number): number {
    const offset = this.offset();
    if (index < offset) throw new CompactedError(`term(${index}): compacted up to ${offset}`);
    if (index > this.lastIndex()) throw new StorageRangeError(`term(${index}): last index is ${this.lastIndex()}`);
    return (this.ents[index - offset] as Entry).term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError(`entries(${lo}): compacted up to ${offset}`);
    if (hi > this.lastIndex() + 1) throw new StorageRangeError(`entries(.., ${hi}): last index is ${this.lastIndex()}`);
    const out: Entry[] = [];
    let sizeBytes = 0;
    for (let i = lo; i < hi; i++) {
      const entry = this.ents[i - offset] as Entry;
      sizeBytes += entrySizeBytes(entry);
      if (out.length > 0 && sizeBytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /**
   * What append(entries) would change, without changing anything: `skip` leading entries are already
   * compacted away, the rest replace the log from their first index on; null when nothing would be written.
   * Throws on entries that are not contiguous or would leave a gap. Durable hosts use it to plan their write.
   */
  planAppend(entries: readonly Entry[]): { skip: number; firstIndex: number; lastIndex: number } | null {
    if (entries.length === 0) return null;
    const first = (entries[0] as Entry).index;
    for (let i = 1; i < entries.length; i++) assert((entries[i] as Entry).index === first + i, 'append: entries not contiguous');
    const skip = Math.max(0, this.offset() + 1 - first);
    if (skip >= entries.length) return null;
    const start = first + skip;
    if (start > this.lastIndex() + 1) throw new StorageRangeError(`append at ${start} leaves a gap after ${this.lastIndex()}`);
    return { skip, firstIndex: start, lastIndex: first + entries.length - 1 };
  }

  /** Appends entries, replacing any existing suffix from entries[0].index on. Entries before firstIndex are skipped. */
  append(entries: readonly Entry[]): void {
    const plan = this.planAppend(entries);
    if (plan === null) return;
    this.ents.length = plan.firstIndex - this.offset();
    for (let i = plan.skip; i < entries.length; i++) this.ents.push(entries[i] as Entry);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.index <= this.snap.index) {
      throw new StorageRangeError(`snapshot at ${snapshot.index} is not newer than ${this.snap.index}`);
    }
    this.snap = snapshot;
    this.ents = [{ index: snapshot.index, term: snapshot.term, type: 'normal', data: EMPTY }];
    if (this.hardState.commit < snapshot.index) this.hardState = { ...this.hardState, commit: snapshot.index };
  }

  /**
   * Records an application snapshot at `index` (<= applied index, so <= lastIndex) with the membership in
   * effect at `index`. Does not compact; call compact() to drop entries, keeping some for slow followers.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.index) throw new StorageRangeError(`snapshot at ${index} is not newer than ${this.snap.index}`);
    if (index > this.lastIndex()) throw new StorageRangeError(`snapshot at ${index} is past last index ${this.lastIndex()}`);
    this.snap = { index, term: this.term(index), confState: { voters: [...confState.voters] }, data };
    return this.snap;
  }

  /** Drops entries up to and including `index`, which must not pass the latest snapshot. */
  compact(index: number): void {
    const offset = this.offset();
    if (index <= offset) return;
    if (index > this.snap.index) throw new StorageRangeError(`compact(${index}) past snapshot at ${this.snap.index}`);
    const dummy = this.ents[index - offset] as Entry;
    this.ents = [{ index: dummy.index, term: dummy.term, type: 'normal', data: EMPTY }, ...this.ents.slice(index - offset + 1)];
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }
}
