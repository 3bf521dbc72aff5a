import { describe, expect, it } from 'vitest';
import { RecordAccumulator, SendCompletion, addSequence, type DrainedBatch, type OutgoingRecord, type ProducerIdentity } from './record-accumulator.js';

const rec = (value: string): OutgoingRecord => ({ key: null, value: Buffer.from(value), headers: [], timestampMs: 1000 });

/** An accumulator whose producer identity the test controls. */
function setup(maxInFlight = 5): { acc: RecordAccumulator; set: (id: ProducerIdentity | null) => void } {
  let identity: ProducerIdentity | null = { producerId: 7, producerEpoch: 0 };
  const acc = new RecordAccumulator({ lingerMs: 0, maxInFlightBatchesPerPartition: maxInFlight, identity: () => identity });
  return { acc, set: (id) => (identity = id) };
}

function append(acc: RecordAccumulator, values: string[], partition = 0): SendCompletion {
  const completion = new SendCompletion(values.length);
  values.forEach((v, i) => acc.append('t', partition, { record: rec(v), acks: -1, compression: 0, completion, index: i }, 0));
  return completion;
}
const values = (b: DrainedBatch): string[] => b.records.map((r) => r.record.value!.toString());
const ident = (b: DrainedBatch): [number, number, number] => [b.producerId, b.producerEpoch, b.baseSequence];

describe('RecordAccumulator with idempotence', () => {
  it('numbers each partition\'s records from 0 under the producer identity', () => {
    const { acc } = setup();
    append(acc, ['a', 'b', 'c']);
    const b1 = acc.drain('t', 0)!;
    append(acc, ['d', 'e']);
    const b2 = acc.drain('t', 0)!;
    append(acc, ['x'], 1);
    const other = acc.drain('t', 1)!;
    expect([ident(b1), ident(b2), ident(other)]).toEqual([
      [7, 0, 0],
      [7, 0, 3],
      [7, 0, 0],
    ]);
    expect(addSequence(0x7fffffff, 1)).toBe(0);
    expect(addSequence(0x7ffffffe, 3)).toBe(1);
  });

  it('drains nothing new without an identity (InitProducerId or an epoch bump pending)', () => {
    const { acc, set } = setup();
    set(null);
    append(acc, ['a']);
    expect(acc.ready(0).ready).toEqual([]);
    expect(acc.drain('t', 0)).toBeNull();
    set({ producerId: 7, producerEpoch: 0 });
    expect(ident(acc.drain('t', 0)!)).toEqual([7, 0, 0]);
  });

  it('resends failed batches intact and in order once the in-flight ones settled; new records follow', async () => {
    const { acc } = setup();
    const first = append(acc, ['a', 'b']);
    const b1 = acc.drain('t', 0)!;
    append(acc, ['c']);
    const b2 = acc.drain('t', 0)!;
    append(acc, ['d']);
    const b3 = acc.drain('t', 0)!;
    append(acc, ['e']);
    acc.requeue(b1, 0); // NOT_LEADER_OR_FOLLOWER, say
    expect(acc.drain('t', 0)).toBeNull(); // waits for b2, b3
    acc.requeue(b2, 0); // OUT_OF_ORDER_SEQUENCE_NUMBER: b1 is missing
    acc.complete(b3, 42, -1); // impossible on a real broker, but the order rule must not care
    const r1 = acc.drain('t', 0)!;
    const r2 = acc.drain('t', 0)!;
    expect([values(r1), ident(r1), r1.attempts]).toEqual([['a', 'b'], [7, 0, 0], 1]);
    expect([values(r2), ident(r2), r2.attempts]).toEqual([['c'], [7, 0, 2], 1]);
    expect(r1.firstSentAtMs).toBe(b1.firstSentAtMs);
    const next = acc.drain('t', 0)!;
    expect([values(next), ident(next)]).toEqual([['e'], [7, 0, 4]]);
    acc.complete(r1, 10, -1);
    await expect(first.promise).resolves.toHaveLength(2);
  });

  it('knows which batch is the next one the broker expects', () => {
    const { acc } = setup();
    append(acc, ['a']);
    const b1 = acc.drain('t', 0)!;
    append(acc, ['b']);
    const b2 = acc.drain('t', 0)!;
    expect(acc.isNextSequence(b1)).toBe(true);
    expect(acc.isNextSequence(b2)).toBe(false);
    acc.complete(b1, 0, -1);
    expect(acc.isNextSequence(b2)).toBe(true);
  });

  it('moves to a new identity only when nothing of the old one is unresolved', () => {
    const { acc, set } = setup();
    append(acc, ['a']);
    const old = acc.drain('t', 0)!;
    set({ producerId: 7, producerEpoch: 1 });
    append(acc, ['b']);
    expect(acc.drain('t', 0)).toBeNull(); // 'a' (epoch 0) still in flight
    acc.requeue(old, 0);
    const again = acc.drain('t', 0)!;
    expect(ident(again)).toEqual([7, 0, 0]); // resent as it was: the broker may have it
    acc.complete(again, 0, -1);
    expect(ident(acc.drain('t', 0)!)).toEqual([7, 1, 0]);
  });

  it('resequences a partition with a gap: unresolved batches are re-batched under the next identity from 0', async () => {
    const { acc, set } = setup();
    const lost = append(acc, ['a']);
    const b1 = acc.drain('t', 0)!;
    append(acc, ['b']);
    const b2 = acc.drain('t', 0)!;
    append(acc, ['c']);
    acc.fail(b1, new Error('gone for good'));
    await expect(lost.promise).rejects.toThrow('gone for good');
    set(null); // bump requested
    acc.resequencePartition('t', 0);
    acc.requeue(b2, 0); // OUT_OF_ORDER_SEQUENCE_NUMBER after the gap
    expect(acc.drain('t', 0)).toBeNull();
    set({ producerId: 7, producerEpoch: 1 });
    const r = acc.drain('t', 0)!;
    expect([values(r), ident(r)]).toEqual([['b', 'c'], [7, 1, 0]]);
  });
});
