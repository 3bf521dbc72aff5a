import { ErrorCode, FluxoError } from '@fluxo/common';
import type { NodeId } from './types.js';

export type ProposalDropReason = 'notLeader' | 'leaderTransferInProgress' | 'confChangePending' | 'tooManyUncommittedBytes';

/** A proposal the node refused; nothing was appended. `leaderId` is the leader this node knows of, if any. */
export class ProposalDroppedError extends FluxoError {
  override readonly name: string = 'ProposalDroppedError';
  constructor(
    readonly reason: ProposalDropReason,
    readonly leaderId: NodeId | null,
  ) {
    super(
      `raft proposal dropped: ${reason}`,
      reason === 'notLeader' || reason === 'leaderTransferInProgress'
        ? ErrorCode.NOT_LEADER_OR_FOLLOWER
        : ErrorCode.REQUEST_TIMED_OUT,
    );
  }
}

/** A membership change that cannot apply to the current configuration (add an existing voter, ...). */
export class InvalidConfChangeError extends FluxoError {
  override readonly name: string = 'InvalidConfChangeError';
  constructor(message: string) {
    super(message, ErrorCode.INVALID_REQUEST);
  }
}

/** Storage asked for an index before its first index (compacted away). */
export class CompactedError extends FluxoError {
  override readonly name: string = 'CompactedError';
}

/** Storage asked for an index past its last index, or a snapshot older than the current one. */
export class StorageRangeError extends FluxoError {
  override readonly name: string = 'StorageRangeError';
}
