import { DecodeError } from '@fluxo/common';
import { BATCH_HEADER_SIZE, BATCH_LENGTH_OFFSET, CURRENT_MAGIC, LOG_OVERHEAD, MAGIC_OFFSET } from './constants.js';

/** Where each whole batch sits inside a buffer of concatenated batches. */
export interface BatchSpan {
  /** Start of the batch inside the scanned buffer. */
  position: number;
  /** Whole batch size (batchLength + 12). */
  sizeBytes: number;
}

export interface BatchScan {
  spans: BatchSpan[];
  /** Bytes covered by whole batches (from the start of the buffer). */
  validBytes: number;
  /**
   * Bytes after the last whole batch that do not form a whole batch: a partial batch at the end of a Fetch
   * response (normal, Kafka cuts at maxBytes) or a torn write at the end of a log segment. 0 when clean.
   */
  truncatedTailBytes: number;
}

/**
 * Walks concatenated v2 batches using only their length fields. A batch whose length field is impossible
 * (shorter than a header) or whose magic is not 2 throws DecodeError (CORRUPT_MESSAGE, resp.
 * UNSUPPORTED_FOR_MESSAGE_FORMAT); a tail too short to be a whole batch is reported, not thrown.
 */
export function scanBatches(buf: Buffer): BatchScan {
  const spans: BatchSpan[] = [];
  let position = 0;
  while (buf.length - position >= LOG_OVERHEAD) {
    const batchLength = buf.readInt32BE(position + BATCH_LENGTH_OFFSET);
    const sizeBytes = batchLength + LOG_OVERHEAD;
    // Magic first: a legacy (v0/v1) message is shorter than a v2 header and must be named as such.
    if (buf.length - position > MAGIC_OFFSET) {
      const magic = buf.readInt8(position + MAGIC_OFFSET);
      if (magic !== CURRENT_MAGIC) {
        throw new DecodeError(`record batch at ${position} has magic ${magic}; only v2 batches are supported`, 43 /* UNSUPPORTED_FOR_MESSAGE_FORMAT */);
      }
    }
    if (sizeBytes < BATCH_HEADER_SIZE) {
      throw new DecodeError(`record batch at ${position} has impossible length ${batchLength}`, 2 /* CORRUPT_MESSAGE */);
    }
    if (sizeBytes > buf.length - position) break;
    spans.push({ position, sizeBytes });
    position += sizeBytes;
  }
  return { spans, validBytes: position, truncatedTailBytes: buf.length - position };
}

/**
 * Splits concatenated batches into zero-copy views of whole batches. A truncated tail throws DecodeError
 * (CORRUPT_MESSAGE): use this for data that must be complete (a Produce request); use scanBatches where a
 * partial last batch is expected (Fetch responses, log recovery).
 */
export function splitBatches(buf: Buffer): Buffer[] {
  const scan = scanBatches(buf);
  if (scan.truncatedTailBytes !== 0) {
    throw new DecodeError(`truncated record batch: ${scan.truncatedTailBytes} trailing bytes after ${scan.validBytes}`, 2);
  }
  return scan.spans.map((s) => buf.subarray(s.position, s.position + s.sizeBytes));
}

/** Whole batches as zero-copy views, silently dropping a partial last batch (how consumers read Fetch data). */
export function wholeBatches(buf: Buffer): Buffer[] {
  return scanBatches(buf).spans.map((s) => buf.subarray(s.position, s.position + s.sizeBytes));
}
