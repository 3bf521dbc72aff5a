import { DecodeError } from '@fluxo/common';
import { describe, expect, it } from 'vitest';
import { Compression } from '../compression/codec.js';
import {
  BATCH_HEADER_SIZE,
  CRC_OFFSET,
  TimestampType,
  batchLastOffset,
  computeBatchCrc,
  decodeControlRecordType,
  decodeEndTxnMarkerValue,
  decodeRecordBatch,
  encodeEndTxnMarkerBatch,
  encodeRecordBatch,
  readBatchHeader,
  scanBatches,
  setBaseOffset,
  setMaxTimestampAndLogAppendTime,
  setPartitionLeaderEpoch,
  splitBatches,
  verifyBatchCrc,
  wholeBatches,
  type RecordSpec,
} from './index.js';

const codecs = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];

function sampleRecords(n: number): RecordSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
    value: i % 5 === 4 ? null : Buffer.from(`value-${i}-`.repeat(1 + (i % 7))),
    headers: i % 2 === 0 ? [] : [{ key: 'h1', value: Buffer.from([i & 0xff]) }, { key: 'ключ', value: null }],
    timestamp: 1_700_000_000_000 + i * 10,
  }));
}

describe('record batch encode/decode', () => {
  it.each(codecs)('round-trips records with codec %i', (codec) => {
    const records = sampleRecords(50);
    const batch = encodeRecordBatch({
      baseOffset: 1000,
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 7,
      partitionLeaderEpoch: 5,
      compression: codec,
      records,
    });
    expect(verifyBatchCrc(batch)).toBe(true);
    const h = readBatchHeader(batch);
    expect(h).toMatchObject({
      baseOffset: 1000,
      batchLength: batch.length - 12,
      partitionLeaderEpoch: 5,
      magic: 2,
      compression: codec,
      timestampType: 0,
      isTransactional: false,
      isControl: false,
      lastOffsetDelta: 49,
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_490,
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 7,
      recordCount: 50,
    });
    expect(h.crc).toBe(computeBatchCrc(batch));
    expect(batchLastOffset(batch)).toBe(1049);
    const decoded = decodeRecordBatch(batch, { verifyCrc: true });
    expect(decoded.records).toHaveLength(50);
    decoded.records.forEach((r, i) => {
      const want = records[i]!;
      expect(r.offset).toBe(1000 + i);
      expect(r.offsetDelta).toBe(i);
      expect(r.timestamp).toBe(want.timestamp);
      expect(r.key).toEqual(want.key);
      expect(r.value).toEqual(want.value);
      expect(r.headers).toEqual(want.headers);
    });
  });

  it('uncompressed record keys and values are views of the batch (no copy)', () => {
    const batch = encodeRecordBatch({ compression: Compression.None, records: [{ key: Buffer.from('k'), value: Buffer.from('v') }] });
    const rec = decodeRecordBatch(batch).records[0]!;
    expect(rec.value!.buffer).toBe(batch.buffer);
  });

  it('flags transactional and control batches; end-txn markers decode', () => {
    const marker = encodeEndTxnMarkerBatch({ producerId: 9, producerEpoch: 1, commit: true, coordinatorEpoch: 4, timestampMs: 1234, baseOffset: 77 });
    const d = decodeRecordBatch(marker, { verifyCrc: true });
    expect(d.isControl).toBe(true);
    expect(d.isTransactional).toBe(true);
    expect(d.attributes & 0x30).toBe(0x30);
    expect(decodeControlRecordType(d.records[0]!.key)).toBe(1);
    expect(decodeEndTxnMarkerValue(d.records[0]!.value)).toEqual({ version: 0, coordinatorEpoch: 4 });
    expect(d.records[0]!.offset).toBe(77);
  });

  it('honours explicit offset deltas (compacted batches)', () => {
    const batch = encodeRecordBatch({ compression: Compression.None, records: [
      { key: null, value: Buffer.from('a'), offsetDelta: 0 },
      { key: null, value: Buffer.from('b'), offsetDelta: 5 },
    ] });
    expect(readBatchHeader(batch).lastOffsetDelta).toBe(5);
    expect(decodeRecordBatch(batch).records.map((r) => r.offset)).toEqual([0, 5]);
  });
});

describe('CRC and in-place rewrites', () => {
  it('a flipped bit anywhere in the CRC region fails verification', () => {
    const batch = encodeRecordBatch({ compression: Compression.None, records: sampleRecords(5) });
    for (let pos = 21; pos < batch.length; pos += 7) {
      const copy = Buffer.from(batch);
      copy[pos]! ^= 0x10;
      expect(verifyBatchCrc(copy), `bit flip at ${pos}`).toBe(false);
    }
    const copy = Buffer.from(batch);
    copy[CRC_OFFSET]! ^= 1;
    expect(verifyBatchCrc(copy)).toBe(false);
    expect(() => decodeRecordBatch(copy, { verifyCrc: true })).toThrow(DecodeError);
  });

  it('baseOffset and leader epoch rewrites keep the CRC valid', () => {
    const batch = encodeRecordBatch({ compression: Compression.Lz4, records: sampleRecords(3) });
    const crc = batch.readUInt32BE(CRC_OFFSET);
    setBaseOffset(batch, 2 ** 40 + 5);
    setPartitionLeaderEpoch(batch, 17);
    expect(batch.readUInt32BE(CRC_OFFSET)).toBe(crc);
    expect(verifyBatchCrc(batch)).toBe(true);
    const h = readBatchHeader(batch);
    expect([h.baseOffset, h.partitionLeaderEpoch]).toEqual([2 ** 40 + 5, 17]);
    expect(decodeRecordBatch(batch).records[2]!.offset).toBe(2 ** 40 + 7);
  });

  it('LogAppendTime rewrite recomputes the CRC and record timestamps follow maxTimestamp', () => {
    const batch = encodeRecordBatch({ compression: Compression.None, records: sampleRecords(3) });
    setMaxTimestampAndLogAppendTime(batch, 1_800_000_000_000);
    expect(verifyBatchCrc(batch)).toBe(true);
    const d = decodeRecordBatch(batch);
    expect(d.timestampType).toBe(TimestampType.LogAppendTime);
    expect(d.maxTimestamp).toBe(1_800_000_000_000);
    expect(d.records.every((r) => r.timestamp === 1_800_000_000_000)).toBe(true);
  });
});

describe('batch scanning', () => {
  const a = encodeRecordBatch({ baseOffset: 0, compression: Compression.None, records: sampleRecords(2) });
  const b = encodeRecordBatch({ baseOffset: 2, compression: Compression.Gzip, records: sampleRecords(4) });
  const both = Buffer.concat([a, b]);

  it('splits concatenated batches into zero-copy views', () => {
    const parts = splitBatches(both);
    expect(parts.map((p) => p.length)).toEqual([a.length, b.length]);
    expect(parts[1]!.buffer).toBe(both.buffer);
    expect(splitBatches(Buffer.alloc(0))).toEqual([]);
  });

  it('detects a truncated tail at every cut point', () => {
    for (let cut = 1; cut < b.length; cut++) {
      const data = both.subarray(0, a.length + cut);
      const scan = scanBatches(data);
      expect(scan.spans).toHaveLength(1);
      expect(scan.validBytes).toBe(a.length);
      expect(scan.truncatedTailBytes).toBe(cut);
      expect(() => splitBatches(data)).toThrow(DecodeError);
      expect(wholeBatches(data)).toHaveLength(1);
    }
  });

  it('rejects impossible lengths and legacy magic', () => {
    const bad = Buffer.from(a);
    bad.writeInt32BE(10, 8);
    expect(() => splitBatches(bad)).toThrow(DecodeError);
    const legacy = Buffer.from(a);
    legacy.writeInt8(1, 16);
    try {
      splitBatches(legacy);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).code).toBe(43);
    }
    expect(() => decodeRecordBatch(legacy)).toThrow(DecodeError);
    expect(() => readBatchHeader(a.subarray(0, BATCH_HEADER_SIZE - 1))).toThrow(DecodeError);
  });

  it('decodeRecordBatch rejects corrupted record sections with DecodeError only', () => {
    for (let pos = BATCH_HEADER_SIZE - 4; pos < a.length; pos++) {
      for (const v of [0x00, 0xff, 0x7f, 0x80]) {
        const copy = Buffer.from(a);
        copy[pos] = v;
        try {
          decodeRecordBatch(copy);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }
    }
  });
});
