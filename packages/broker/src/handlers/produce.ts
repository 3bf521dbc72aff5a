import { ErrorCode } from '@fluxo/common';
import {
  apis,
  type ProduceRequest,
  type ProduceResponse,
  type ProduceResponsePartitionProduceResponse,
  type ProduceResponseTopicProduceResponse,
} from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';
import type { Topic } from '../cluster/topic-registry.js';
import { validateProducedBatches } from '../cluster/validate-batches.js';
import { CLOSE_CONNECTION, NO_RESPONSE, defineHandler, type RequestContext } from './api-handler.js';

type PartitionResult = ProduceResponsePartitionProduceResponse;

function errorResult(index: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage };
}

/**
 * Produce: validates each partition's batches, appends them as received (offsets assigned in place by the
 * log, no re-encoding) and answers per partition once durable. Appends of one request are started
 * synchronously in request order, so pipelined produces to a partition land in order.
 */
export const produceHandler = defineHandler<ProduceRequest, ProduceResponse>({
  codec: apis.Produce,
  // Advertised from v0 although only magic-2 batches are stored (legacy message sets get
  // UNSUPPORTED_FOR_MESSAGE_FORMAT): librdkafka enables gzip/snappy only when the broker's Produce range
  // includes v0 (and zstd only when it includes a version <= 7), otherwise it silently sends uncompressed.
  minVersion: 0,
  maxVersion: 9,
  exclusive: false,
  async handle(broker, ctx, request) {
    const acks = request.acks;
    let topics: Promise<ProduceResponseTopicProduceResponse>[];
    if (acks !== -1 && acks !== 0 && acks !== 1) {
      topics = request.topicData.map((t) =>
        Promise.resolve({ name: t.name, partitionResponses: t.partitionData.map((p) => errorResult(p.index, ErrorCode.INVALID_REQUIRED_ACKS)) }),
      );
    } else {
      topics = request.topicData.map((t) => {
        const topic = broker.topics.topic(t.name);
        // Fast path: the topic is open, appends start now (keeps per-partition order across pipelined requests).
        if (topic !== undefined && topic.ready) return produceToTopic(broker, ctx, topic, t.partitionData, acks, request.timeoutMs);
        return broker.admin.topicForProduce(t.name).then((found) =>
          'errorCode' in found
            ? { name: t.name, partitionResponses: t.partitionData.map((p) => errorResult(p.index, found.errorCode)) }
            : produceToTopic(broker, ctx, found, t.partitionData, acks, request.timeoutMs),
        );
      });
    }
    const responses = await Promise.all(topics);
    if (acks === 0) {
      // Kafka: no response for acks=0; on an error it closes the connection so the client notices.
      for (const t of responses) for (const p of t.partitionResponses) if (p.errorCode !== ErrorCode.NONE) {
        ctx.logger.info({ topic: t.name, partition: p.index, errorCode: p.errorCode }, 'acks=0 produce failed; closing connection');
        return CLOSE_CONNECTION;
      }
      return NO_RESPONSE;
    }
    return { responses, throttleTimeMs: 0 };
  },
  errorResponse(request, errorCode) {
    return {
      responses: request.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => errorResult(p.index, errorCode)) })),
      throttleTimeMs: 0,
    };
  },
});

/**
 * Appends to the partitions this node leads (NOT_LEADER_OR_FOLLOWER elsewhere). acks=all: NOT_ENOUGH_REPLICAS
 * before appending when the ISR is below min.insync.replicas; otherwise the answer waits (up to the request
 * timeout) until the ISR has the records. acks=1/0: answered once durable here.
 */
function produceToTopic(
  broker: BrokerContext,
  ctx: RequestContext,
  topic: Topic,
  partitions: ProduceRequest['topicData'][number]['partitionData'],
  requiredAcks: number,
  timeoutMs: number,
): Promise<ProduceResponseTopicProduceResponse> {
  const logAppendTime = topic.logConfig.messageTimestampType === 'LogAppendTime';
  const results = partitions.map(async (p): Promise<PartitionResult> => {
    const partition = topic.partition(p.index);
    if (partition === undefined || !partition.isLeader) {
      return errorResult(p.index, p.index >= 0 && p.index < topic.partitionCount ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
    const valid = validateProducedBatches(p.records, topic.logConfig.maxMessageBytes, ctx.apiVersion);
    if (!valid.ok) {
      ctx.logger.debug({ topic: topic.name, partition: p.index, errorCode: valid.errorCode, reason: valid.errorMessage }, 'produce rejected');
      return errorResult(p.index, valid.errorCode, valid.errorMessage);
    }
    try {
      const appended = await partition.appendAsLeader(
        p.records!,
        logAppendTime ? { requiredAcks, timeoutMs, logAppendTimeMs: broker.nowMs() } : { requiredAcks, timeoutMs },
      );
      broker.metrics.messagesIn.inc({ topic: topic.name }, valid.recordCount);
      broker.metrics.bytesIn.inc({ topic: topic.name }, valid.sizeBytes);
      return {
        index: p.index,
        errorCode: ErrorCode.NONE,
        baseOffset: appended.baseOffset,
        logAppendTimeMs: logAppendTime ? appended.logAppendTimeMs : -1,
        logStartOffset: appended.logStartOffset,
        recordErrors: [],
        errorMessage: null,
      };
    } catch (err) {
      const code = errorCodeOf(err);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR || code === ErrorCode.KAFKA_STORAGE_ERROR) {
        ctx.logger.error({ err, topic: topic.name, partition: p.index }, 'append failed');
      } else if (code === ErrorCode.NOT_ENOUGH_REPLICAS || code === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND || code === ErrorCode.REQUEST_TIMED_OUT) {
        ctx.logger.debug({ topic: topic.name, partition: p.index, errorCode: code, isr: partition.isr, reason: err instanceof Error ? err.message : null }, 'acks=all produce not committed');
      }
      return errorResult(p.index, code, err instanceof Error ? err.message : null);
    }
  });
  return Promise.all(results).then((partitionResponses) => ({ name: topic.name, partitionResponses }));
}

export function errorCodeOf(err: unknown): number {
  if (err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'number' && err.code !== -1) return err.code;
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}
