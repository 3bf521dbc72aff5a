import { ErrorCode } from '@fluxo/common';
import { apis, type OffsetFetchRequest, type OffsetFetchResponse, type OffsetFetchResponseTopic } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';
import { groupsOf } from './group-common.js';

/** OffsetFetch v1-7 (v2+: null topics = every committed partition; top-level error code). */
export const offsetFetchHandler = defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  codec: apis.OffsetFetch,
  minVersion: 1,
  maxVersion: 7,
  exclusive: false,
  async handle(broker, ctx, request) {
    const v = ctx.apiVersion;
    const requested = request.topics === null || request.topics === undefined ? null : request.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
    const r = await groupsOf(broker).fetchOffsets(request.groupId ?? '', requested);
    if (r.errorCode !== ErrorCode.NONE) return errorBody(request, r.errorCode, v);
    const topics: OffsetFetchResponseTopic[] = r.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partition,
        committedOffset: p.offset,
        committedLeaderEpoch: p.leaderEpoch,
        metadata: p.metadata,
        errorCode: p.errorCode,
      })),
    }));
    return { throttleTimeMs: 0, topics, errorCode: ErrorCode.NONE };
  },
  errorResponse(request, errorCode, version) {
    return errorBody(request, errorCode, version);
  },
});

function errorBody(request: OffsetFetchRequest, errorCode: number, version: number): OffsetFetchResponse {
  // v0-1 have no top-level error code: Kafka puts it on every requested partition.
  const topics: OffsetFetchResponseTopic[] =
    version >= 2
      ? []
      : (request.topics ?? []).map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode })),
        }));
  return { throttleTimeMs: 0, topics, errorCode };
}
