import { randomInt } from 'node:crypto';
import {
  ErrorCode,
  KafkaProtocolError,
  assignReplicas,
  randomUuid,
  topicNameError,
  unifyCollisionChars,
  type Logger,
  type MetadataImage,
  type PartitionAssignment,
  type ResolvedConfig,
} from '@fluxo/common';
import { normalizeTopicConfigs } from '../config/topic-config.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { Topic, TopicRegistry } from './topic-registry.js';
import { offsetsTopicConfigs } from '../group/broker-offsets-topic.js';
import { GROUP_METADATA_TOPIC } from '../group/group-config.js';

/** KRaft's metadata log topic: reserved (Kafka refuses to create it). */
const CLUSTER_METADATA_TOPIC = '__cluster_metadata';

/** Brokers that may get new replicas: registered and unfenced (Kafka skips fenced brokers too). */
function usableBrokers(image: MetadataImage): { id: number; rack: string | null }[] {
  return [...image.brokers.values()].filter((b) => !b.fenced).map((b) => ({ id: b.nodeId, rack: b.rack }));
}

/** Fluxo's own bound (Kafka has none): each partition is a directory with open files. */
export const MAX_PARTITIONS_PER_TOPIC = 10_000;

export interface CreateTopicSpec {
  readonly name: string;
  /** -1: num.partitions */
  readonly numPartitions: number;
  /** -1: default.replication.factor */
  readonly replicationFactor: number;
  readonly assignments: readonly { readonly partitionIndex: number; readonly brokerIds: readonly number[] }[];
  readonly configs: Readonly<Record<string, string | null>>;
}

export type AdminResult<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly errorCode: number; readonly errorMessage: string };

function fail(errorCode: number, errorMessage: string): { ok: false; errorCode: number; errorMessage: string } {
  return { ok: false, errorCode, errorMessage };
}

function failFrom(err: unknown): { ok: false; errorCode: number; errorMessage: string } {
  if (err instanceof KafkaProtocolError) return fail(err.code, err.message);
  throw err;
}

/**
 * Topic administration: validates requests the way Kafka's controller does and turns them into metadata
 * records. State changes only through MetadataStore.commit; the TopicRegistry follows the committed records.
 */
export class TopicAdmin {
  /** Auto-creations in progress, so concurrent Metadata/Produce requests for one name create it once. */
  private readonly autoCreating = new Map<string, Promise<AdminResult<{ topicId: string }>>>();

  constructor(
    private readonly config: ResolvedConfig,
    private readonly metadata: MetadataStore,
    private readonly registry: TopicRegistry,
    private readonly logger: Logger,
  ) {}

  /** Validates a CreateTopics entry; returns the partition count, replication factor and normalised configs. */
  validateCreate(spec: CreateTopicSpec): AdminResult<{ partitionCount: number; replicationFactor: number; configs: Record<string, string>; partitions: PartitionAssignment[] }> {
    const nameError = topicNameError(spec.name);
    if (nameError !== null) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
    if (spec.name === CLUSTER_METADATA_TOPIC) return fail(ErrorCode.INVALID_REQUEST, `Creation of internal topic ${CLUSTER_METADATA_TOPIC} is prohibited.`);
    const image = this.metadata.image();
    if (image.topics.has(spec.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists.`);
    const unified = unifyCollisionChars(spec.name);
    for (const existing of image.topics.keys()) {
      if (unifyCollisionChars(existing) === unified) {
        return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${spec.name}' collides with existing topic: ${existing}`);
      }
    }
    let partitionCount: number;
    let replicationFactor: number;
    if (spec.assignments.length > 0) {
      if (spec.numPartitions !== -1 || spec.replicationFactor !== -1) {
        return fail(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
      }
      const sorted = [...spec.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
      for (let i = 0; i < sorted.length; i++) {
        const a = sorted[i]!;
        if (a.partitionIndex !== i) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence');
        if (a.brokerIds.length === 0) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Empty replica list for partition ${i}`);
        if (new Set(a.brokerIds).size !== a.brokerIds.length) {
          return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate brokers not allowed in replica assignment: ${a.brokerIds.join(', ')} for partition id ${i}.`);
        }
        for (const b of a.brokerIds) {
          if (!image.brokers.has(b)) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Replica assignment for partition ${i} refers to unknown broker ${b}`);
        }
      }
      partitionCount = sorted.length;
      replicationFactor = sorted[0]!.brokerIds.length;
    } else {
      partitionCount = spec.numPartitions === -1 ? this.config.number('num.partitions') : spec.numPartitions;
      replicationFactor = spec.replicationFactor === -1 ? this.config.number('default.replication.factor') : spec.replicationFactor;
      if (partitionCount <= 0) return fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
      if (replicationFactor <= 0) return fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
      const available = usableBrokers(image).length;
      if (replicationFactor > available) {
        return fail(
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${available} broker(s) are registered.`,
        );
      }
    }
    if (partitionCount > MAX_PARTITIONS_PER_TOPIC) {
      return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${partitionCount} exceeds this node's limit of ${MAX_PARTITIONS_PER_TOPIC} per topic.`);
    }
    let configs: Record<string, string>;
    try {
      const normalized = normalizeTopicConfigs(spec.configs);
      configs = {};
      for (const [k, v] of Object.entries(normalized)) {
        if (v === null) return fail(ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${k}`);
        configs[k] = v;
      }
    } catch (err) {
      return failFrom(err);
    }
    let partitions: PartitionAssignment[];
    try {
      partitions =
        spec.assignments.length > 0
          ? [...spec.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex).map((a) => ({ partition: a.partitionIndex, replicas: [...a.brokerIds] }))
          : assignReplicas(usableBrokers(image), partitionCount, replicationFactor, { random: randomInt });
    } catch (err) {
      return failFrom(err);
    }
    return { ok: true, partitionCount, replicationFactor, configs, partitions };
  }

  async createTopic(
    spec: CreateTopicSpec,
    validateOnly: boolean,
  ): Promise<AdminResult<{ topicId: string; partitionCount: number; replicationFactor: number; configs: Record<string, string>; partitions: PartitionAssignment[] }>> {
    const valid = this.validateCreate(spec);
    if (!valid.ok) return valid;
    if (validateOnly) return { ...valid, topicId: '' };
    const topicId = randomUuid();
    try {
      await this.metadata.commit([
        {
          type: 'TopicCreated',
          name: spec.name,
          topicId,
          partitionCount: valid.partitionCount,
          configs: valid.configs,
          partitions: valid.partitions,
        },
      ]);
    } catch (err) {
      return failFrom(err);
    }
    this.logger.info({ topic: spec.name, topicId, partitions: valid.partitionCount, configs: valid.configs }, 'topic created');
    return { ...valid, topicId };
  }

  /**
   * Creates a topic for Metadata/Produce when auto.create.topics.enable (num.partitions,
   * default.replication.factor). Concurrent calls for one name share the creation.
   */
  autoCreate(name: string): Promise<AdminResult<{ topicId: string }>> {
    const existing = this.autoCreating.get(name);
    if (existing) return existing;
    // Kafka's AutoTopicCreationManager: the internal offsets topic gets its own partition count and configs.
    const spec: CreateTopicSpec =
      name === GROUP_METADATA_TOPIC
        ? { name, numPartitions: this.config.number('offsets.topic.num.partitions'), replicationFactor: this.config.number('offsets.topic.replication.factor'), assignments: [], configs: offsetsTopicConfigs() }
        : { name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: {} };
    const run = this.createTopic(spec, false).then((r) =>
      r.ok ? { ok: true as const, topicId: r.topicId } : r,
    );
    this.autoCreating.set(name, run);
    void run.finally(() => this.autoCreating.delete(name));
    return run;
  }

  /** A topic that exists and is ready, auto-creating (and waiting for its logs) when allowed. */
  async topicForProduce(name: string): Promise<Topic | { errorCode: number }> {
    let topic = this.registry.topic(name);
    if (!topic) {
      if (!this.config.boolean('auto.create.topics.enable')) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      if (topicNameError(name) !== null) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION };
      const created = await this.autoCreate(name);
      if (!created.ok && created.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) return { errorCode: created.errorCode };
      topic = this.registry.topic(name);
      if (!topic) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    }
    if (!topic.ready) await this.registry.whenReady(topic);
    return topic;
  }

  async deleteTopic(topicId: string): Promise<AdminResult<object>> {
    if (!this.config.boolean('delete.topic.enable')) return fail(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.');
    const t = this.metadata.image().topicsById.get(topicId);
    if (!t) return fail(ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${topicId} does not exist.`);
    try {
      await this.metadata.commit([{ type: 'TopicDeleted', topicId }]);
    } catch (err) {
      return failFrom(err);
    }
    this.logger.info({ topic: t.name, topicId }, 'topic deletion committed');
    return { ok: true };
  }

  async createPartitions(name: string, count: number, assignments: readonly (readonly number[])[] | null, validateOnly: boolean): Promise<AdminResult<object>> {
    const t = this.metadata.image().topics.get(name);
    if (!t) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
    if (count < t.partitionCount) {
      return fail(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${t.partitionCount} partitions, which is higher than the requested ${count}.`);
    }
    if (count === t.partitionCount) return fail(ErrorCode.INVALID_PARTITIONS, `Topic already has ${t.partitionCount} partitions.`);
    if (count > MAX_PARTITIONS_PER_TOPIC) {
      return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${count} exceeds this node's limit of ${MAX_PARTITIONS_PER_TOPIC} per topic.`);
    }
    if (assignments !== null) {
      const added = count - t.partitionCount;
      if (assignments.length !== added) {
        return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Increasing the number of partitions by ${added} but ${assignments.length} assignments provided.`);
      }
      const image = this.metadata.image();
      const replicationFactor = t.partitions[0]?.replicas.length ?? 1;
      for (const brokers of assignments) {
        if (brokers.length !== replicationFactor) {
          return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Inconsistent replication factor between partitions, partition 0 has ${replicationFactor} while partitions [${t.partitionCount}] have replication factors [${brokers.length}], respectively.`);
        }
        if (new Set(brokers).size !== brokers.length) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate brokers not allowed in replica assignment: ${brokers.join(', ')}.`);
        for (const b of brokers) if (!image.brokers.has(b)) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unknown broker(s) in replica assignment: ${b}.`);
      }
    }
    let partitions: PartitionAssignment[];
    try {
      partitions =
        assignments !== null
          ? assignments.map((replicas, i) => ({ partition: t.partitionCount + i, replicas: [...replicas] }))
          : assignReplicas(usableBrokers(this.metadata.image()), count - t.partitionCount, t.partitions[0]?.replicas.length ?? 1, { firstPartition: t.partitionCount, random: randomInt });
    } catch (err) {
      return failFrom(err);
    }
    if (validateOnly) return { ok: true };
    try {
      await this.metadata.commit([{ type: 'PartitionsAdded', topicId: t.topicId, partitionCount: count, partitions }]);
    } catch (err) {
      return failFrom(err);
    }
    this.logger.info({ topic: name, from: t.partitionCount, to: count }, 'partitions added');
    return { ok: true };
  }

  /** Applies validated override changes (null = delete) to a topic's configs. */
  async alterTopicConfigs(topicId: string, changes: Record<string, string | null>, validateOnly: boolean): Promise<AdminResult<object>> {
    if (!this.metadata.image().topicsById.has(topicId)) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Topic does not exist.');
    if (validateOnly || Object.keys(changes).length === 0) return { ok: true };
    try {
      await this.metadata.commit([{ type: 'ConfigChanged', topicId, changes }]);
    } catch (err) {
      return failFrom(err);
    }
    return { ok: true };
  }
}
