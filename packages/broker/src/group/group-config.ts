import { BROKER_CONFIG, type ResolvedConfig } from '@fluxo/common';

/** Kafka's internal topic holding committed offsets and group metadata. */
export const GROUP_METADATA_TOPIC = '__consumer_offsets';

/** Kafka's offsets.topic.segment.bytes default (small segments so the cleaner compacts often). */
export const OFFSETS_TOPIC_SEGMENT_BYTES = 100 * 1024 * 1024;
/**
 * Fluxo's bound on one member's JoinGroup protocol metadata (sum over its protocols). Kafka has none, but the
 * group's metadata record (every member's subscription + assignment) must fit __consumer_offsets'
 * max.message.bytes; a larger JoinGroup is refused with INVALID_REQUEST and the group carries on.
 */
export const MAX_MEMBER_METADATA_BYTES = 128 * 1024;
/** Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: how long a new member may wait in a join before removal. */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000;
/**
 * How long FindCoordinator (or a first group request) on the partition's leader waits for the partition's groups
 * to load before answering: a client that then joins is served instead of told COORDINATOR_LOAD_IN_PROGRESS.
 */
export const FIRST_USE_LOAD_WAIT_MS = 10_000;
/** Largest read while loading a partition of __consumer_offsets (Kafka's offsets.load.buffer.size). */
export const OFFSETS_LOAD_BUFFER_BYTES = 5 * 1024 * 1024;

/** What the group coordinator needs from the node configuration (names carry units). */
export interface GroupCoordinatorConfig {
  /** offsets.topic.num.partitions: used when __consumer_offsets is created. */
  readonly offsetsTopicPartitions: number;
  /** offsets.topic.replication.factor: creation fails (COORDINATOR_NOT_AVAILABLE) while fewer brokers are alive. */
  readonly offsetsTopicReplicationFactor: number;
  /** group.initial.rebalance.delay.ms */
  readonly initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms / group.max.session.timeout.ms */
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  /** group.max.size */
  readonly maxGroupSize: number;
  /** offsets.retention.minutes, in ms */
  readonly offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  readonly offsetsRetentionCheckIntervalMs: number;
  /** offset.metadata.max.bytes */
  readonly offsetMetadataMaxBytes: number;
}

export function groupConfigFrom(config: ResolvedConfig): GroupCoordinatorConfig {
  return {
    offsetsTopicPartitions: config.number('offsets.topic.num.partitions'),
    offsetsTopicReplicationFactor: config.number('offsets.topic.replication.factor'),
    initialRebalanceDelayMs: config.number('group.initial.rebalance.delay.ms'),
    minSessionTimeoutMs: config.number('group.min.session.timeout.ms'),
    maxSessionTimeoutMs: config.number('group.max.session.timeout.ms'),
    maxGroupSize: config.number('group.max.size'),
    offsetsRetentionMs: config.number('offsets.retention.minutes') * 60_000,
    offsetsRetentionCheckIntervalMs: config.number('offsets.retention.check.interval.ms'),
    offsetMetadataMaxBytes: config.number('offset.metadata.max.bytes'),
  };
}

/** Kafka's defaults (BROKER_CONFIG), for tests and callers without a node config. */
export const DEFAULT_GROUP_CONFIG: GroupCoordinatorConfig = groupConfigFrom(BROKER_CONFIG.resolve({}));
