import { DecodeError } from '@fluxo/common';
import { crc32c } from '@node-rs/crc32';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  CRC_START,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  type TimestampTypeValue,
} from './constants.js';

const TWO_POW_32 = 4294967296;

/** Decoded record batch header (magic 2). Offsets and timestamps are JS numbers. */
export interface RecordBatchHeader {
  baseOffset: number;
  /** Bytes after the batchLength field; the whole batch is batchLength + LOG_OVERHEAD bytes. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** Stored CRC-32C (unsigned). */
  crc: number;
  attributes: number;
  compression: number;
  timestampType: TimestampTypeValue;
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export function readInt64At(buf: Buffer, offset: number): number {
  return buf.readInt32BE(offset) * TWO_POW_32 + buf.readUInt32BE(offset + 4);
}

export function writeInt64At(buf: Buffer, offset: number, v: number): void {
  const hi = Math.floor(v / TWO_POW_32);
  buf.writeInt32BE(hi, offset);
  buf.writeUInt32BE(v - hi * TWO_POW_32, offset + 4);
}

/**
 * Reads the 61-byte header of the batch at `offset` (no copy, no CRC check). Throws DecodeError
 * (CORRUPT_MESSAGE) when fewer than 61 bytes remain.
 */
export function readBatchHeader(buf: Buffer, offset = 0): RecordBatchHeader {
  if (offset < 0 || buf.length - offset < BATCH_HEADER_SIZE) {
    throw new DecodeError(`record batch header needs ${BATCH_HEADER_SIZE} bytes, ${buf.length - offset} left`, 2);
  }
  const attributes = buf.readInt16BE(offset + ATTRIBUTES_OFFSET);
  return {
    baseOffset: readInt64At(buf, offset + BASE_OFFSET_OFFSET),
    batchLength: buf.readInt32BE(offset + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(offset + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(offset + MAGIC_OFFSET),
    crc: buf.readUInt32BE(offset + CRC_OFFSET),
    attributes,
    compression: attributes & COMPRESSION_CODEC_MASK,
    timestampType: (attributes & TIMESTAMP_TYPE_MASK) === 0 ? 0 : 1,
    isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
    lastOffsetDelta: buf.readInt32BE(offset + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64At(buf, offset + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64At(buf, offset + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64At(buf, offset + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(offset + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(offset + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(offset + RECORDS_COUNT_OFFSET),
  };
}

/** Size in bytes of the batch starting at `offset` (batchLength + 12), from its header's length field. */
export function batchSizeAt(buf: Buffer, offset = 0): number {
  return buf.readInt32BE(offset + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
}

/** Last offset of a batch: baseOffset + lastOffsetDelta. */
export function batchLastOffset(buf: Buffer, offset = 0): number {
  return readInt64At(buf, offset + BASE_OFFSET_OFFSET) + buf.readInt32BE(offset + LAST_OFFSET_DELTA_OFFSET);
}

/** CRC-32C of one whole batch's CRC region (bytes 21..end). */
export function computeBatchCrc(batch: Buffer): number {
  return crc32c(batch.subarray(CRC_START)) >>> 0;
}

/**
 * True when `batch` (exactly one whole batch) is long enough, its length field matches, and its stored
 * CRC-32C matches bytes 21..end.
 */
export function verifyBatchCrc(batch: Buffer): boolean {
  if (batch.length < BATCH_HEADER_SIZE) return false;
  if (batch.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD !== batch.length) return false;
  return batch.readUInt32BE(CRC_OFFSET) === computeBatchCrc(batch);
}
