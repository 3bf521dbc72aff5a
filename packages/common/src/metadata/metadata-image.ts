import { assertNever } from '../assert.js';
import { ErrorCode } from '../error-codes.js';
import { KafkaProtocolError } from '../errors.js';
import { NO_LEADER, PRODUCER_ID_BLOCK_SIZE, type BrokerState, type MetadataRecord, type PartitionAssignment, type PartitionState, type TopicState } from './records.js';

/** The state the committed metadata records add up to. Immutable: applying a batch returns a new image. */
export interface MetadataImage {
  /** Index of the last batch applied: the controller's Raft log index, the single-node store's commit count. */
  readonly appliedIndex: number;
  readonly brokers: ReadonlyMap<number, BrokerState>;
  readonly topics: ReadonlyMap<string, TopicState>;
  readonly topicsById: ReadonlyMap<string, TopicState>;
  /** First producer id no broker has been given yet (ProducerIdsAllocated moves it forward by whole blocks). */
  readonly nextProducerId: number;
}

export const EMPTY_IMAGE: MetadataImage = { appliedIndex: 0, brokers: new Map(), topics: new Map(), topicsById: new Map(), nextProducerId: 0 };

function fail(code: number, message: string): never {
  throw new KafkaProtocolError(code, message);
}

function newPartitions(assignments: readonly PartitionAssignment[], from: number, to: number, brokers: ReadonlyMap<number, BrokerState>): PartitionState[] {
  if (assignments.length !== to - from) fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `expected ${to - from} partition assignments, got ${assignments.length}`);
  return assignments.map((a, i) => {
    if (a.partition !== from + i) fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `assignment for partition ${a.partition} where ${from + i} was expected`);
    if (a.replicas.length === 0 || new Set(a.replicas).size !== a.replicas.length) {
      fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${a.partition}: replicas must be distinct and non-empty`);
    }
    for (const r of a.replicas) if (!brokers.has(r)) fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${a.partition}: broker ${r} is not registered`);
    return { partition: a.partition, replicas: [...a.replicas], isr: [...a.replicas], leader: a.replicas[0] as number, leaderEpoch: 0, partitionEpoch: 0 };
  });
}

/**
 * Applies one batch of records (one log entry, or one single-node commit) at index `index`: all or nothing.
 * Throws KafkaProtocolError when a record conflicts with the image; every node then skips the same batch, so
 * the state machines stay identical. Pure: shared by the controller and the broker's local store.
 */
export function applyBatch(image: MetadataImage, index: number, records: readonly MetadataRecord[]): MetadataImage {
  const brokers = new Map(image.brokers);
  const topics = new Map(image.topics);
  const topicsById = new Map(image.topicsById);
  let nextProducerId = image.nextProducerId;
  const byId = (topicId: string): TopicState => topicsById.get(topicId) ?? fail(ErrorCode.UNKNOWN_TOPIC_ID, `unknown topic id ${topicId}`);
  const put = (t: TopicState): void => {
    topics.set(t.name, t);
    topicsById.set(t.topicId, t);
  };
  const broker = (nodeId: number, brokerEpoch: number): BrokerState => {
    const b = brokers.get(nodeId) ?? fail(ErrorCode.BROKER_ID_NOT_REGISTERED, `broker ${nodeId} is not registered`);
    if (b.brokerEpoch !== brokerEpoch) fail(ErrorCode.STALE_BROKER_EPOCH, `broker ${nodeId} has epoch ${b.brokerEpoch}, not ${brokerEpoch}`);
    return b;
  };
  for (const record of records) {
    switch (record.type) {
      case 'BrokerRegistered':
        brokers.set(record.nodeId, {
          nodeId: record.nodeId,
          brokerEpoch: index,
          incarnationId: record.incarnationId,
          host: record.host,
          port: record.port,
          rack: record.rack,
          endpoints: record.endpoints.map((e) => ({ ...e })),
          fenced: true,
        });
        break;
      case 'BrokerFenced':
        brokers.set(record.nodeId, { ...broker(record.nodeId, record.brokerEpoch), fenced: true });
        break;
      case 'BrokerUnfenced':
        brokers.set(record.nodeId, { ...broker(record.nodeId, record.brokerEpoch), fenced: false });
        break;
      case 'TopicCreated':
        if (topics.has(record.name)) fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${record.name}' already exists.`);
        if (topicsById.has(record.topicId)) fail(ErrorCode.INCONSISTENT_TOPIC_ID, `topic id ${record.topicId} is taken`);
        if (!Number.isInteger(record.partitionCount) || record.partitionCount < 1) fail(ErrorCode.INVALID_PARTITIONS, `invalid partition count ${record.partitionCount}`);
        put({
          name: record.name,
          topicId: record.topicId,
          partitionCount: record.partitionCount,
          configs: { ...record.configs },
          partitions: newPartitions(record.partitions, 0, record.partitionCount, brokers),
        });
        break;
      case 'PartitionsAdded': {
        const t = byId(record.topicId);
        if (!Number.isInteger(record.partitionCount) || record.partitionCount <= t.partitionCount) {
          fail(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${t.partitionCount} partitions, which is higher than the requested ${record.partitionCount}.`);
        }
        const added = newPartitions(record.partitions, t.partitionCount, record.partitionCount, brokers);
        put({ ...t, partitionCount: record.partitionCount, partitions: [...t.partitions, ...added] });
        break;
      }
      case 'ConfigChanged': {
        const t = byId(record.topicId);
        const configs: Record<string, string> = { ...t.configs };
        for (const [key, value] of Object.entries(record.changes)) {
          if (value === null) delete configs[key];
          else configs[key] = value;
        }
        put({ ...t, configs });
        break;
      }
      case 'TopicDeleted': {
        const t = byId(record.topicId);
        topics.delete(t.name);
        topicsById.delete(t.topicId);
        break;
      }
      case 'PartitionChanged': {
        const t = byId(record.topicId);
        const p = t.partitions[record.partition] ?? fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${t.name}-${record.partition} does not exist`);
        if (p.partitionEpoch !== record.partitionEpoch) {
          fail(ErrorCode.FENCED_LEADER_EPOCH, `${t.name}-${record.partition} is at partition epoch ${p.partitionEpoch}, change was for ${record.partitionEpoch}`);
        }
        if (record.isr.some((r) => !p.replicas.includes(r)) || new Set(record.isr).size !== record.isr.length) {
          fail(ErrorCode.INVALID_REQUEST, `${t.name}-${record.partition}: ISR ${record.isr.join(',')} is not a set of replicas`);
        }
        if (record.leader !== NO_LEADER && !record.isr.includes(record.leader)) {
          fail(ErrorCode.INVALID_REQUEST, `${t.name}-${record.partition}: leader ${record.leader} is not in the ISR`);
        }
        const changed: PartitionState = {
          ...p,
          isr: [...record.isr],
          leader: record.leader,
          leaderEpoch: record.leader !== p.leader ? p.leaderEpoch + 1 : p.leaderEpoch,
          partitionEpoch: p.partitionEpoch + 1,
        };
        const partitions = [...t.partitions];
        partitions[record.partition] = changed;
        put({ ...t, partitions });
        break;
      }
      case 'PartitionReassigned': {
        const t = byId(record.topicId);
        const p = t.partitions[record.partition] ?? fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${t.name}-${record.partition} does not exist`);
        if (p.partitionEpoch !== record.partitionEpoch) {
          fail(ErrorCode.INVALID_UPDATE_VERSION, `${t.name}-${record.partition} is at partition epoch ${p.partitionEpoch}, reassignment was for ${record.partitionEpoch}`);
        }
        if (record.replicas.length === 0 || new Set(record.replicas).size !== record.replicas.length) fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${t.name}-${record.partition}: replicas must be distinct and non-empty`);
        for (const r of record.replicas) if (!brokers.has(r)) fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${t.name}-${record.partition}: broker ${r} is not registered`);
        const within = (ids: readonly number[]): boolean => ids.every((r) => record.replicas.includes(r));
        if (!within(record.isr) || !within(record.adding) || !within(record.removing) || record.isr.length === 0) {
          fail(ErrorCode.INVALID_REQUEST, `${t.name}-${record.partition}: ISR, adding and removing must be non-empty/subsets of the replicas`);
        }
        if (record.leader !== NO_LEADER && !record.isr.includes(record.leader)) fail(ErrorCode.INVALID_REQUEST, `${t.name}-${record.partition}: leader ${record.leader} is not in the ISR`);
        const changed: PartitionState = {
          partition: p.partition,
          replicas: [...record.replicas],
          isr: [...record.isr],
          leader: record.leader,
          leaderEpoch: record.leader !== p.leader ? p.leaderEpoch + 1 : p.leaderEpoch,
          partitionEpoch: p.partitionEpoch + 1,
          ...(record.adding.length > 0 || record.removing.length > 0 ? { addingReplicas: [...record.adding], removingReplicas: [...record.removing] } : {}),
        };
        const partitions = [...t.partitions];
        partitions[record.partition] = changed;
        put({ ...t, partitions });
        break;
      }
      case 'ProducerIdsAllocated':
        broker(record.brokerId, record.brokerEpoch);
        if (!Number.isSafeInteger(record.nextProducerId) || record.nextProducerId % PRODUCER_ID_BLOCK_SIZE !== 0 || record.nextProducerId <= nextProducerId) {
          fail(ErrorCode.INVALID_REQUEST, `producer id block ending at ${record.nextProducerId} does not follow the next free producer id ${nextProducerId}`);
        }
        nextProducerId = record.nextProducerId;
        break;
      default:
        assertNever(record, 'metadata record');
    }
  }
  return { appliedIndex: index, brokers, topics, topicsById, nextProducerId };
}

/** JSON form of an image (snapshots, GetMetadata, full-image watch events). */
export interface MetadataImageJson {
  readonly appliedIndex: number;
  readonly brokers: readonly BrokerState[];
  readonly topics: readonly TopicState[];
  /** Absent in images written before producer ids were allocated through metadata (0 then). */
  readonly nextProducerId?: number;
}

export function imageToJson(image: MetadataImage): MetadataImageJson {
  return {
    appliedIndex: image.appliedIndex,
    brokers: [...image.brokers.values()].sort((a, b) => a.nodeId - b.nodeId),
    topics: [...image.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    nextProducerId: image.nextProducerId,
  };
}

export function imageFromJson(json: MetadataImageJson): MetadataImage {
  const topics = new Map(json.topics.map((t) => [t.name, t] as const));
  return {
    appliedIndex: json.appliedIndex,
    brokers: new Map(json.brokers.map((b) => [b.nodeId, b] as const)),
    topics,
    topicsById: new Map(json.topics.map((t) => [t.topicId, t] as const)),
    nextProducerId: json.nextProducerId ?? 0,
  };
}
