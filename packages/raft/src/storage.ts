import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/**
 * What raft reads from the host's durable storage (the read side, like etcd's Storage). The host writes to
 * it while processing a Ready; raft never writes. Implementations live outside the core (MemoryStorage
 * here; the controller's LevelDB storage elsewhere). Indexes are 1-based; index 0 is the empty log.
 *
 * The log held is (firstIndex()-1, lastIndex()]; firstIndex()-1 is the compaction point whose term is still
 * known (term(firstIndex()-1) must answer).
 */
export interface RaftStorage {
  /**
   * The persisted hard state, and the membership as of log index `confIndex` (the latest snapshot's index,
   * 0 for an empty log). Raft replays conf-change entries after confIndex from the log, so
   * firstIndex()-1 <= confIndex <= lastIndex() must hold.
   */
  initialState(): { hardState: HardState; confState: ConfState; confIndex: number };
  /** Entries [lo, hi), at least one if lo < hi, otherwise stopping before maxBytes is exceeded. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry `index`, for firstIndex()-1 <= index <= lastIndex(). */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The latest snapshot, or null when it is being produced (raft retries later). */
  snapshot(): Snapshot | null;
}
