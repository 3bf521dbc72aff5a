import { ErrorCode } from '@fluxo/common';
import { apis, type ListOffsetsRequest, type ListOffsetsResponse, type ListOffsetsResponsePartitionResponse } from '@fluxo/protocol';
import { LEADER_EPOCH, type Partition } from '../cluster/partition.js';
import { defineHandler } from './api-handler.js';
import { errorCodeOf } from './produce.js';

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;
const READ_COMMITTED = 1;

function errorPartition(partitionIndex: number, errorCode: number): ListOffsetsResponsePartitionResponse {
  return { partitionIndex, errorCode, oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 };
}

/** ListOffsets: -1 latest (high watermark / last stable offset), -2 earliest, -3 max timestamp, else by time. */
export const listOffsetsHandler = defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  codec: apis.ListOffsets,
  minVersion: 1,
  maxVersion: 7,
  exclusive: false,
  async handle(broker, ctx, request) {
    const readCommitted = request.isolationLevel === READ_COMMITTED;
    const topics = await Promise.all(
      request.topics.map(async (t) => {
        const topic = broker.topics.topic(t.name);
        const partitions = await Promise.all(
          t.partitions.map(async (p): Promise<ListOffsetsResponsePartitionResponse> => {
            if (topic === undefined || p.partitionIndex < 0 || p.partitionIndex >= topic.partitionCount) {
              return errorPartition(p.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            }
            const partition = topic.partition(p.partitionIndex);
            if (partition === undefined || partition.isClosed) return errorPartition(p.partitionIndex, ErrorCode.NOT_LEADER_OR_FOLLOWER);
            if (p.currentLeaderEpoch !== undefined && p.currentLeaderEpoch > LEADER_EPOCH) return errorPartition(p.partitionIndex, ErrorCode.UNKNOWN_LEADER_EPOCH);
            try {
              const found = await lookup(partition, p.timestamp, readCommitted);
              return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, oldStyleOffsets: [], timestamp: found.timestamp, offset: found.offset, leaderEpoch: found.offset >= 0 ? LEADER_EPOCH : -1 };
            } catch (err) {
              const errorCode = errorCodeOf(err);
              ctx.logger.warn({ err, topic: t.name, partition: p.partitionIndex }, 'list offsets failed');
              return errorPartition(p.partitionIndex, errorCode);
            }
          }),
        );
        return { name: t.name, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => errorPartition(p.partitionIndex, errorCode)) })) };
  },
});

async function lookup(partition: Partition, timestamp: number, readCommitted: boolean): Promise<{ offset: number; timestamp: number }> {
  const upper = readCommitted ? partition.lastStableOffset : partition.highWatermark;
  if (timestamp === LATEST_TIMESTAMP) return { offset: upper, timestamp: -1 };
  if (timestamp === EARLIEST_TIMESTAMP) return { offset: partition.logStartOffset, timestamp: -1 };
  if (timestamp === MAX_TIMESTAMP) {
    const found = await partition.log.maxTimestampOffset();
    return found === null || found.offset >= upper ? { offset: -1, timestamp: -1 } : found;
  }
  if (timestamp < 0) return { offset: -1, timestamp: -1 };
  const found = await partition.log.offsetForTimestamp(timestamp, upper);
  // Only committed records are visible.
  if (found === null || found.offset >= upper) return { offset: -1, timestamp: -1 };
  return { offset: Math.max(found.offset, partition.logStartOffset), timestamp: found.timestamp };
}
