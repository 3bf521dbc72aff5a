import { ErrorCode, NO_LEADER, ZERO_UUID, topicNameError, type MetadataImage, type TopicState } from '@fluxo/common';
import { apis, type MetadataRequest, type MetadataResponse, type MetadataResponsePartition, type MetadataResponseTopic } from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from './api-handler.js';

/** Kafka's internal topics (created by the group and transaction coordinators). */
const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);
/** Kafka's "not requested" marker for authorized-operations fields. */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** No ACLs yet: every topic operation is allowed (READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11). */
const ALL_TOPIC_OPERATIONS = [3, 4, 5, 6, 7, 8, 10, 11].reduce((bits, op) => bits | (1 << op), 0);
/** Cluster operations: CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12. */
const ALL_CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);

export const metadataHandler = defineHandler<MetadataRequest, MetadataResponse>({
  codec: apis.Metadata,
  minVersion: 0,
  maxVersion: 12,
  exclusive: false,
  async handle(broker, ctx, request) {
    const v = ctx.apiVersion;
    const includeTopicOps = v >= 8 && request.includeTopicAuthorizedOperations === true;
    const topics: MetadataResponseTopic[] = [];
    // v0: an empty list means all topics; v1+: null means all, empty means none.
    const all = request.topics === null || (v === 0 && request.topics.length === 0);
    const image = broker.metadata.image();
    if (all) {
      const names = [...image.topics.keys()].sort();
      for (const name of names) topics.push(describeTopic(broker, image, image.topics.get(name)!, includeTopicOps));
    } else {
      const autoCreate = broker.config.boolean('auto.create.topics.enable') && (v < 4 || request.allowAutoTopicCreation !== false);
      const seen = new Set<string>();
      for (const requested of request.topics ?? []) {
        if (requested.name === null) {
          // v10+: lookup by topic id.
          const id = requested.topicId ?? ZERO_UUID;
          const topic = id === ZERO_UUID ? undefined : image.topicsById.get(id);
          if (topic) topics.push(describeTopic(broker, image, topic, includeTopicOps));
          else topics.push(errorTopic(null, id, ErrorCode.UNKNOWN_TOPIC_ID, v));
          continue;
        }
        const name = requested.name;
        if (seen.has(name)) continue;
        seen.add(name);
        const topic = image.topics.get(name);
        if (topic) {
          topics.push(describeTopic(broker, image, topic, includeTopicOps));
        } else if (autoCreate && topicNameError(name) !== null) {
          topics.push(errorTopic(name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION, v));
        } else if (autoCreate) {
          const created = await broker.admin.autoCreate(name);
          // Kafka answers LEADER_NOT_AVAILABLE for a topic it just created; the client retries.
          const errorCode = created.ok || created.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.LEADER_NOT_AVAILABLE : created.errorCode;
          topics.push(errorTopic(name, created.ok ? created.topicId : ZERO_UUID, errorCode, v));
        } else {
          topics.push(errorTopic(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, v));
        }
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: liveBrokers(broker, image),
      clusterId: broker.metadata.clusterId(),
      // KRaft answers with a live broker (clients send controller requests there; brokers forward them):
      // this one, since it forwards.
      controllerId: broker.nodeId,
      topics,
      clusterAuthorizedOperations: v >= 8 && request.includeClusterAuthorizedOperations === true ? ALL_CLUSTER_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      brokers: [],
      clusterId: null,
      controllerId: -1,
      topics: (request.topics ?? []).map((t) => ({ errorCode, name: t.name, topicId: t.topicId ?? ZERO_UUID, isInternal: false, partitions: [] })),
    };
  },
});

/** Unfenced brokers at their client listener (the first registered endpoint), as KRaft lists them. */
function liveBrokers(broker: BrokerContext, image: MetadataImage): { nodeId: number; host: string; port: number; rack: string | null }[] {
  const out: { nodeId: number; host: string; port: number; rack: string | null }[] = [];
  for (const b of image.brokers.values()) {
    if (b.fenced && b.nodeId !== broker.nodeId) continue;
    const client = b.endpoints[0] ?? { host: b.host, port: b.port };
    out.push({ nodeId: b.nodeId, host: client.host, port: client.port, rack: b.rack });
  }
  if (!out.some((b) => b.nodeId === broker.nodeId)) {
    // Not registered yet (requests answered during startup): list ourselves so clients can come back.
    const self = broker.advertised();
    out.push({ nodeId: broker.nodeId, host: self.host, port: self.port, rack: self.rack });
  }
  return out.sort((a, b) => a.nodeId - b.nodeId);
}

function describeTopic(broker: BrokerContext, image: MetadataImage, topic: TopicState, includeTopicOps: boolean): MetadataResponseTopic {
  const local = broker.topics.topic(topic.name);
  const partitions: MetadataResponsePartition[] = [];
  for (const p of topic.partitions) {
    const offlineReplicas = p.replicas.filter((r) => image.brokers.get(r)?.fenced !== false);
    // A leader whose log is still opening here cannot serve yet: the client retries (Kafka: LEADER_NOT_AVAILABLE).
    const opening = p.leader === broker.nodeId && local?.partition(p.partition) === undefined;
    const errorCode = p.leader === NO_LEADER || opening ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE;
    partitions.push({
      errorCode,
      partitionIndex: p.partition,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      offlineReplicas,
    });
  }
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: INTERNAL_TOPICS.has(topic.name),
    partitions,
    topicAuthorizedOperations: includeTopicOps ? ALL_TOPIC_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function errorTopic(name: string | null, topicId: string, errorCode: number, v: number): MetadataResponseTopic {
  // The response name is nullable only from v12 (lookups by id).
  return { errorCode, name: name === null && v < 12 ? '' : name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
}
