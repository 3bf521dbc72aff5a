import { assert } from '@fluxo/common';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BATCH_HEADER_SIZE,
  CRC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TimestampType,
  type TimestampTypeValue,
} from './constants.js';
import { batchSizeAt, computeBatchCrc, writeInt64At } from './header.js';

// In-place rewrites of one batch (`offset` = its start inside `buf`). baseOffset and partitionLeaderEpoch
// sit outside the CRC region (CRC covers bytes 21..end), so they are rewritten without recomputing the CRC.

export function setBaseOffset(buf: Buffer, baseOffset: number, offset = 0): void {
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, `invalid base offset ${baseOffset}`);
  assert(buf.length - offset >= BATCH_HEADER_SIZE, 'buffer shorter than a batch header');
  writeInt64At(buf, offset + BASE_OFFSET_OFFSET, baseOffset);
}

export function setPartitionLeaderEpoch(buf: Buffer, epoch: number, offset = 0): void {
  assert(buf.length - offset >= BATCH_HEADER_SIZE, 'buffer shorter than a batch header');
  buf.writeInt32BE(epoch, offset + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Sets the timestamp type bit and maxTimestamp (Kafka's DefaultRecordBatch.setMaxTimestamp). Both are inside
 * the CRC region, so the CRC is recomputed — only when something actually changes.
 */
export function setMaxTimestamp(buf: Buffer, timestampType: TimestampTypeValue, maxTimestampMs: number, offset = 0): void {
  assert(Number.isSafeInteger(maxTimestampMs), `invalid timestamp ${maxTimestampMs}`);
  assert(buf.length - offset >= BATCH_HEADER_SIZE, 'buffer shorter than a batch header');
  const attrs = buf.readInt16BE(offset + ATTRIBUTES_OFFSET);
  const newAttrs = timestampType === TimestampType.LogAppendTime ? attrs | TIMESTAMP_TYPE_MASK : attrs & ~TIMESTAMP_TYPE_MASK;
  const current = buf.readInt32BE(offset + MAX_TIMESTAMP_OFFSET) * 4294967296 + buf.readUInt32BE(offset + MAX_TIMESTAMP_OFFSET + 4);
  if (newAttrs === attrs && current === maxTimestampMs) return;
  buf.writeInt16BE(newAttrs, offset + ATTRIBUTES_OFFSET);
  writeInt64At(buf, offset + MAX_TIMESTAMP_OFFSET, maxTimestampMs);
  const size = batchSizeAt(buf, offset);
  assert(size >= BATCH_HEADER_SIZE && offset + size <= buf.length, 'batch length field outside buffer');
  buf.writeUInt32BE(computeBatchCrc(buf.subarray(offset, offset + size)), offset + CRC_OFFSET);
}

/** LogAppendTime: the broker stamps the batch with its append time (message.timestamp.type=LogAppendTime). */
export function setMaxTimestampAndLogAppendTime(buf: Buffer, logAppendTimeMs: number, offset = 0): void {
  setMaxTimestamp(buf, TimestampType.LogAppendTime, logAppendTimeMs, offset);
}
