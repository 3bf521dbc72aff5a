import { ErrorCode } from '@fluxo/common';
import { apis, type ListOffsetsRequest, type ListOffsetsResponse, type ListOffsetsResponsePartitionResponse } from '@fluxo/protocol';
import type { Partition } from '../cluster/partition.js';
import { defineHandler } from './api-handler.js';
import { errorCodeOf } from './produce.js';

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;
const READ_COMMITTED = 1;

function errorPartition(partitionIndex: number, errorCode: number): ListOffsetsResponsePartitionResponse {
  return { partitionIndex, errorCode, oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 };
}

/** Kafka's debugging replica id: may list offsets on a follower. */
const DEBUGGING_REPLICA_ID = -2;

/**
 * ListOffsets: -1 latest (high watermark / last stable offset), -2 earliest, -3 max timestamp, else by time.
 * Leader only (currentLeaderEpoch checked); the leader epoch answered is that of the batch holding the offset.
 */
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
            const epochError = partition.leaderEpochError(p.currentLeaderEpoch ?? -1);
            if (epochError !== ErrorCode.NONE) return errorPartition(p.partitionIndex, epochError);
            if (!partition.isLeader && !(request.replicaId === DEBUGGING_REPLICA_ID && partition.role === 'follower')) return errorPartition(p.partitionIndex, ErrorCode.NOT_LEADER_OR_FOLLOWER);
            try {
              const found = await lookup(partition, p.timestamp, readCommitted);
              return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, oldStyleOffsets: [], timestamp: found.timestamp, offset: found.offset, leaderEpoch: epochOf(partition, p.timestamp, found.offset) };
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

/** Kafka answers the latest epoch for LATEST, else the epoch of the batch holding the offset (-1: none). */
function epochOf(partition: Partition, timestamp: number, offset: number): number {
  if (offset < 0) return -1;
  if (timestamp === LATEST_TIMESTAMP) return partition.log.latestEpoch;
  return partition.log.epochForOffset(offset);
}

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
