export { PartitionLog, type PartitionLogOptions, type AppendOptions, type AppendResult, type ReadResult } from './partition-log.js';
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
