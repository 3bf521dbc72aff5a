export * from './constants.js';
export {
  batchLastOffset,
  batchSizeAt,
  computeBatchCrc,
  readBatchHeader,
  readInt64At,
  verifyBatchCrc,
  writeInt64At,
  type RecordBatchHeader,
} from './header.js';
export { setBaseOffset, setMaxTimestamp, setMaxTimestampAndLogAppendTime, setPartitionLeaderEpoch } from './rewrite.js';
export { scanBatches, splitBatches, wholeBatches, type BatchScan, type BatchSpan } from './iterate.js';
export {
  decodeRecordBatch,
  encodeRecordBatch,
  type BatchRecord,
  type RecordBatch,
  type RecordBatchSpec,
  type RecordHeader,
  type RecordSpec,
} from './records.js';
export * from './control.js';
