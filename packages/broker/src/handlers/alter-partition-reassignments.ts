import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { apis, type AlterPartitionReassignmentsRequest, type AlterPartitionReassignmentsResponse } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';

/**
 * AlterPartitionReassignments v0 (KIP-455; kafka-reassign-partitions.sh, `fluxo cluster reassign`): the controller
 * starts (or, for null replicas, cancels) each move; new replicas copy the log from the leader and the
 * controller completes the move once they are in sync.
 */
export const alterPartitionReassignmentsHandler = defineHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>({
  codec: apis.AlterPartitionReassignments,
  minVersion: 0,
  maxVersion: 0,
  exclusive: true,
  async handle(broker, _ctx, request) {
    const targets = request.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas })));
    let outcomes;
    try {
      outcomes = await broker.metadata.alterReassignments(targets);
    } catch (err) {
      if (!(err instanceof KafkaProtocolError)) throw err;
      return { throttleTimeMs: 0, errorCode: err.code, errorMessage: err.message, responses: [] };
    }
    broker.logger.info({ partitions: targets.length, started: outcomes.filter((o) => o.errorCode === 0).length }, 'partition reassignment requested');
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const o = outcomes.find((x) => x.topic === t.name && x.partition === p.partitionIndex);
          return { partitionIndex: p.partitionIndex, errorCode: o?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: o === undefined || o.errorCode === 0 ? null : o.errorMessage };
        }),
      })),
    };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, errorMessage: null, responses: [] };
  },
});
