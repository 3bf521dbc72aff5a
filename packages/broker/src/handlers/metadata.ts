import { ErrorCode, ZERO_UUID, topicNameError } from '@fluxo/common';
import { apis, type MetadataRequest, type MetadataResponse, type MetadataResponsePartition, type MetadataResponseTopic } from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';
import { LEADER_EPOCH } from '../cluster/partition.js';
import type { Topic } from '../cluster/topic-registry.js';
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
    if (all) {
      const names = [...broker.topics.topics()].map((t) => t.name).sort();
      for (const name of names) {
        const topic = broker.topics.topic(name);
        if (topic) topics.push(describeTopic(broker, topic, v, includeTopicOps));
      }
    } else {
      const autoCreate = broker.config.boolean('auto.create.topics.enable') && (v < 4 || request.allowAutoTopicCreation !== false);
      const seen = new Set<string>();
      for (const requested of request.topics ?? []) {
        if (requested.name === null) {
          // v10+: lookup by topic id.
          const id = requested.topicId ?? ZERO_UUID;
          const topic = id === ZERO_UUID ? undefined : broker.topics.topicById(id);
          if (topic) topics.push(describeTopic(broker, topic, v, includeTopicOps));
          else topics.push(errorTopic(null, id, ErrorCode.UNKNOWN_TOPIC_ID, v));
          continue;
        }
        const name = requested.name;
        if (seen.has(name)) continue;
        seen.add(name);
        const topic = broker.topics.topic(name);
        if (topic) {
          topics.push(describeTopic(broker, topic, v, includeTopicOps));
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
    const self = broker.advertised();
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: broker.nodeId, host: self.host, port: self.port, rack: self.rack }],
      clusterId: broker.metadata.clusterId(),
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

function describeTopic(broker: BrokerContext, topic: Topic, v: number, includeTopicOps: boolean): MetadataResponseTopic {
  if (!topic.ready) return errorTopic(topic.name, topic.topicId, ErrorCode.LEADER_NOT_AVAILABLE, v);
  const nodes = [broker.nodeId];
  const partitions: MetadataResponsePartition[] = [];
  for (let i = 0; i < topic.partitionCount; i++) {
    partitions.push({ errorCode: ErrorCode.NONE, partitionIndex: i, leaderId: broker.nodeId, leaderEpoch: LEADER_EPOCH, replicaNodes: nodes, isrNodes: nodes, offlineReplicas: [] });
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
