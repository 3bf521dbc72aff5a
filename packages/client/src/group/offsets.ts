import { ErrorCode, KafkaProtocolError, errorName } from '@fluxo/common';
import { apis } from '@fluxo/protocol';
import { tpKey } from './topic-partition.js';
import type { CoordinatorClient } from './coordinator-client.js';

/** An offset to commit: the next offset to consume (Kafka's commit position), not the last one consumed. */
export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | null;
  /** Leader epoch of the last consumed record, -1 when unknown. */
  leaderEpoch?: number;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** -1 when the group has no committed offset for the partition. */
  offset: number;
  metadata: string | null;
  leaderEpoch: number;
}

/** Who commits: a group member of a generation, or -1 / '' for a consumer outside any generation (assign(), admin). */
export interface CommitIdentity {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export const NO_GENERATION: CommitIdentity = { generationId: -1, memberId: '', groupInstanceId: null };

/** Commit errors that mean this member's generation is over: its partitions must be rejoined for. */
export const REBALANCE_ERROR_CODES = new Set<number>([
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.FENCED_INSTANCE_ID,
]);

/**
 * OffsetCommit to the group's coordinator. Per-partition errors become one KafkaProtocolError (the first
 * code; every failing partition named). Coordinator errors are retried by `coordinator.retry` when `retries`
 * allows; rebalance errors are not (the caller must rejoin).
 */
export async function commitOffsets(
  coordinator: CoordinatorClient,
  identity: CommitIdentity,
  offsets: readonly OffsetToCommit[],
  retries?: number,
): Promise<void> {
  if (offsets.length === 0) return;
  for (const o of offsets) {
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `cannot commit offset ${String(o.offset)} for ${o.topic}-${o.partition}: offsets are non-negative integers`);
    }
  }
  const topics = new Map<string, OffsetToCommit[]>();
  for (const o of offsets) {
    let list = topics.get(o.topic);
    if (!list) topics.set(o.topic, (list = []));
    list.push(o);
  }
  await coordinator.retry(async () => {
    const response = await coordinator.send(apis.OffsetCommit, {
      groupId: coordinator.groupId,
      generationIdOrMemberEpoch: identity.generationId,
      memberId: identity.memberId,
      groupInstanceId: identity.groupInstanceId,
      retentionTimeMs: -1,
      topics: [...topics].map(([name, list]) => ({
        name,
        partitions: list.map((o) => ({
          partitionIndex: o.partition,
          committedOffset: o.offset,
          committedLeaderEpoch: o.leaderEpoch ?? -1,
          commitTimestamp: -1,
          committedMetadata: o.metadata ?? '',
        })),
      })),
    });
    const failures: { what: string; code: number }[] = [];
    for (const t of response.topics) {
      for (const p of t.partitions) if (p.errorCode !== ErrorCode.NONE) failures.push({ what: `${t.name}-${p.partitionIndex}`, code: p.errorCode });
    }
    if (failures.length === 0) return;
    // A coordinator error applies to every partition: throw it alone so that retry() rediscovers.
    const first = failures[0]!;
    throw new KafkaProtocolError(
      first.code,
      `commit of group ${coordinator.groupId} offsets failed for ${failures.map((f) => `${f.what} (${errorName(f.code)})`).join(', ')}`,
    );
  }, retries);
}

/**
 * OffsetFetch: committed offsets of the given partitions (null: every partition the group has offsets for,
 * OffsetFetch v2+). `requireStable` (v7+) waits for pending transactional commits.
 */
export async function fetchCommittedOffsets(
  coordinator: CoordinatorClient,
  partitions: readonly { topic: string; partition: number }[] | null,
  options: { requireStable?: boolean; retries?: number } = {},
): Promise<CommittedOffset[]> {
  if (partitions !== null && partitions.length === 0) return [];
  let topics: { name: string; partitionIndexes: number[] }[] | null = null;
  if (partitions !== null) {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) {
      let list = byTopic.get(p.topic);
      if (!list) byTopic.set(p.topic, (list = []));
      list.push(p.partition);
    }
    topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  }
  return coordinator.retry(async () => {
    const response = await coordinator.send(apis.OffsetFetch, {
      groupId: coordinator.groupId,
      topics,
      requireStable: options.requireStable ?? false,
    });
    const groupError = response.errorCode ?? ErrorCode.NONE;
    if (groupError !== ErrorCode.NONE) {
      throw new KafkaProtocolError(groupError, `fetch of group ${coordinator.groupId} offsets failed (${errorName(groupError)})`);
    }
    const out: CommittedOffset[] = [];
    for (const t of response.topics ?? []) {
      for (const p of t.partitions) {
        if (p.errorCode === ErrorCode.UNSTABLE_OFFSET_COMMIT) {
          throw new KafkaProtocolError(p.errorCode, `group ${coordinator.groupId} has a pending transactional commit for ${t.name}-${p.partitionIndex} (UNSTABLE_OFFSET_COMMIT)`);
        }
        // Kafka answers UNKNOWN_TOPIC_OR_PARTITION for partitions without a commit on old versions: no offset.
        if (p.errorCode !== ErrorCode.NONE && p.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
          throw new KafkaProtocolError(p.errorCode, `fetch of group ${coordinator.groupId} offset for ${t.name}-${p.partitionIndex} failed (${errorName(p.errorCode)})`);
        }
        out.push({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.errorCode === ErrorCode.NONE ? p.committedOffset : -1,
          metadata: p.metadata,
          leaderEpoch: p.committedLeaderEpoch ?? -1,
        });
      }
    }
    if (partitions === null) return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    // In the order asked, one entry per partition asked.
    const found = new Map(out.map((o) => [tpKey(o.topic, o.partition), o]));
    return partitions.map((p) => found.get(tpKey(p.topic, p.partition)) ?? { topic: p.topic, partition: p.partition, offset: -1, metadata: null, leaderEpoch: -1 });
  }, options.retries);
}
