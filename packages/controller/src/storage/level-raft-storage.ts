import { Level } from 'level';
import { CorruptDataError, assert, type Logger } from '@fluxo/common';
import {
  CompactedError,
  StorageRangeError,
  entrySizeBytes,
  type ConfState,
  type Entry,
  type HardState,
  type RaftStorage,
  type Snapshot,
} from '@fluxo/raft';
import {
  COMPACTION_KEY,
  ENTRY_PREFIX,
  HARD_STATE_KEY,
  SNAPSHOT_KEY,
  decodeCompactionPoint,
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  encodeCompactionPoint,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
  entryKey,
  indexOfEntryKey,
} from './storage-codec.js';

const EMPTY = new Uint8Array(0);

/** What the host persists from one Ready (step 1 of the host loop). */
export interface PersistWork {
  readonly snapshot?: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly hardState?: HardState | undefined;
}

type Db = Level<Buffer, Buffer>;

/**
 * RaftStorage on LevelDB. Raft reads synchronously, so the log between the compaction point and the last
 * index is also held in memory (the metadata log is small and compacted after every snapshot). Every write
 * is one LevelDB batch with `sync: true`: when persist() resolves, the snapshot, entries and hard state of
 * the Ready are on disk together, so the host may send its messages.
 *
 * open() verifies everything it loads (checksums, contiguous indexes, terms never decreasing, commit
 * within the log) and throws CorruptDataError rather than start with a log that silently lost committed
 * entries.
 */
export class LevelRaftStorage implements RaftStorage {
  private writing = false;

  private constructor(
    private readonly db: Db,
    private readonly location: string,
    private hardState: HardState,
    private snap: Snapshot,
    /** ents[0] is a dummy at the compaction point: term(firstIndex-1) answers from it. */
    private ents: Entry[],
  ) {}

  static async open(location: string, logger: Logger): Promise<LevelRaftStorage> {
    const db: Db = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (err) {
      throw new CorruptDataError(`raft log ${location}: cannot open LevelDB: ${(err as Error).message}`, { cause: err });
    }
    try {
      const storage = await LevelRaftStorage.load(db, location);
      logger.info(
        { location, firstIndex: storage.firstIndex(), lastIndex: storage.lastIndex(), snapshotIndex: storage.snap.index, hardState: storage.hardState },
        'raft log loaded',
      );
      return storage;
    } catch (err) {
      await db.close().catch(() => undefined);
      if (err instanceof CorruptDataError) {
        throw new CorruptDataError(`raft log ${location} is corrupt, refusing to start (committed metadata may be at stake): ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  private static async load(db: Db, location: string): Promise<LevelRaftStorage> {
    const [hsValue, snapValue, compactionValue] = await db.getMany([HARD_STATE_KEY, SNAPSHOT_KEY, COMPACTION_KEY]);
    const hardState = hsValue === undefined ? { term: 0, vote: null, commit: 0 } : decodeHardState(hsValue);
    const snap: Snapshot = snapValue === undefined ? { index: 0, term: 0, confState: { voters: [] }, data: EMPTY } : decodeSnapshot(snapValue);
    const compaction = compactionValue === undefined ? { index: 0, term: 0 } : decodeCompactionPoint(compactionValue);
    const ents: Entry[] = [{ index: compaction.index, term: compaction.term, type: 'normal', data: EMPTY }];
    let prev = ents[0] as Entry;
    for await (const [key, value] of db.iterator({ gte: Buffer.from([ENTRY_PREFIX]), lt: Buffer.from([ENTRY_PREFIX + 1]) })) {
      const index = indexOfEntryKey(key);
      if (index <= compaction.index) throw new CorruptDataError(`entry ${index} is at or before the compaction point ${compaction.index}`);
      if (index !== prev.index + 1) throw new CorruptDataError(`entries jump from ${prev.index} to ${index}: entries ${prev.index + 1}..${index - 1} are missing`);
      const entry = decodeEntry(value, index);
      if (entry.term < prev.term) throw new CorruptDataError(`entry ${index} has term ${entry.term} below the term ${prev.term} of entry ${prev.index}`);
      ents.push(entry);
      prev = entry;
    }
    const lastIndex = prev.index;
    if (snap.index < compaction.index) throw new CorruptDataError(`snapshot ${snap.index} is older than the compaction point ${compaction.index}`);
    if (snap.index > lastIndex) throw new CorruptDataError(`snapshot ${snap.index} is past the last entry ${lastIndex}`);
    const snapEntry = ents[snap.index - compaction.index] as Entry;
    if (snap.index > 0 && snapEntry.term !== snap.term) {
      throw new CorruptDataError(`snapshot at ${snap.index} has term ${snap.term} but the log has term ${snapEntry.term} there`);
    }
    if (hardState.commit > lastIndex) {
      throw new CorruptDataError(`hard state commit ${hardState.commit} is past the last entry ${lastIndex}: committed entries are missing`);
    }
    if (prev.term > hardState.term) throw new CorruptDataError(`last entry term ${prev.term} is above the hard state term ${hardState.term}`);
    return new LevelRaftStorage(db, location, hardState, snap, ents);
  }

  // ---- RaftStorage (read side) ----------------------------------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState; confIndex: number } {
    return { hardState: this.hardState, confState: this.snap.confState, confIndex: this.snap.index };
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

  hardStateNow(): HardState {
    return this.hardState;
  }

  // ---- write side (the host loop calls these one at a time) ------------------------------------------

  /** Step 1 of the host loop: snapshot (replaces the log), entries (replace a suffix), hard state; one fsync. */
  async persist(work: PersistWork): Promise<void> {
    if (work.snapshot === undefined && work.entries.length === 0 && work.hardState === undefined) return;
    this.beginWrite();
    try {
      const batch = this.db.batch();
      let snap = this.snap;
      let ents = this.ents;
      let hardState = work.hardState ?? this.hardState;
      if (work.snapshot !== undefined) {
        const s = work.snapshot;
        if (s.index <= snap.index) throw new StorageRangeError(`snapshot at ${s.index} is not newer than ${snap.index}`);
        for (let i = this.firstIndex(); i <= this.lastIndex(); i++) batch.del(entryKey(i));
        batch.put(SNAPSHOT_KEY, encodeSnapshot(s));
        batch.put(COMPACTION_KEY, encodeCompactionPoint(s.index, s.term));
        snap = s;
        ents = [{ index: s.index, term: s.term, type: 'normal', data: EMPTY }];
        if (hardState.commit < s.index) hardState = { ...hardState, commit: s.index };
      }
      if (work.entries.length > 0) ents = this.appendTo(batch, ents, work.entries);
      if (work.hardState !== undefined || hardState !== this.hardState) batch.put(HARD_STATE_KEY, encodeHardState(hardState));
      await batch.write({ sync: true });
      this.snap = snap;
      this.ents = ents;
      this.hardState = hardState;
    } finally {
      this.writing = false;
    }
  }

  /**
   * Records an application snapshot at `index` (<= applied) and drops entries up to `index - keepEntries`
   * (kept for followers slightly behind, who then need no snapshot). One synced batch.
   */
  async createSnapshot(index: number, confState: ConfState, data: Uint8Array, keepEntries: number): Promise<Snapshot> {
    if (index <= this.snap.index) throw new StorageRangeError(`snapshot at ${index} is not newer than ${this.snap.index}`);
    if (index > this.lastIndex()) throw new StorageRangeError(`snapshot at ${index} is past last index ${this.lastIndex()}`);
    assert(keepEntries >= 0, 'keepEntries must not be negative');
    this.beginWrite();
    try {
      const snap: Snapshot = { index, term: this.term(index), confState: { voters: [...confState.voters] }, data };
      const batch = this.db.batch();
      batch.put(SNAPSHOT_KEY, encodeSnapshot(snap));
      const compactTo = Math.min(index, Math.max(this.offset(), index - keepEntries));
      const offset = this.offset();
      let ents = this.ents;
      if (compactTo > offset) {
        for (let i = offset + 1; i <= compactTo; i++) batch.del(entryKey(i));
        const dummy = ents[compactTo - offset] as Entry;
        batch.put(COMPACTION_KEY, encodeCompactionPoint(dummy.index, dummy.term));
        ents = [{ index: dummy.index, term: dummy.term, type: 'normal', data: EMPTY }, ...ents.slice(compactTo - offset + 1)];
      }
      await batch.write({ sync: true });
      this.snap = snap;
      this.ents = ents;
      return snap;
    } finally {
      this.writing = false;
    }
  }

  async close(): Promise<void> {
    assert(!this.writing, `raft log ${this.location} closed during a write`);
    await this.db.close();
  }

  private appendTo(batch: ReturnType<Db['batch']>, ents: Entry[], entries: readonly Entry[]): Entry[] {
    const first = (entries[0] as Entry).index;
    for (let i = 1; i < entries.length; i++) assert((entries[i] as Entry).index === first + i, 'append: entries not contiguous');
    const offset = (ents[0] as Entry).index;
    const lastIndex = offset + ents.length - 1;
    const skip = Math.max(0, offset + 1 - first);
    if (skip >= entries.length) return ents;
    const start = first + skip;
    if (start > lastIndex + 1) throw new StorageRangeError(`append at ${start} leaves a gap after ${lastIndex}`);
    const newLast = first + entries.length - 1;
    for (let i = newLast + 1; i <= lastIndex; i++) batch.del(entryKey(i));
    const next = ents.slice(0, start - offset);
    for (let i = skip; i < entries.length; i++) {
      const e = entries[i] as Entry;
      batch.put(entryKey(e.index), encodeEntry(e));
      next.push(e);
    }
    return next;
  }

  private beginWrite(): void {
    assert(!this.writing, 'raft storage writes must not overlap');
    this.writing = true;
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }
}
