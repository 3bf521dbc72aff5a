import { Level } from 'level';
import { CorruptDataError, assert, type Logger } from '@fluxo/common';
import {
  MemoryStorage,
  StorageRangeError,
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
 * index is also held in memory: a MemoryStorage that answers every read and is changed only after the
 * matching LevelDB batch is durable (the metadata log is small and compacted after every snapshot). Every
 * write is one LevelDB batch with `sync: true`: when persist() resolves, the snapshot, entries and hard state
 * of the Ready are on disk together, so the host may send its messages.
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
    /** The durable state, in memory: written only after LevelDB has it. */
    private readonly mem: MemoryStorage,
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
        { location, firstIndex: storage.firstIndex(), lastIndex: storage.lastIndex(), snapshotIndex: storage.snapshot().index, hardState: storage.hardStateNow() },
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
    return new LevelRaftStorage(db, location, MemoryStorage.restore({ hardState, snapshot: snap, compaction, entries: ents.slice(1) }));
  }

  // ---- RaftStorage (read side): answered by the in-memory copy -------------------------------------

  initialState(): { hardState: HardState; confState: ConfState; confIndex: number } {
    return this.mem.initialState();
  }
  firstIndex(): number {
    return this.mem.firstIndex();
  }
  lastIndex(): number {
    return this.mem.lastIndex();
  }
  term(index: number): number {
    return this.mem.term(index);
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.mem.entries(lo, hi, maxBytes);
  }
  snapshot(): Snapshot {
    return this.mem.snapshot();
  }
  hardStateNow(): HardState {
    return this.mem.hardStateNow();
  }

  // ---- write side (the host loop calls these one at a time) ------------------------------------------

  /** Step 1 of the host loop: snapshot (replaces the log), entries (replace a suffix), hard state; one fsync. */
  async persist(work: PersistWork): Promise<void> {
    if (work.snapshot === undefined && work.entries.length === 0 && work.hardState === undefined) return;
    this.beginWrite();
    try {
      const batch = this.db.batch();
      let hardState = work.hardState ?? this.mem.hardStateNow();
      // After a snapshot the log is empty from its index on; `lastIndex` tracks what LevelDB holds.
      let lastIndex = this.mem.lastIndex();
      const s = work.snapshot;
      if (s !== undefined) {
        const current = this.mem.snapshot().index;
        if (s.index <= current) throw new StorageRangeError(`snapshot at ${s.index} is not newer than ${current}`);
        for (let i = this.mem.firstIndex(); i <= lastIndex; i++) batch.del(entryKey(i));
        batch.put(SNAPSHOT_KEY, encodeSnapshot(s));
        batch.put(COMPACTION_KEY, encodeCompactionPoint(s.index, s.term));
        lastIndex = s.index;
        if (hardState.commit < s.index) hardState = { ...hardState, commit: s.index };
      }
      // Planned against the log as it will be after the snapshot (the plan only reads indexes).
      const planner = s === undefined ? this.mem : MemoryStorage.restore({ hardState, snapshot: s, compaction: s, entries: [] });
      const plan = planner.planAppend(work.entries);
      if (plan !== null) {
        for (let i = plan.lastIndex + 1; i <= lastIndex; i++) batch.del(entryKey(i));
        for (let i = plan.skip; i < work.entries.length; i++) {
          const e = work.entries[i] as Entry;
          batch.put(entryKey(e.index), encodeEntry(e));
        }
      }
      if (work.hardState !== undefined || hardState !== this.mem.hardStateNow()) batch.put(HARD_STATE_KEY, encodeHardState(hardState));
      await batch.write({ sync: true });
      if (s !== undefined) this.mem.applySnapshot(s);
      this.mem.append(work.entries);
      this.mem.setHardState(hardState);
    } finally {
      this.writing = false;
    }
  }

  /**
   * Records an application snapshot at `index` (<= applied) and drops entries up to `index - keepEntries`
   * (kept for followers slightly behind, who then need no snapshot). One synced batch.
   */
  async createSnapshot(index: number, confState: ConfState, data: Uint8Array, keepEntries: number): Promise<Snapshot> {
    const current = this.mem.snapshot().index;
    if (index <= current) throw new StorageRangeError(`snapshot at ${index} is not newer than ${current}`);
    if (index > this.lastIndex()) throw new StorageRangeError(`snapshot at ${index} is past last index ${this.lastIndex()}`);
    assert(keepEntries >= 0, 'keepEntries must not be negative');
    this.beginWrite();
    try {
      const snap: Snapshot = { index, term: this.term(index), confState: { voters: [...confState.voters] }, data };
      const batch = this.db.batch();
      batch.put(SNAPSHOT_KEY, encodeSnapshot(snap));
      const offset = this.mem.compactionPoint().index;
      const compactTo = Math.min(index, Math.max(offset, index - keepEntries));
      if (compactTo > offset) {
        for (let i = offset + 1; i <= compactTo; i++) batch.del(entryKey(i));
        batch.put(COMPACTION_KEY, encodeCompactionPoint(compactTo, this.term(compactTo)));
      }
      await batch.write({ sync: true });
      this.mem.createSnapshot(index, confState, data);
      this.mem.compact(compactTo);
      return this.mem.snapshot();
    } finally {
      this.writing = false;
    }
  }

  async close(): Promise<void> {
    assert(!this.writing, `raft log ${this.location} closed during a write`);
    await this.db.close();
  }

  private beginWrite(): void {
    assert(!this.writing, 'raft storage writes must not overlap');
    this.writing = true;
  }
}
