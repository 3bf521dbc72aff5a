import { ErrorCode } from '@fluxo/common';
import { apis, type ListPartitionReassignmentsRequest, type ListPartitionReassignmentsResponse, type ListPartitionReassignmentsResponseOngoingTopicReassignment } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';

/** ListPartitionReassignments v0: the ongoing moves as this broker's copy of the metadata shows them. */
export const listPartitionReassignmentsHandler = defineHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>({
  codec: apis.ListPartitionReassignments,
  minVersion: 0,
  maxVersion: 0,
  exclusive: false,
  async handle(broker, _ctx, request) {
    const image = broker.metadata.image();
    const wanted = request.topics === null ? null : new Map(request.topics.map((t) => [t.name, new Set(t.partitionIndexes)] as const));
    const topics: ListPartitionReassignmentsResponseOngoingTopicReassignment[] = [];
    for (const t of image.topics.values()) {
      const filter = wanted?.get(t.name);
      if (wanted !== null && filter === undefined) continue;
      const partitions = t.partitions
        .filter((p) => (p.addingReplicas?.length ?? 0) > 0 || (p.removingReplicas?.length ?? 0) > 0)
        .filter((p) => filter === undefined || filter.has(p.partition))
        .map((p) => ({ partitionIndex: p.partition, replicas: [...p.replicas], addingReplicas: [...(p.addingReplicas ?? [])], removingReplicas: [...(p.removingReplicas ?? [])] }));
      if (partitions.length > 0) topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, errorMessage: null, topics: [] };
  },
});
