import { readdir, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptDataError, ErrorCode, silentLogger } from '@fluxo/common';
import { encodeRecordBatch } from '@fluxo/protocol';
import { tmpDir } from '../testing/batches.js';
import { decodeSnapshot, encodeSnapshot, snapshotPath } from './snapshot-file.js';
import { ProducerStateManager, type ClientAppendCheck } from './producer-state-manager.js';
import { atOffset, idempotentBatch } from './testing/idempotent-batches.js';

let dir: string;
let cleanup: () => Promise<void>;
let state: ProducerStateManager;
let nextOffset: number;
beforeEach(async () => {
  ({ dir, cleanup } = await tmpDir('fluxo-producer-state-'));
  state = new ProducerStateManager(dir, silentLogger());
  nextOffset = 0;
});
afterEach(async () => {
  await cleanup();
});

const ONE = [{ start: 0 }];
const check = (batch: Buffer): ClientAppendCheck => state.checkClientAppend(batch, ONE);
/** Checks like the leader's writer, then records the batch at the next offsets; returns its base offset. */
function append(batch: Buffer): number {
  const c = check(batch);
  expect(c).toBeNull();
  const placed = atOffset(batch, nextOffset);
  state.onAppended(placed, ONE);
  const base = nextOffset;
  nextOffset += placed.readInt32BE(23) + 1;
  return base;
}
function errorCode(c: ClientAppendCheck): number {
  if (c === null || c.kind !== 'rejected') throw new Error(`expected a refusal, got ${JSON.stringify(c)}`);
  return c.error.code;
}

describe('ProducerStateManager.checkClientAppend', () => {
  it('ignores batches without a producer id', () => {
    const plain = encodeRecordBatch({ compression: 0, records: [{ key: null, value: Buffer.from('x') }] });
    expect(check(plain)).toBeNull();
    expect(state.checkClientAppend(Buffer.concat([plain, plain]), [{ start: 0 }, { start: plain.length }])).toBeNull();
    state.onAppended(atOffset(plain, 0), ONE);
    expect(state.producerCount).toBe(0);
  });

  it('makes an unknown producer start at sequence 0 (UNKNOWN_PRODUCER_ID), then accepts only the next one', () => {
    expect(errorCode(check(idempotentBatch(7, 0, 42, 3)))).toBe(ErrorCode.UNKNOWN_PRODUCER_ID);
    state.onAppended(atOffset(idempotentBatch(7, 0, 42, 3), 0), ONE); // a follower takes it anyway
    nextOffset = 3;
    expect(state.entry(7)?.lastSeq).toBe(44);
    expect(state.entry(7)?.lastSeq).toBe(44);
    expect(errorCode(check(idempotentBatch(7, 0, 46)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(errorCode(check(idempotentBatch(7, 0, 44)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER); // overlaps, not a duplicate
    expect(append(idempotentBatch(7, 0, 45, 2))).toBe(3);
    expect(append(idempotentBatch(8, 0, 0))).toBe(5);
  });

  it('answers a duplicate of any of the last five batches with its original offsets, not older ones', () => {
    const batches = Array.from({ length: 7 }, (_, i) => idempotentBatch(1, 0, i * 2, 2));
    const offsets = batches.map((b) => append(b));
    for (let i = 2; i < 7; i++) {
      const c = check(batches[i]!);
      expect(c?.kind).toBe('duplicate');
      if (c?.kind === 'duplicate') expect([c.batch.firstOffset, c.batch.lastOffset]).toEqual([offsets[i], offsets[i]! + 1]);
    }
    // The two oldest are forgotten: their sequences are no longer next, so they are out of order.
    expect(errorCode(check(batches[0]!))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(errorCode(check(batches[1]!))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('fences older epochs and makes a new epoch start at sequence 0', () => {
    append(idempotentBatch(3, 2, 0, 5));
    expect(errorCode(check(idempotentBatch(3, 1, 5)))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(errorCode(check(idempotentBatch(3, 3, 5)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    append(idempotentBatch(3, 3, 0));
    expect(state.entry(3)?.epoch).toBe(3);
    expect(state.entry(3)?.batches).toHaveLength(1); // the old epoch's batches are gone
    // A duplicate from the previous epoch is fenced, not answered.
    expect(errorCode(check(idempotentBatch(3, 2, 0, 5)))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('wraps sequences past Int32.MAX', () => {
    state.onAppended(atOffset(idempotentBatch(9, 0, 0x7fffffff - 1, 2), 0), ONE);
    nextOffset = 2;
    expect(state.entry(9)?.lastSeq).toBe(0x7fffffff);
    expect(append(idempotentBatch(9, 0, 0, 1))).toBe(2);
  });

  it('refuses several batches in one idempotent append, transactional batches and a missing sequence', () => {
    const a = idempotentBatch(1, 0, 0);
    const b = idempotentBatch(1, 0, 1);
    expect(errorCode(state.checkClientAppend(Buffer.concat([a, b]), [{ start: 0 }, { start: a.length }]))).toBe(ErrorCode.INVALID_RECORD);
    expect(errorCode(check(idempotentBatch(1, 0, 0, 1, { transactional: true })))).toBe(ErrorCode.INVALID_TXN_STATE);
    const noSeq = encodeRecordBatch({ compression: 0, producerId: 1, producerEpoch: 0, baseSequence: -1, records: [{ key: null, value: null }] });
    expect(errorCode(check(noSeq))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('records follower batches without validation, so a new leader knows the producer', () => {
    // A gap and an epoch going back: a follower takes what its leader wrote.
    state.onAppended(atOffset(idempotentBatch(5, 1, 0, 2), 0), ONE);
    state.onAppended(atOffset(idempotentBatch(5, 1, 10, 2), 2), ONE);
    expect(state.entry(5)?.lastSeq).toBe(11);
    const dup = check(idempotentBatch(5, 1, 10, 2));
    expect(dup?.kind === 'duplicate' && dup.batch.firstOffset).toBe(2);
  });

  it('expires producers idle for producer.id.expiration.ms, measured from the batch timestamp', () => {
    append(idempotentBatch(1, 0, 0, 1, { timestampMs: 1000 }));
    append(idempotentBatch(2, 0, 0, 1, { timestampMs: 5000 }));
    expect(state.removeExpired(5999, 5000)).toBe(0);
    expect(state.removeExpired(6000, 5000)).toBe(1);
    expect(state.entry(1)).toBeUndefined();
    expect(state.entry(2)).toBeDefined();
    // Forgotten: the producer is unknown again.
    expect(errorCode(check(idempotentBatch(1, 0, 77)))).toBe(ErrorCode.UNKNOWN_PRODUCER_ID);
    expect(check(idempotentBatch(1, 1, 0))).toBeNull();
  });
});

describe('producer snapshots', () => {
  it('round-trip every retained batch of every producer', async () => {
    for (let p = 0; p < 3; p++) for (let i = 0; i < 6; i++) append(idempotentBatch(100 + p, p, i, 1));
    await state.takeSnapshot(nextOffset);
    expect(await readdir(dir)).toEqual([`${String(nextOffset).padStart(20, '0')}.snapshot`]);
    const again = new ProducerStateManager(dir, silentLogger());
    await again.reload({ forEachBatchHeader: () => Promise.reject(new Error('no scan expected')) }, 0, nextOffset);
    for (let p = 0; p < 3; p++) {
      expect(again.entry(100 + p)?.batches).toEqual(state.entry(100 + p)?.batches);
      expect(again.entry(100 + p)?.epoch).toBe(p);
    }
  });

  it('keeps the two newest snapshots and drops those past the log end on reload', async () => {
    for (const offset of [10, 20, 30]) await state.takeSnapshot(offset);
    expect((await readdir(dir)).sort()).toEqual(['00000000000000000020.snapshot', '00000000000000000030.snapshot']);
    const again = new ProducerStateManager(dir, silentLogger());
    let scannedFrom = -1;
    await again.reload({ forEachBatchHeader: (from) => ((scannedFrom = from), Promise.resolve()) }, 0, 25);
    expect(scannedFrom).toBe(20);
    expect(await readdir(dir)).toEqual(['00000000000000000020.snapshot']);
  });

  it('rejects a garbled snapshot, and reload falls back to an older one', async () => {
    append(idempotentBatch(1, 0, 0));
    const good = encodeSnapshot(1, [state.entry(1)!]);
    expect(decodeSnapshot(good, 'x').producers[0]?.lastSeq).toBe(0);
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 0xff;
    expect(() => decodeSnapshot(bad, 'x')).toThrow(CorruptDataError);
    expect(() => decodeSnapshot(good.subarray(0, 10), 'x')).toThrow(CorruptDataError);
    await writeFile(snapshotPath(dir, 1), good);
    await writeFile(snapshotPath(dir, 2), bad);
    const again = new ProducerStateManager(dir, silentLogger());
    await again.reload({ forEachBatchHeader: () => Promise.resolve() }, 0, 2);
    expect(again.entry(1)?.lastSeq).toBe(0);
    expect(await readdir(dir)).toEqual(['00000000000000000001.snapshot']);
  });
});
