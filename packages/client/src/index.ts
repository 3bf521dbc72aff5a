export { Connection, type ConnectionOptions, type SendOptions } from './connection.js';
export {
  Cluster,
  parseBrokerList,
  topicError,
  needsMetadataRefresh,
  type ClusterOptions,
  type BrokerAddress,
  type TopicMetadata,
  type PartitionMetadata,
} from './cluster.js';
export { CLIENT_API_VERSIONS, pickVersion, type VersionRange } from './versions.js';
export { withRetries, backoffMs, resolveRetryOptions, type RetryOptions } from './retry.js';
export { murmur2, toPositive, partitionForKey, DefaultPartitioner, RoundRobinPartitioner, type Partitioner, type PartitionerInput } from './partitioner.js';
export {
  RecordAccumulator,
  SendCompletion,
  estimateRecordSizeBytes,
  type AccumulatorOptions,
  type DrainedBatch,
  type OutgoingRecord,
  type ProducerIdentity,
  type RecordMetadata,
} from './record-accumulator.js';
export { compressionCodec, COMPRESSION_NAMES, type CompressionName } from './compression.js';
export { type Message, type HeaderValue } from './messages.js';
export { Producer, type ProducerOptions, type ProducerRecord, type Acks } from './producer.js';
export { Fetcher, type CommittedOffsetLookup, type FetcherOptions, type ConsumerRecord, type PartitionRecords, type OffsetResetStrategy, type StartOffset } from './fetcher.js';
export { Consumer, type ConsumerOptions, type SubscribeOptions, type TopicPartitionOffset, type EachMessagePayload, type EachBatchPayload, type RunOptions } from './consumer.js';
export {
  RangeAssignor,
  RoundRobinAssignor,
  CooperativeStickyAssignor,
  resolveAssignor,
  stickyAssign,
  type AssignorName,
  type PartitionAssignor,
  type RebalanceProtocol,
  type MemberSubscription,
  type GroupAssignmentInput,
  type GroupAssignment,
} from './group/assignors/index.js';
export { type GroupConsumerOptions, type RebalanceListener } from './group/consumer-group.js';
export { CoordinatorClient, findCoordinator, CoordinatorKeyType, type CoordinatorAddress } from './group/coordinator-client.js';
export { commitOffsets, fetchCommittedOffsets, type OffsetToCommit, type CommittedOffset, type CommitIdentity } from './group/offsets.js';
export { CONSUMER_PROTOCOL_TYPE, RebalanceListenerError } from './group/membership.js';
export { type GroupListing, type GroupDescription, type GroupMemberDescription, type ResetStrategy, type OffsetReset } from './group/admin-groups.js';
export { type TopicPartition } from './group/topic-partition.js';
export {
  Admin,
  CONFIG_SOURCE_NAMES,
  type AdminOptions,
  type NewTopic,
  type ConfigResourceType,
  type ConfigEntry,
  type ConfigResourceResult,
  type AlterConfigOperation,
  type TopicDescription,
  type PartitionDescription,
  type PartitionOffset,
  type PartitionResult,
  type QuorumDescription,
} from './admin.js';
export { listOffsets, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type OffsetSpec, type IsolationLevel } from './list-offsets.js';
export { ClientMetrics } from './metrics.js';
export { FluxoClient, type FluxoClientOptions } from './client.js';
