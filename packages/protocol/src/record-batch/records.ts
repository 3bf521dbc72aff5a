import { assert, DecodeError } from '@fluxo/common';
import { Compression, compress, decompress } from '../compression/index.js';
import { Reader } from '../primitives/reader.js';
import { Writer } from '../primitives/writer.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  RECORDS_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TimestampType,
  TRANSACTIONAL_FLAG_MASK,
  type TimestampTypeValue,
} from './constants.js';
import { computeBatchCrc, readBatchHeader, verifyBatchCrc, writeInt64At, type RecordBatchHeader } from './header.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** One decoded record. key/value/header values are views of the (decompressed) batch bytes. */
export interface BatchRecord {
  attributes: number;
  offsetDelta: number;
  timestampDelta: number;
  /** baseOffset + offsetDelta. */
  offset: number;
  /** baseTimestamp + timestampDelta, or the batch maxTimestamp for LogAppendTime batches (as Kafka). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface RecordBatch extends RecordBatchHeader {
  records: BatchRecord[];
}

const HEADER_PLACEHOLDER = Buffer.alloc(RECORDS_OFFSET);

/** Smallest possible record: length, attributes, timestampDelta, offsetDelta, key, value, header count. */
const MIN_RECORD_BYTES = 7;

/**
 * Decodes exactly one whole v2 batch: header plus its records (decompressed when needed). Malformed input
 * throws DecodeError (CORRUPT_MESSAGE); a wrong magic throws UNSUPPORTED_FOR_MESSAGE_FORMAT. Pass
 * verifyCrc to also check the CRC-32C first.
 */
export function decodeRecordBatch(batch: Buffer, opts: { verifyCrc?: boolean } = {}): RecordBatch {
  const header = readBatchHeader(batch, 0);
  if (header.magic !== CURRENT_MAGIC) {
    throw new DecodeError(`record batch magic ${header.magic}; only v2 batches are supported`, 43);
  }
  const size = header.batchLength + LOG_OVERHEAD;
  if (size < BATCH_HEADER_SIZE || size > batch.length) {
    throw new DecodeError(`record batch length ${header.batchLength} does not fit ${batch.length} bytes`, 2);
  }
  const whole = size === batch.length ? batch : batch.subarray(0, size);
  if (opts.verifyCrc === true && !verifyBatchCrc(whole)) throw new DecodeError('record batch CRC mismatch', 2);
  if (header.recordCount < 0) throw new DecodeError(`negative record count ${header.recordCount}`, 2);

  const body = decompress(header.compression, whole.subarray(RECORDS_OFFSET));
  if (header.recordCount > body.length / MIN_RECORD_BYTES) {
    throw new DecodeError(`record count ${header.recordCount} cannot fit in ${body.length} bytes`, 2);
  }
  const r = new Reader(body);
  const records = new Array<BatchRecord>(header.recordCount);
  const logAppendTime = header.timestampType === TimestampType.LogAppendTime;
  for (let i = 0; i < header.recordCount; i++) {
    const length = r.readVarInt();
    if (length < MIN_RECORD_BYTES - 1 || length > r.remaining) {
      throw new DecodeError(`record ${i} has invalid length ${length}`, 2);
    }
    const end = r.offset + length;
    const attributes = r.readInt8();
    const timestampDelta = r.readVarLong();
    const offsetDelta = r.readVarInt();
    const keyLength = r.readVarInt();
    const key = keyLength < 0 ? null : r.readSlice(keyLength);
    const valueLength = r.readVarInt();
    const value = valueLength < 0 ? null : r.readSlice(valueLength);
    const headerCount = r.readVarInt();
    if (headerCount < 0 || headerCount > end - r.offset) throw new DecodeError(`record ${i} has invalid header count ${headerCount}`, 2);
    const headers = new Array<RecordHeader>(headerCount);
    for (let h = 0; h < headerCount; h++) {
      const hkLength = r.readVarInt();
      if (hkLength < 0) throw new DecodeError(`record ${i} header ${h} has a null key`, 2);
      const hk = r.readSlice(hkLength).toString('utf8');
      const hvLength = r.readVarInt();
      headers[h] = { key: hk, value: hvLength < 0 ? null : r.readSlice(hvLength) };
    }
    if (r.offset !== end) throw new DecodeError(`record ${i} length ${length} does not match its content`, 2);
    records[i] = {
      attributes,
      offsetDelta,
      timestampDelta,
      offset: header.baseOffset + offsetDelta,
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    };
  }
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} bytes after the last record`, 2);
  return { ...header, records };
}

export interface RecordSpec {
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Defaults to the batch baseTimestamp. */
  timestamp?: number;
  /** Defaults to the record's index in the batch. */
  offsetDelta?: number;
}

export interface RecordBatchSpec {
  baseOffset?: number;
  /** Defaults to the first record's timestamp, else now. */
  baseTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  partitionLeaderEpoch?: number;
  timestampType?: TimestampTypeValue;
  /** For LogAppendTime batches; defaults to the largest record timestamp. */
  maxTimestamp?: number;
  compression: number;
  records: RecordSpec[];
}

function varintSize(v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  let n = 1;
  while (u >= 0x80) {
    u >>>= 7;
    n++;
  }
  return n;
}

function varlongSize(v: number): number {
  let u = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

/** Builds one v2 record batch (synchronous, CRC-32C filled in). */
export function encodeRecordBatch(spec: RecordBatchSpec): Buffer {
  const records = spec.records;
  assert(records.length > 0, 'a record batch needs at least one record');
  const firstTs = records[0]!.timestamp;
  const baseTimestamp = spec.baseTimestamp ?? firstTs ?? Date.now();
  let maxTs = -1;
  let lastOffsetDelta = 0;

  // The header is reserved up front so an uncompressed batch is built in one buffer, without a final copy.
  const w = new Writer(RECORDS_OFFSET + 64 + records.length * 32);
  w.writeRaw(HEADER_PLACEHOLDER);
  for (let i = 0; i < records.length; i++) {
    const rec = records[i]!;
    const ts = rec.timestamp ?? baseTimestamp;
    if (ts > maxTs) maxTs = ts;
    const offsetDelta = rec.offsetDelta ?? i;
    if (offsetDelta > lastOffsetDelta) lastOffsetDelta = offsetDelta;
    const timestampDelta = ts - baseTimestamp;
    const headers = rec.headers ?? [];
    let bodyBytes = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta);
    bodyBytes += rec.key === null ? 1 : varintSize(rec.key.length) + rec.key.length;
    bodyBytes += rec.value === null ? 1 : varintSize(rec.value.length) + rec.value.length;
    bodyBytes += varintSize(headers.length);
    for (const h of headers) {
      const kb = Buffer.byteLength(h.key, 'utf8');
      bodyBytes += varintSize(kb) + kb;
      bodyBytes += h.value === null ? 1 : varintSize(h.value.length) + h.value.length;
    }
    const start = w.length;
    w.writeVarInt(bodyBytes);
    const afterLength = w.length;
    w.writeInt8(0);
    w.writeVarLong(timestampDelta);
    w.writeVarInt(offsetDelta);
    if (rec.key === null) w.writeVarInt(-1);
    else w.writeVarInt(rec.key.length).writeRaw(rec.key);
    if (rec.value === null) w.writeVarInt(-1);
    else w.writeVarInt(rec.value.length).writeRaw(rec.value);
    w.writeVarInt(headers.length);
    for (const h of headers) {
      const kb = Buffer.from(h.key, 'utf8');
      w.writeVarInt(kb.length).writeRaw(kb);
      if (h.value === null) w.writeVarInt(-1);
      else w.writeVarInt(h.value.length).writeRaw(h.value);
    }
    assert(w.length - afterLength === bodyBytes, `record size mismatch at ${i} (${start})`);
  }
  const built = w.toBuffer();
  let out: Buffer;
  if (spec.compression === Compression.None) {
    out = built;
  } else {
    const compressed = compress(spec.compression, built.subarray(RECORDS_OFFSET));
    out = Buffer.allocUnsafe(RECORDS_OFFSET + compressed.length);
    compressed.copy(out, RECORDS_OFFSET);
  }

  let attributes = spec.compression & COMPRESSION_CODEC_MASK;
  assert(attributes === spec.compression, `invalid compression codec ${spec.compression}`);
  if (spec.timestampType === TimestampType.LogAppendTime) attributes |= TIMESTAMP_TYPE_MASK;
  if (spec.isTransactional === true) attributes |= TRANSACTIONAL_FLAG_MASK;
  if (spec.isControl === true) attributes |= CONTROL_FLAG_MASK;

  writeInt64At(out, BASE_OFFSET_OFFSET, spec.baseOffset ?? 0);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  out.writeInt32BE(spec.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH_OFFSET);
  out.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  out.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  out.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  writeInt64At(out, BASE_TIMESTAMP_OFFSET, baseTimestamp);
  writeInt64At(out, MAX_TIMESTAMP_OFFSET, spec.maxTimestamp ?? maxTs);
  writeInt64At(out, PRODUCER_ID_OFFSET, spec.producerId ?? NO_PRODUCER_ID);
  out.writeInt16BE(spec.producerEpoch ?? NO_PRODUCER_EPOCH, PRODUCER_EPOCH_OFFSET);
  out.writeInt32BE(spec.baseSequence ?? NO_SEQUENCE, BASE_SEQUENCE_OFFSET);
  out.writeInt32BE(records.length, RECORDS_COUNT_OFFSET);
  out.writeUInt32BE(computeBatchCrc(out), CRC_OFFSET);
  return out;
}
