import { encodeRecordBatch, setBaseOffset } from '@fluxo/protocol';

/** A client batch of an idempotent producer: `count` records from sequence `seq` (values name producer and sequence). */
export function idempotentBatch(producerId: number, epoch: number, seq: number, count = 1, opts: { timestampMs?: number; transactional?: boolean } = {}): Buffer {
  return encodeRecordBatch({
    compression: 0,
    producerId,
    producerEpoch: epoch,
    baseSequence: seq,
    isTransactional: opts.transactional ?? false,
    baseTimestamp: opts.timestampMs ?? 1_700_000_000_000,
    records: Array.from({ length: count }, (_, i) => ({
      key: null,
      value: Buffer.from(`p${producerId}-e${epoch}-s${seq + i}`),
      timestamp: opts.timestampMs ?? 1_700_000_000_000,
    })),
  });
}

/** The same batch as a leader would have written it at `offset` (what followers and the rebuild see). */
export function atOffset(batch: Buffer, offset: number): Buffer {
  const copy = Buffer.from(batch);
  setBaseOffset(copy, offset, 0);
  return copy;
}
