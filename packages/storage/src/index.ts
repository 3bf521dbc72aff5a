export { PartitionLog, type PartitionLogOptions, type AppendOptions, type AppendResult, type ReadResult } from './partition-log.js';
export { LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEntry, type EpochEndOffset } from './epoch/leader-epoch-cache.js';
export { LEADER_EPOCH_CHECKPOINT_FILE, HIGH_WATERMARK_CHECKPOINT_FILE } from './epoch/epoch-checkpoint.js';
export { LogManager, type LogManagerOptions } from './log-manager.js';
export {
  DEFAULT_LOG_CONFIG,
  isRelaxedFlush,
  logConfigFromProperties,
  logConfigFromResolved,
  type CleanupPolicy,
  type LogConfig,
  type TimestampType,
} from './log-config.js';
export { SegmentHandlePool } from './handle-pool.js';
export { baseOffsetName, partitionDirName, parsePartitionDirName } from './file-names.js';
export { storageMetrics, type StorageMetrics } from './storage-metrics.js';
export { ProducerStateManager, ProducerEntry, BATCHES_TO_RETAIN, SNAPSHOT_SUFFIX, type BatchMetadata, type ClientAppendCheck } from './producer-state/index.js';
