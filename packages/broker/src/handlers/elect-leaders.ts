import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { apis, type ElectLeadersRequest, type ElectLeadersResponse, type ElectLeadersResponseReplicaElectionResult } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';

/**
 * ElectLeaders v0-2 (kafka-leader-election.sh, `fluxo cluster elect-leaders`): preferred (v0 only knows this
 * one) or unclean elections, decided by the controller. Null topic partitions = every partition; the answer
 * then leaves out partitions that needed no election, as Kafka does.
 */
export const electLeadersHandler = defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
  codec: apis.ElectLeaders,
  minVersion: 0,
  maxVersion: 2,
  exclusive: true,
  async handle(broker, ctx, request) {
    const electionType = ctx.apiVersion >= 1 ? (request.electionType ?? 0) : 0;
    const partitions = request.topicPartitions === null ? null : request.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
    let outcomes;
    try {
      outcomes = await broker.metadata.electLeaders(electionType, partitions);
    } catch (err) {
      if (!(err instanceof KafkaProtocolError)) throw err;
      return { throttleTimeMs: 0, errorCode: err.code, replicaElectionResults: [] };
    }
    const byTopic = new Map<string, ElectLeadersResponseReplicaElectionResult>();
    for (const o of outcomes) {
      let t = byTopic.get(o.topic);
      if (t === undefined) byTopic.set(o.topic, (t = { topic: o.topic, partitionResult: [] }));
      t.partitionResult.push({ partitionId: o.partition, errorCode: o.errorCode, errorMessage: o.errorCode === ErrorCode.NONE ? null : o.errorMessage });
    }
    broker.logger.info({ electionType, partitions: partitions?.length ?? 'all', elected: outcomes.filter((o) => o.errorCode === 0).length }, 'leader election requested');
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: [...byTopic.values()] };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, replicaElectionResults: [] };
  },
});
