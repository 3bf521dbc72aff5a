/** Raft node id. Any non-negative int32 (Kafka node ids start at 0); `null` means "no node". */
export type NodeId = number;

export type EntryType = 'normal' | 'confChange';

/** One log entry. `data` of a confChange entry is an encoded ConfChange (see conf-change.ts). */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be durable before any message of the same Ready leaves the node. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

/** The voting membership. */
export interface ConfState {
  readonly voters: readonly NodeId[];
}

/** Application state up to and including `index`, plus the membership in effect at `index`. */
export interface Snapshot {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state a host may want to log or publish (e.g. "who is the controller"); never persisted. */
export interface SoftState {
  readonly leaderId: NodeId | null;
  readonly role: Role;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote / pre-vote. A pre-vote carries the term the sender would campaign in (its term + 1). */
export interface VoteRequest extends MessageBase {
  readonly type: 'preVote' | 'vote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Campaign started by TimeoutNow (leadership transfer): voters ignore their leader lease. */
  readonly leaderTransfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: 'preVoteResp' | 'voteResp';
  readonly reject: boolean;
}

export interface AppendRequest extends MessageBase {
  readonly type: 'append';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Success: `index` is the last index now known to match the leader's log.
 * Reject: `index` is the rejected prevLogIndex; conflictTerm/conflictIndex let the leader skip a whole term
 * at once (conflictTerm 0: the follower's log ends before prevLogIndex, conflictIndex = its lastIndex + 1;
 * otherwise the follower's term at prevLogIndex and the first index it holds of that term).
 */
export interface AppendResponse extends MessageBase {
  readonly type: 'appendResp';
  readonly reject: boolean;
  readonly index: number;
  readonly conflictTerm: number;
  readonly conflictIndex: number;
}

/** `commit` is min(leader commit, follower match) so a follower never commits past what it verified. */
export interface HeartbeatRequest extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeatResp';
}

/** InstallSnapshot: sent when the follower needs entries the leader already compacted. */
export interface SnapshotRequest extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** Leadership transfer: the target campaigns immediately, skipping pre-vote. */
export interface TimeoutNowRequest extends MessageBase {
  readonly type: 'timeoutNow';
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNowRequest;

export type MessageType = Message['type'];

/**
 * Work handed to the host. Process it in this order, then call advance(ready):
 * 1. persist `snapshot` (if any), then append `entries` (they may replace a conflicting suffix from
 *    entries[0].index on), then `hardState` — all durably (fsync);
 * 2. send `messages` (only after step 1 is durable);
 * 3. apply `snapshot` to the state machine, then apply `committedEntries` in order.
 */
export interface Ready {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly softState?: SoftState;
}

/** Approximate encoded size of an entry, for byte limits. */
export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + 24;
}
