import { BATCH_HEADER_SIZE, LOG_OVERHEAD, readBatchHeader, verifyBatchCrc } from '@fluxo/protocol';
/** A batch this large is garbage, not data (Kafka's int32 batchLength, minus headroom). */
export const MAX_BATCH_BYTES = 0x7fff0000;

/** One batch as found in a buffer: where it is and what the scans need from its header. */
export interface BatchInfo {
  /** Offset of the batch start within the scanned buffer. */
  readonly start: number;
  readonly sizeBytes: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly lastOffsetDelta: number;
  readonly maxTimestamp: number;
  readonly magic: number;
  readonly recordCount: number;
  readonly isControl: boolean;
}

export type ScanStop =
  | { kind: 'end' } // buffer ended exactly at a batch boundary
  | { kind: 'incomplete'; start: number; needBytes: number } // the batch at start runs past the buffer
  | { kind: 'invalid'; start: number; reason: string }; // garbage or CRC mismatch at start

/**
 * Walks the concatenated batches in buf from `start`, calling onBatch for each whole one; stops at the
 * buffer end, an incomplete batch or an invalid one. Offsets must strictly increase (after `prevLastOffset`).
 * No per-record work: one header parse (and optionally one CRC) per batch.
 */
export function walkBatches(
  buf: Buffer,
  start: number,
  opts: { verifyCrc: boolean; prevLastOffset: number; checkOffsets?: boolean },
  onBatch: (b: BatchInfo) => boolean | void,
): ScanStop {
  let pos = start;
  let prevLast = opts.prevLastOffset;
  while (pos < buf.length) {
    if (buf.length - pos < LOG_OVERHEAD) return { kind: 'incomplete', start: pos, needBytes: BATCH_HEADER_SIZE };
    const batchLength = buf.readInt32BE(pos + 8);
    const sizeBytes = LOG_OVERHEAD + batchLength;
    if (sizeBytes < BATCH_HEADER_SIZE || sizeBytes > MAX_BATCH_BYTES) {
      return { kind: 'invalid', start: pos, reason: `batch length ${batchLength} out of range` };
    }
    if (buf.length - pos < sizeBytes) return { kind: 'incomplete', start: pos, needBytes: sizeBytes };
    const batch = buf.subarray(pos, pos + sizeBytes);
    const h = readBatchHeader(batch);
    if (h.magic !== 2) return { kind: 'invalid', start: pos, reason: `unsupported magic ${h.magic}` };
    if (h.lastOffsetDelta < 0) return { kind: 'invalid', start: pos, reason: `negative lastOffsetDelta ${h.lastOffsetDelta}` };
    if (opts.checkOffsets !== false && h.baseOffset <= prevLast) {
      return { kind: 'invalid', start: pos, reason: `offset ${h.baseOffset} does not follow ${prevLast}` };
    }
    if (opts.verifyCrc && !verifyBatchCrc(batch)) return { kind: 'invalid', start: pos, reason: 'CRC mismatch' };
    const lastOffset = h.baseOffset + h.lastOffsetDelta;
    const stop = onBatch({
      start: pos,
      sizeBytes,
      baseOffset: h.baseOffset,
      lastOffset,
      lastOffsetDelta: h.lastOffsetDelta,
      maxTimestamp: h.maxTimestamp,
      magic: h.magic,
      recordCount: h.recordCount,
      isControl: h.isControl,
    });
    prevLast = lastOffset;
    pos += sizeBytes;
    if (stop === true) break;
  }
  return { kind: 'end' };
}
