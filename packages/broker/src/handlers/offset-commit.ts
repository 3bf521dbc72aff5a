import { apis, type OffsetCommitRequest, type OffsetCommitResponse } from '@fluxo/protocol';
import type { OffsetCommitEntry } from '../group/group-coordinator.js';
import { defineHandler } from './api-handler.js';
import { groupsOf } from './group-common.js';

/** OffsetCommit v2-8: generation-checked commits; generation -1 with no member for self-assigning consumers. */
export const offsetCommitHandler = defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  codec: apis.OffsetCommit,
  minVersion: 2,
  maxVersion: 8,
  exclusive: false,
  async handle(broker, ctx, request) {
    const v = ctx.apiVersion;
    const entries: OffsetCommitEntry[] = [];
    for (const t of request.topics) {
      for (const p of t.partitions) {
        entries.push({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: v >= 6 ? (p.committedLeaderEpoch ?? -1) : -1,
          metadata: p.committedMetadata,
        });
      }
    }
    const codes = await groupsOf(broker).commitOffsets({
      groupId: request.groupId,
      generationId: request.generationIdOrMemberEpoch ?? -1,
      memberId: request.memberId ?? '',
      groupInstanceId: v >= 7 ? (request.groupInstanceId ?? null) : null,
      // v2-4 carried a retention time; -1 (and later versions) mean the broker's offsets.retention.minutes.
      retentionTimeMs: v <= 4 ? (request.retentionTimeMs ?? -1) : -1,
      offsets: entries,
    });
    let i = 0;
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codes[i++]! })) })),
    };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })) };
  },
});
