import { ErrorCode } from '@fluxo/common';
import { apis, type DeleteRecordsRequest, type DeleteRecordsResponse, type DeleteRecordsResponsePartitionResult } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';
import { errorCodeOf } from './produce.js';

/** -1 means "up to the high watermark" (Kafka's DeleteRecordsRequest.HIGH_WATERMARK). */
const HIGH_WATERMARK = -1;

/** DeleteRecords: advances the log start offset (whole segments below it go at the next retention pass). */
export const deleteRecordsHandler = defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  codec: apis.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  exclusive: false,
  async handle(broker, ctx, request) {
    const topics = await Promise.all(
      request.topics.map(async (t) => {
        const topic = broker.topics.topic(t.name);
        const partitions = await Promise.all(
          t.partitions.map(async (p): Promise<DeleteRecordsResponsePartitionResult> => {
            const fail = (errorCode: number): DeleteRecordsResponsePartitionResult => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode });
            if (topic === undefined || p.partitionIndex < 0 || p.partitionIndex >= topic.partitionCount) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            const partition = topic.partition(p.partitionIndex);
            if (partition === undefined || partition.isClosed || !partition.isLeader) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
            const offset = p.offset === HIGH_WATERMARK ? partition.highWatermark : p.offset;
            if (offset < 0 || offset > partition.highWatermark) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
            try {
              const lowWatermark = offset <= partition.logStartOffset ? partition.logStartOffset : await partition.log.deleteRecordsBefore(offset);
              return { partitionIndex: p.partitionIndex, lowWatermark, errorCode: ErrorCode.NONE };
            } catch (err) {
              ctx.logger.warn({ err, topic: t.name, partition: p.partitionIndex }, 'delete records failed');
              return fail(errorCodeOf(err));
            }
          }),
        );
        return { name: t.name, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode })) })),
    };
  },
});
