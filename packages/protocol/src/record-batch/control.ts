import { DecodeError } from '@fluxo/common';
import { Compression } from '../compression/codec.js';
import { encodeRecordBatch } from './records.js';

/** Control record types (key: int16 version, int16 type). */
export const ControlRecordType = {
  Abort: 0,
  Commit: 1,
} as const;
export type ControlRecordTypeValue = (typeof ControlRecordType)[keyof typeof ControlRecordType];

export function encodeControlRecordKey(type: ControlRecordTypeValue): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt16BE(0, 0); // version
  b.writeInt16BE(type, 2);
  return b;
}

/** Type of a control record from its key; throws DecodeError when the key is malformed. */
export function decodeControlRecordType(key: Buffer | null): number {
  if (key === null || key.length < 4) throw new DecodeError('control record key shorter than 4 bytes', 2);
  return key.readInt16BE(2);
}

/** Transaction marker value: int16 version 0, int32 coordinatorEpoch. */
export function encodeEndTxnMarkerValue(coordinatorEpoch: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b.writeInt16BE(0, 0);
  b.writeInt32BE(coordinatorEpoch, 2);
  return b;
}

export function decodeEndTxnMarkerValue(value: Buffer | null): { version: number; coordinatorEpoch: number } {
  if (value === null || value.length < 6) throw new DecodeError('transaction marker value shorter than 6 bytes', 2);
  return { version: value.readInt16BE(0), coordinatorEpoch: value.readInt32BE(2) };
}

/** A transactional control batch with one COMMIT or ABORT marker, as the transaction coordinator writes. */
export function encodeEndTxnMarkerBatch(opts: {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  timestampMs: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
}): Buffer {
  return encodeRecordBatch({
    baseOffset: opts.baseOffset ?? 0,
    baseTimestamp: opts.timestampMs,
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: -1,
    isTransactional: true,
    isControl: true,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? -1,
    compression: Compression.None,
    records: [
      {
        key: encodeControlRecordKey(opts.commit ? ControlRecordType.Commit : ControlRecordType.Abort),
        value: encodeEndTxnMarkerValue(opts.coordinatorEpoch),
        timestamp: opts.timestampMs,
      },
    ],
  });
}
