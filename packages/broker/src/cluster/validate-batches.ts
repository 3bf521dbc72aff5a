import { DecodeError, ErrorCode } from '@fluxo/common';
import { CONTROL_FLAG_MASK, COMPRESSION_CODEC_MASK, ATTRIBUTES_OFFSET, LAST_OFFSET_DELTA_OFFSET, RECORDS_COUNT_OFFSET, scanBatches, verifyBatchCrc } from '@fluxo/protocol';

export type BatchValidation =
  | { readonly ok: true; readonly batchCount: number; readonly recordCount: number; readonly sizeBytes: number }
  | { readonly ok: false; readonly errorCode: number; readonly errorMessage: string };

const ZSTD = 4;

/**
 * Kafka's LogValidator checks for records a client produced, per batch (never per record): magic 2, whole
 * batches, CRC-32C, size <= max.message.bytes, record count consistent with the offset delta, no control
 * batches, a known compression codec (zstd needs Produce v7+).
 */
export function validateProducedBatches(records: Buffer | null, maxMessageBytes: number, produceVersion: number): BatchValidation {
  if (records === null || records.length === 0) {
    return { ok: false, errorCode: ErrorCode.INVALID_RECORD, errorMessage: 'Produce request must contain at least one record batch' };
  }
  let scan;
  try {
    scan = scanBatches(records);
  } catch (err) {
    if (err instanceof DecodeError) {
      const code = err.code === ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT ? ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT : ErrorCode.CORRUPT_MESSAGE;
      return { ok: false, errorCode: code, errorMessage: err.message };
    }
    throw err;
  }
  if (scan.truncatedTailBytes !== 0) {
    return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: `truncated record batch: ${scan.truncatedTailBytes} trailing bytes` };
  }
  let recordCount = 0;
  for (const span of scan.spans) {
    const batch = records.subarray(span.position, span.position + span.sizeBytes);
    if (span.sizeBytes > maxMessageBytes) {
      return {
        ok: false,
        errorCode: ErrorCode.MESSAGE_TOO_LARGE,
        errorMessage: `The record batch size ${span.sizeBytes} bytes exceeds max.message.bytes ${maxMessageBytes}`,
      };
    }
    if (!verifyBatchCrc(batch)) return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: 'Record batch CRC-32C does not match its contents' };
    const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
    if ((attributes & CONTROL_FLAG_MASK) !== 0) return { ok: false, errorCode: ErrorCode.INVALID_RECORD, errorMessage: 'Clients are not allowed to write control records' };
    const codec = attributes & COMPRESSION_CODEC_MASK;
    if (codec > ZSTD) return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: `Unknown compression codec ${codec}` };
    if (codec === ZSTD && produceVersion < 7) {
      return { ok: false, errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, errorMessage: 'zstd compression needs Produce v7 or later' };
    }
    const count = batch.readInt32BE(RECORDS_COUNT_OFFSET);
    const lastOffsetDelta = batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET);
    if (count <= 0 || count !== lastOffsetDelta + 1) {
      return { ok: false, errorCode: ErrorCode.INVALID_RECORD, errorMessage: `Record count ${count} does not match last offset delta ${lastOffsetDelta}` };
    }
    recordCount += count;
  }
  return { ok: true, batchCount: scan.spans.length, recordCount, sizeBytes: records.length };
}
