import { apis, type OffsetDeleteRequest, type OffsetDeleteResponse } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';
import { groupsOf } from './group-common.js';

/** OffsetDelete v0: removes committed offsets of topics the group does not subscribe to. */
export const offsetDeleteHandler = defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  codec: apis.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  exclusive: false,
  async handle(broker, _ctx, request) {
    const r = await groupsOf(broker).deleteOffsets(
      request.groupId,
      request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return {
      errorCode: r.errorCode,
      throttleTimeMs: 0,
      topics: r.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: p.errorCode })) })),
    };
  },
  errorResponse(_request, errorCode) {
    return { errorCode, throttleTimeMs: 0, topics: [] };
  },
});
