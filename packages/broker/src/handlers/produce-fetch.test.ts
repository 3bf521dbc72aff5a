import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@fluxo/common';
import { ApiKey, CRC_OFFSET, Compression, readResponseCorrelationId, decodeResponseFrameBody, type DeleteRecordsResponse, type FetchResponse, type ProduceResponse } from '@fluxo/protocol';
import { RawClient, startTestNode, type TestNode } from '../testing/raw-client.js';
import { batchOf, createTopic, fetch, fetchBody, listOffset, produce, recordsOf } from '../testing/requests.js';

describe('Produce / Fetch / ListOffsets / DeleteRecords', () => {
  let node: TestNode;
  let c: RawClient;
  beforeAll(async () => {
    node = await startTestNode({ set: { 'auto.create.topics.enable': 'false' } });
    c = await RawClient.connect(node.port);
    await createTopic(c, 'pf', 2);
  });
  afterAll(async () => {
    c.close();
    await node.cleanup();
  });

  it('appends batches, assigns offsets and fetches them back (all codecs)', async () => {
    const codecs = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
    let expected = 0;
    for (const compression of codecs) {
      const res = await produce(c, 'pf', 1, batchOf(['a', 'b', 'c'], { compression }));
      const p = res.responses[0]!.partitionResponses[0]!;
      expect(p.errorCode).toBe(ErrorCode.NONE);
      expect(p.baseOffset).toBe(expected);
      expect(p.logAppendTimeMs).toBe(-1);
      expected += 3;
    }
    const f = await fetch(c, 'pf', 1, 0);
    const data = f.responses[0]!.partitions[0]!;
    expect(data.errorCode).toBe(ErrorCode.NONE);
    expect(data.highWatermark).toBe(15);
    expect(data.lastStableOffset).toBe(15);
    expect(data.logStartOffset).toBe(0);
    expect(data.abortedTransactions).toEqual([]);
    expect(f.sessionId).toBe(0);
    const recs = recordsOf(data.records);
    expect(recs.map((r) => r.offset)).toEqual([...Array(15).keys()]);
    expect(recs.map((r) => r.value).join('')).toBe('abc'.repeat(5));
  });

  it('rejects a CRC-corrupted batch with CORRUPT_MESSAGE and appends nothing', async () => {
    const before = await listOffset(c, 'pf', 0, -1);
    const batch = batchOf(['corrupt-me']);
    batch.writeUInt32BE((batch.readUInt32BE(CRC_OFFSET) + 1) >>> 0, CRC_OFFSET);
    const res = await produce(c, 'pf', 0, batch);
    expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await listOffset(c, 'pf', 0, -1)).offset).toBe(before.offset);
    // A truncated batch too.
    const cut = batchOf(['whole']).subarray(0, 40);
    expect((await produce(c, 'pf', 0, cut)).responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await listOffset(c, 'pf', 0, -1)).offset).toBe(before.offset);
  });

  it('answers per-partition errors: unknown topic/partition, invalid acks, too large', async () => {
    const unknown = await produce(c, 'no-such-topic', 0, batchOf(['x']));
    expect(unknown.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const badPartition = await produce(c, 'pf', 7, batchOf(['x']));
    expect(badPartition.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const acks = await produce(c, 'pf', 0, batchOf(['x']), 2);
    expect(acks.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
    await createTopic(c, 'small', 1, { 'max.message.bytes': '200' });
    const big = await produce(c, 'small', 0, batchOf(['x'.repeat(500)]));
    expect(big.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    const fits = await produce(c, 'small', 0, batchOf(['x'.repeat(10)]));
    expect(fits.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('stamps LogAppendTime when the topic says so', async () => {
    await createTopic(c, 'lat', 1, { 'message.timestamp.type': 'LogAppendTime' });
    const before = Date.now();
    const res = await produce(c, 'lat', 0, batchOf(['t1', 't2'], { timestamp: 1000 }));
    const p = res.responses[0]!.partitionResponses[0]!;
    expect(p.logAppendTimeMs).toBeGreaterThanOrEqual(before);
    const recs = recordsOf((await fetch(c, 'lat', 0, 0)).responses[0]!.partitions[0]!.records);
    expect(recs.map((r) => r.timestamp)).toEqual([p.logAppendTimeMs, p.logAppendTimeMs]);
  });

  it('long-polls until a produce advances the high watermark', async () => {
    await createTopic(c, 'poll', 1);
    const consumer = await RawClient.connect(node.port);
    const id = consumer.send(ApiKey.Fetch, 11, fetchBody('poll', 0, 0, { maxWaitMs: 30_000, minBytes: 1 }));
    let answered = false;
    const response = consumer.nextFrame().then((f) => {
      answered = true;
      return f;
    });
    // The fetch is parked (nothing to read); a produce on another connection wakes it.
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    await produce(c, 'poll', 0, batchOf(['wake']));
    const frame = (await response)!;
    expect(readResponseCorrelationId(frame)).toBe(id);
    const f = decodeResponseFrameBody<FetchResponse>(ApiKey.Fetch, 11, frame);
    expect(recordsOf(f.responses[0]!.partitions[0]!.records).map((r) => r.value)).toEqual(['wake']);
    consumer.close();
  });

  it('returns an empty response after maxWaitMs when nothing arrives', async () => {
    const f = await fetch(c, 'poll', 0, 1, { maxWaitMs: 20, minBytes: 1 });
    expect(f.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(f.responses[0]!.partitions[0]!.records!.length).toBe(0);
  });

  it('answers OFFSET_OUT_OF_RANGE beyond the log end and respects maxBytes (at least one batch)', async () => {
    const out = await fetch(c, 'pf', 1, 1000);
    expect(out.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const one = await fetch(c, 'pf', 1, 0, { maxBytes: 1, partitionMaxBytes: 1 });
    const recs = recordsOf(one.responses[0]!.partitions[0]!.records);
    expect(recs.map((r) => r.offset)).toEqual([0, 1, 2]);
    // Fetch v12 (flexible) works the same.
    const v12 = await fetch(c, 'pf', 1, 3, {}, 12);
    expect(recordsOf(v12.responses[0]!.partitions[0]!.records)[0]!.offset).toBe(3);
  });

  it('lists offsets: latest, earliest, max timestamp, by timestamp', async () => {
    await createTopic(c, 'times', 1);
    await produce(c, 'times', 0, batchOf(['t100'], { timestamp: 100 }));
    await produce(c, 'times', 0, batchOf(['t300'], { timestamp: 300 }));
    await produce(c, 'times', 0, batchOf(['t200'], { timestamp: 200 }));
    expect(await listOffset(c, 'times', 0, -1)).toMatchObject({ errorCode: 0, offset: 3 });
    expect(await listOffset(c, 'times', 0, -2)).toMatchObject({ errorCode: 0, offset: 0 });
    expect(await listOffset(c, 'times', 0, -3)).toMatchObject({ errorCode: 0, offset: 1, timestamp: 300 });
    expect(await listOffset(c, 'times', 0, 150)).toMatchObject({ errorCode: 0, offset: 1, timestamp: 300 });
    expect(await listOffset(c, 'times', 0, 1000)).toMatchObject({ errorCode: 0, offset: -1 });
    expect(await listOffset(c, 'times', 0, -1, 1)).toMatchObject({ errorCode: 0, offset: 3 });
  });

  it('deletes records: raises the log start offset, fetch below it is out of range', async () => {
    const res = await c.request<DeleteRecordsResponse>(ApiKey.DeleteRecords, 1, { topics: [{ name: 'times', partitions: [{ partitionIndex: 0, offset: 2 }] }], timeoutMs: 5000 });
    expect(res.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, lowWatermark: 2 });
    expect((await listOffset(c, 'times', 0, -2)).offset).toBe(2);
    expect((await fetch(c, 'times', 0, 0)).responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const f = await fetch(c, 'times', 0, 2);
    expect(f.responses[0]!.partitions[0]!.logStartOffset).toBe(2);
    const beyond = await c.request<DeleteRecordsResponse>(ApiKey.DeleteRecords, 0, { topics: [{ name: 'times', partitions: [{ partitionIndex: 0, offset: 99 }] }], timeoutMs: 5000 });
    expect(beyond.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  });

  it('produce v9 (flexible) works', async () => {
    const res = await c.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 'pf', partitionData: [{ index: 0, records: batchOf(['v9']) }] }],
    });
    expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
  });
});
