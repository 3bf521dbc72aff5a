import type { Logger, Registry } from '@fluxo/common';
import type { GroupCoordinatorConfig } from './group-config.js';
import type { GroupState, Protocol } from './group.js';
import type { OffsetsTopic } from './offsets-log.js';
import type { Scheduler } from './scheduler.js';

// The group coordinator's request and result shapes, independent of wire versions (the handlers map them).

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface GroupCoordinatorOptions {
  readonly config: GroupCoordinatorConfig;
  /** __consumer_offsets (created on first use). */
  readonly topic: OffsetsTopic;
  /** Partition count of a topic this node hosts, undefined if unknown (commits to it are refused). */
  readonly topicPartitions: (topic: string) => number | undefined;
  readonly logger: Logger;
  readonly registry?: Registry;
  /**
   * High watermark of a partition this node hosts (undefined if it does not): with a registry, consumer group
   * lag (fluxo_consumergroup_lag) is reported for the partitions it answers.
   */
  readonly highWatermark?: (topic: string, partition: number) => number | undefined;
  readonly scheduler?: Scheduler;
}

export interface JoinGroupParams {
  readonly groupId: string;
  /** '' for a member joining for the first time. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED with its id, then rejoins with it. */
  readonly requireKnownMemberId: boolean;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly Protocol[];
}

export interface SyncGroupParams {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** v5+: must match the group's when set. */
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Buffer }[];
}

export interface MemberIdentity {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface OffsetCommitEntry {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface OffsetCommitParams {
  readonly groupId: string;
  /** -1: a consumer that assigns partitions itself (no group membership). */
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** OffsetCommit v2-v4 retention time; -1 = broker default (offsets.retention.minutes). */
  readonly retentionTimeMs: number;
  readonly offsets: readonly OffsetCommitEntry[];
}

export interface FetchedOffset {
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  readonly errorCode: number;
}

export interface GroupDescription {
  readonly errorCode: number;
  readonly groupId: string;
  readonly state: GroupState;
  readonly protocolType: string;
  readonly protocolData: string;
  readonly members: readonly {
    readonly memberId: string;
    readonly groupInstanceId: string | null;
    readonly clientId: string;
    readonly clientHost: string;
    readonly metadata: Buffer;
    readonly assignment: Buffer;
  }[];
}
