import type { TopicPartition } from '../topic-partition.js';

/**
 * Kafka's RebalanceProtocol: EAGER members give up every partition before rejoining; COOPERATIVE members keep
 * theirs and give up only the ones the new assignment moves away (KIP-429), with a second rebalance.
 */
export type RebalanceProtocol = 'eager' | 'cooperative';

/** One member's ConsumerProtocolSubscription as the group leader sees it in the JoinGroup response. */
export interface MemberSubscription {
  memberId: string;
  groupInstanceId: string | null;
  topics: string[];
  userData: Buffer | null;
  /** Partitions the member owns now (cooperative members; eager members send none). */
  ownedPartitions: TopicPartition[];
  /** Generation in which it owned them; -1 when unknown (subscription v0/v1). */
  generationId: number;
  rackId: string | null;
}

export interface GroupAssignmentInput {
  members: readonly MemberSubscription[];
  /** Partition count of every subscribed topic that exists; topics missing here are not assigned. */
  partitionsPerTopic: ReadonlyMap<string, number>;
}

/** memberId -> the partitions it gets; every member of the input has an entry (possibly empty). */
export type GroupAssignment = Map<string, TopicPartition[]>;

/** Kafka's ConsumerPartitionAssignor: runs on the group leader only; its name is the JoinGroup protocol name. */
export interface PartitionAssignor {
  readonly name: string;
  /** Protocols it supports; the consumer uses cooperative only if every configured assignor supports it. */
  readonly supportedProtocols: readonly RebalanceProtocol[];
  assign(input: GroupAssignmentInput): GroupAssignment;
}

/** Kafka's MemberInfo order: static members (by instance id) first, then dynamic members by member id. */
export function compareMembers(a: MemberSubscription, b: MemberSubscription): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) return cmp(a.groupInstanceId, b.groupInstanceId) || cmp(a.memberId, b.memberId);
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return cmp(a.memberId, b.memberId);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function emptyAssignment(members: readonly MemberSubscription[]): GroupAssignment {
  return new Map(members.map((m) => [m.memberId, []]));
}
