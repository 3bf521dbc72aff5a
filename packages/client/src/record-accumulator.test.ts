import { describe, expect, it } from 'vitest';
import { RecordAccumulator, SendCompletion, estimateRecordSizeBytes, type OutgoingRecord } from './record-accumulator.js';

const rec = (value: string, timestampMs = 1000): OutgoingRecord => ({ key: null, value: Buffer.from(value), headers: [], timestampMs });

function appendN(acc: RecordAccumulator, topic: string, partition: number, n: number, nowMs: number, opts: { acks?: number; compression?: number } = {}): SendCompletion {
  const completion = new SendCompletion(n);
  for (let i = 0; i < n; i++) {
    acc.append(topic, partition, { record: rec(`v${i}`), acks: opts.acks ?? -1, compression: opts.compression ?? 0, completion, index: i }, nowMs);
  }
  return completion;
}

describe('RecordAccumulator', () => {
  it('holds a partition until linger passes, then drains all its records as one batch in order', () => {
    const acc = new RecordAccumulator({ lingerMs: 10, batchSizeBytes: 16_384 });
    const completion = appendN(acc, 't', 0, 5, 1000);
    expect(acc.ready(1000).ready).toEqual([]);
    expect(acc.ready(1000).nextReadyInMs).toBe(10);
    expect(acc.ready(1010).ready).toEqual([{ topic: 't', partition: 0 }]);
    const batch = acc.drain('t', 0)!;
    expect(batch.records.map((r) => r.record.value!.toString())).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    acc.complete(batch, 100, -1);
    return expect(completion.promise).resolves.toEqual(
      [0, 1, 2, 3, 4].map((i) => ({ topic: 't', partition: 0, offset: 100 + i, timestamp: 1000 })),
    );
  });

  it('is ready at once when batchSizeBytes are queued, and when flushing', () => {
    const size = estimateRecordSizeBytes(rec('v0'));
    const acc = new RecordAccumulator({ lingerMs: 1000, batchSizeBytes: size * 3 });
    appendN(acc, 't', 0, 2, 0);
    expect(acc.ready(1).ready).toHaveLength(0);
    appendN(acc, 't', 0, 1, 0);
    expect(acc.ready(1).ready).toHaveLength(1);
    appendN(acc, 't', 1, 1, 0);
    acc.beginFlush();
    expect(acc.ready(1).ready).toHaveLength(2);
    acc.endFlush();
  });

  it('keeps one batch in flight per partition; a requeued batch goes first again (no reordering)', async () => {
    const acc = new RecordAccumulator({ lingerMs: 0 });
    const first = appendN(acc, 't', 0, 2, 0);
    const batch1 = acc.drain('t', 0)!;
    const second = appendN(acc, 't', 0, 2, 0);
    expect(acc.ready(5).ready).toEqual([]); // partition busy
    expect(acc.drain('t', 0)).toBeNull();
    acc.requeue(batch1, 50);
    expect(acc.ready(10).ready).toEqual([]); // retry backoff
    expect(acc.ready(50).ready).toHaveLength(1);
    const retried = acc.drain('t', 0)!;
    expect(retried.attempts).toBe(1);
    expect(retried.records.map((r) => [r.completion === first, r.index])).toEqual([
      [true, 0],
      [true, 1],
      [false, 0],
      [false, 1],
    ]);
    acc.complete(retried, 0, -1);
    expect((await first.promise).map((m) => m.offset)).toEqual([0, 1]);
    expect((await second.promise).map((m) => m.offset)).toEqual([2, 3]);
    expect(acc.isEmpty).toBe(true);
  });

  it('pipelines up to maxInFlightBatchesPerPartition batches of a partition, drained in order', async () => {
    const size = estimateRecordSizeBytes(rec('v0'));
    const acc = new RecordAccumulator({ lingerMs: 0, batchSizeBytes: size, maxBatchSizeBytes: 61 + size, maxInFlightBatchesPerPartition: 3 });
    const completion = appendN(acc, 't', 0, 5, 0);
    const drained = [acc.drain('t', 0)!, acc.drain('t', 0)!, acc.drain('t', 0)!];
    expect(drained.map((b) => [b.sequence, b.records[0]!.index])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    expect(acc.drain('t', 0)).toBeNull(); // three in flight: the cap
    expect(acc.ready(0).ready).toEqual([]);
    acc.complete(drained[0]!, 10, -1);
    expect(acc.ready(0).ready).toHaveLength(1);
    const fourth = acc.drain('t', 0)!;
    acc.complete(drained[1]!, 11, -1);
    acc.complete(drained[2]!, 12, -1);
    acc.complete(fourth, 13, -1);
    acc.complete(acc.drain('t', 0)!, 14, -1);
    expect((await completion.promise).map((m) => m.offset)).toEqual([10, 11, 12, 13, 14]);
    expect(acc.isEmpty).toBe(true);
  });

  it('holds a partition while a retried batch waits for the others in flight, then requeues failures in drain order', async () => {
    const size = estimateRecordSizeBytes(rec('v0'));
    const acc = new RecordAccumulator({ lingerMs: 0, batchSizeBytes: size, maxBatchSizeBytes: 61 + size, maxInFlightBatchesPerPartition: 5 });
    const completion = appendN(acc, 't', 0, 6, 0);
    const [b0, b1, b2] = [acc.drain('t', 0)!, acc.drain('t', 0)!, acc.drain('t', 0)!];
    // Failures reported out of drain order still go back in drain order.
    acc.requeue(b2, 20);
    expect(acc.drain('t', 0)).toBeNull(); // a retry is pending: nothing new goes out
    expect(acc.ready(100).ready).toEqual([]);
    acc.requeue(b0, 30);
    expect(acc.drain('t', 0)).toBeNull();
    acc.complete(b1, 1, -1); // the last in-flight batch settles: the failed ones are back at the front
    expect(acc.ready(25).ready).toEqual([]); // the longest backoff applies
    expect(acc.ready(30).ready).toHaveLength(1);
    const order: number[] = [];
    const attempts: number[] = [];
    for (let b = acc.drain('t', 0); b; b = acc.drain('t', 0)) {
      order.push(...b.records.map((r) => r.index));
      attempts.push(b.attempts);
      acc.complete(b, b.records[0]!.index, -1);
    }
    expect(order).toEqual([0, 2, 3, 4, 5]);
    expect(attempts).toEqual([1, 1, 0, 0, 0]);
    expect((await completion.promise).map((m) => m.offset)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(acc.isEmpty).toBe(true);
  });

  it('fails records of a batch waiting for retry when the accumulator is aborted', async () => {
    const acc = new RecordAccumulator({ lingerMs: 0, batchSizeBytes: 1, maxBatchSizeBytes: 100, maxInFlightBatchesPerPartition: 2 });
    const c1 = appendN(acc, 't', 0, 1, 0);
    const c2 = appendN(acc, 't', 0, 1, 0);
    const b1 = acc.drain('t', 0)!;
    const b2 = acc.drain('t', 0)!;
    acc.requeue(b1, 0);
    acc.abortAll(new Error('closed'));
    await expect(c1.promise).rejects.toThrow('closed');
    acc.complete(b2, 1, -1);
    expect((await c2.promise)[0]!.offset).toBe(1);
    expect(acc.isEmpty).toBe(true);
  });

  it('does not mix acks or compression in one batch', () => {
    const acc = new RecordAccumulator({ lingerMs: 0 });
    appendN(acc, 't', 0, 2, 0, { compression: 1 });
    appendN(acc, 't', 0, 2, 0, { compression: 4 });
    const b1 = acc.drain('t', 0)!;
    expect(b1.records).toHaveLength(2);
    expect(b1.compression).toBe(1);
    acc.complete(b1, 0, -1);
    const b2 = acc.drain('t', 0)!;
    expect(b2.compression).toBe(4);
  });

  it('caps a drained batch at maxBatchSizeBytes but always takes at least one record', () => {
    const size = estimateRecordSizeBytes(rec('v0'));
    const acc = new RecordAccumulator({ lingerMs: 0, batchSizeBytes: size, maxBatchSizeBytes: 61 + size * 3 });
    appendN(acc, 't', 0, 10, 0);
    const b = acc.drain('t', 0)!;
    expect(b.records).toHaveLength(3);
    acc.complete(b, 0, -1);
    const big = new RecordAccumulator({ lingerMs: 0, batchSizeBytes: 10, maxBatchSizeBytes: 10 });
    big.append('t', 0, { record: rec('x'.repeat(100)), acks: 1, compression: 0, completion: new SendCompletion(1), index: 0 }, 0);
    expect(big.drain('t', 0)!.records).toHaveLength(1);
  });

  it('splits a batch the broker found too large and keeps sending halves, in order', async () => {
    const acc = new RecordAccumulator({ lingerMs: 0 });
    const completion = appendN(acc, 't', 0, 8, 0);
    const whole = acc.drain('t', 0)!;
    expect(whole.records).toHaveLength(8);
    expect(acc.splitAndRequeue(whole)).toBe(true);
    const sizes: number[] = [];
    const order: number[] = [];
    for (let b = acc.drain('t', 0); b; b = acc.drain('t', 0)) {
      expect(b.sizeBytes).toBeLessThanOrEqual(Math.floor(whole.sizeBytes / 2));
      sizes.push(b.records.length);
      acc.complete(b, order.length, -1);
      order.push(...b.records.map((r) => r.index));
    }
    expect(sizes.length).toBeGreaterThan(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect((await completion.promise).map((m) => m.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const single = new RecordAccumulator({ lingerMs: 0 });
    appendN(single, 't', 0, 1, 0);
    expect(single.splitAndRequeue(single.drain('t', 0)!)).toBe(false);
  });

  it('fails every send() with records in a failed batch, and frees their bytes', async () => {
    const acc = new RecordAccumulator({ lingerMs: 0 });
    const completion = appendN(acc, 't', 0, 3, 0);
    expect(acc.bufferedBytes).toBeGreaterThan(0);
    const b = acc.drain('t', 0)!;
    acc.fail(b, new Error('boom'));
    await expect(completion.promise).rejects.toThrow('boom');
    expect(acc.bufferedBytes).toBe(0);
    expect(acc.isEmpty).toBe(true);
  });

  it('makes appenders wait while bufferMemoryBytes are used, and wakes them when a batch completes', async () => {
    const acc = new RecordAccumulator({ lingerMs: 0, bufferMemoryBytes: 100, batchSizeBytes: 50, maxBatchSizeBytes: 1000 });
    appendN(acc, 't', 0, 10, 0);
    let woke = false;
    const waiting = acc.waitForSpace().then(() => {
      woke = true;
    });
    await Promise.resolve();
    expect(woke).toBe(false);
    acc.complete(acc.drain('t', 0)!, 0, -1);
    await waiting;
    expect(woke).toBe(true);
  });

  it('reports LogAppendTime from the broker as the record timestamp, and -1 offsets for acks=0', async () => {
    const acc = new RecordAccumulator({ lingerMs: 0 });
    const c1 = appendN(acc, 't', 0, 1, 0);
    acc.complete(acc.drain('t', 0)!, 7, 5555);
    expect(await c1.promise).toEqual([{ topic: 't', partition: 0, offset: 7, timestamp: 5555 }]);
    const c2 = appendN(acc, 't', 0, 1, 0, { acks: 0 });
    acc.complete(acc.drain('t', 0)!, -1, -1);
    expect((await c2.promise)[0]!.offset).toBe(-1);
  });

  it('calls onBatchClosed when a partition fills a batch and when it is drained', () => {
    const closed: number[] = [];
    const size = estimateRecordSizeBytes(rec('v0'));
    const acc = new RecordAccumulator({ lingerMs: 0, batchSizeBytes: size * 2, onBatchClosed: (_t, p) => closed.push(p) });
    appendN(acc, 't', 3, 1, 0);
    expect(closed).toEqual([]);
    appendN(acc, 't', 3, 1, 0);
    expect(closed).toEqual([3]);
    appendN(acc, 't', 3, 1, 0);
    acc.drain('t', 3);
    expect(closed).toEqual([3, 3]);
  });
});
