import { ConfigError } from '@fluxo/common';
import type { RandomSource } from './random.js';
import type { RaftStorage } from './storage.js';
import type { NodeId } from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  /** Randomizes election timeouts; inject a seeded source for determinism. */
  readonly random: RandomSource;
  /**
   * Initial voters of a brand-new cluster, used only until a hard state has been persisted: every initial
   * voter writes the same bootstrap entries (conf changes at term 1, indexes 1..n). Leave empty for a node that joins an existing cluster (it learns the
   * membership from the leader's log or snapshot).
   */
  readonly voters?: readonly NodeId[];
  /** Last index the host's state machine has applied (durably); default: the snapshot index. */
  readonly applied?: number;
  /** Election timeout is randomized in [electionTicks, 2 * electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Pre-vote (dissertation §9.6): a partitioned node does not inflate terms. Default true. */
  readonly preVote?: boolean;
  /** The leader steps down without a quorum of recent contact; followers honour a leader lease. Default true. */
  readonly checkQuorum?: boolean;
  /** Entry bytes per append message (at least one entry is always sent). Default 1 MiB. */
  readonly maxSizePerMsgBytes?: number;
  /** Unacknowledged appends per follower while streaming. Default 256. */
  readonly maxInflightMsgs?: number;
  /** Proposals are refused while this many bytes of the leader's entries are uncommitted. Default 64 MiB. */
  readonly maxUncommittedEntriesBytes?: number;
  /** Committed-entry bytes handed out per Ready. Default 8 MiB. */
  readonly maxCommittedSizePerReadyBytes?: number;
}

export interface ResolvedRaftConfig extends Required<Omit<RaftConfig, 'applied'>> {
  readonly applied: number | undefined;
}

function positiveInt(key: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(key, `must be a positive integer, got ${value}`);
  return value;
}

export function resolveRaftConfig(config: RaftConfig): ResolvedRaftConfig {
  if (!Number.isInteger(config.id) || config.id < 0) throw new ConfigError('raft.id', `must be a non-negative integer, got ${config.id}`);
  const electionTicks = positiveInt('raft.electionTicks', config.electionTicks);
  const heartbeatTicks = positiveInt('raft.heartbeatTicks', config.heartbeatTicks);
  if (heartbeatTicks >= electionTicks) throw new ConfigError('raft.heartbeatTicks', 'must be less than electionTicks');
  return {
    id: config.id,
    storage: config.storage,
    random: config.random,
    voters: config.voters ?? [],
    applied: config.applied,
    electionTicks,
    heartbeatTicks,
    preVote: config.preVote ?? true,
    checkQuorum: config.checkQuorum ?? true,
    maxSizePerMsgBytes: positiveInt('raft.maxSizePerMsgBytes', config.maxSizePerMsgBytes ?? 1024 * 1024),
    maxInflightMsgs: positiveInt('raft.maxInflightMsgs', config.maxInflightMsgs ?? 256),
    maxUncommittedEntriesBytes: positiveInt('raft.maxUncommittedEntriesBytes', config.maxUncommittedEntriesBytes ?? 64 * 1024 * 1024),
    maxCommittedSizePerReadyBytes: positiveInt(
      'raft.maxCommittedSizePerReadyBytes',
      config.maxCommittedSizePerReadyBytes ?? 8 * 1024 * 1024,
    ),
  };
}
