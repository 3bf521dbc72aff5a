import { ErrorCode } from '@fluxo/common';
import {
  apis,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochResponseEpochEndOffset,
} from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';

function errorPartition(partition: number, errorCode: number): OffsetForLeaderEpochResponseEpochEndOffset {
  return { errorCode, partition, leaderEpoch: -1, endOffset: -1 };
}

/**
 * OffsetForLeaderEpoch (KIP-101/320): for each partition, the largest leader epoch <= the requested one on this
 * leader and the offset where it ends (the log end for the current epoch). Consumers use it to detect log
 * truncation after a leader change. Leader only; currentLeaderEpoch is checked like Fetch.
 */
export const offsetForLeaderEpochHandler = defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  codec: apis.OffsetForLeaderEpoch,
  minVersion: 0,
  maxVersion: 4,
  exclusive: false,
  handle(broker, _ctx, request) {
    const topics = request.topics.map((t) => {
      const topic = broker.topics.topic(t.topic);
      return {
        topic: t.topic,
        partitions: t.partitions.map((p): OffsetForLeaderEpochResponseEpochEndOffset => {
          if (topic === undefined || p.partition < 0 || p.partition >= topic.partitionCount) return errorPartition(p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          const partition = topic.partition(p.partition);
          if (partition === undefined || partition.isClosed) return errorPartition(p.partition, ErrorCode.NOT_LEADER_OR_FOLLOWER);
          const answer = partition.lastOffsetForLeaderEpoch(p.currentLeaderEpoch ?? -1, p.leaderEpoch);
          if (answer.errorCode !== ErrorCode.NONE) return errorPartition(p.partition, answer.errorCode);
          return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: answer.leaderEpoch, endOffset: answer.endOffset };
        }),
      };
    });
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, topics: request.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => errorPartition(p.partition, errorCode)) })) };
  },
});
