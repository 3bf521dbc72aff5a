import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, PRODUCER_ID_BLOCK_SIZE } from '@fluxo/common';
import {
  ApiKey,
  decodeResponseFrameBody,
  encodeRecordBatch,
  encodeRequestFrame,
  readResponseCorrelationId,
  type ApiVersionsResponse,
  type InitProducerIdResponse,
  type ProduceResponse,
} from '@fluxo/protocol';
import { RawClient, startTestNode, type TestNode } from '../testing/raw-client.js';
import { createTopic, fetch, produce, produceBody, recordsOf } from '../testing/requests.js';

function idempotentBatch(producerId: number, epoch: number, seq: number, values: string[]): Buffer {
  return encodeRecordBatch({
    compression: 0,
    producerId,
    producerEpoch: epoch,
    baseSequence: seq,
    records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
  });
}

function initProducerId(c: RawClient, version: number, body: Partial<{ transactionalId: string | null; producerId: number; producerEpoch: number }> = {}): Promise<InitProducerIdResponse> {
  return c.request<InitProducerIdResponse>(ApiKey.InitProducerId, version, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1, ...body });
}

const partitionResult = (r: ProduceResponse) => r.responses[0]!.partitionResponses[0]!;

describe('InitProducerId and idempotent Produce (raw frames)', () => {
  let node: TestNode;
  let c: RawClient;
  beforeAll(async () => {
    node = await startTestNode({ set: { 'auto.create.topics.enable': 'false' } });
    c = await RawClient.connect(node.port);
    await createTopic(c, 'idem', 2);
  });
  afterAll(async () => {
    c.close();
    await node.cleanup();
  });

  it('advertises InitProducerId 0-4', async () => {
    const res = await c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
    expect(res.apiKeys.find((k) => k.apiKey === ApiKey.InitProducerId)).toEqual({ apiKey: ApiKey.InitProducerId, minVersion: 0, maxVersion: 4 });
  });

  it('hands out distinct producer ids at epoch 0 on every version, and bumps the epoch of a known one (v3+)', async () => {
    const ids = new Set<number>();
    for (let v = 0; v <= 4; v++) {
      const res = await initProducerId(c, v);
      expect(res.errorCode).toBe(ErrorCode.NONE);
      expect(res.producerEpoch).toBe(0);
      ids.add(res.producerId);
    }
    expect(ids.size).toBe(5);
    const id = [...ids][0]!;
    expect(await initProducerId(c, 4, { producerId: id, producerEpoch: 0 })).toMatchObject({ errorCode: ErrorCode.NONE, producerId: id, producerEpoch: 1 });
    // An exhausted epoch gets a new id.
    const fresh = await initProducerId(c, 3, { producerId: id, producerEpoch: 32766 });
    expect(fresh.errorCode).toBe(ErrorCode.NONE);
    expect(fresh.producerId).not.toBe(id);
    expect(fresh.producerEpoch).toBe(0);
  });

  it('refuses transactional producers and half-given producer ids', async () => {
    expect(await initProducerId(c, 1, { transactionalId: 'txn-1' })).toMatchObject({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 });
    expect((await initProducerId(c, 4, { transactionalId: '' })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await initProducerId(c, 4, { producerId: 5, producerEpoch: -1 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await initProducerId(c, 4, { producerId: -1, producerEpoch: 3 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('answers the same batch sent twice with the same offset and keeps one copy', async () => {
    const { producerId } = await initProducerId(c, 4);
    const first = partitionResult(await produce(c, 'idem', 0, idempotentBatch(producerId, 0, 0, ['a', 'b'])));
    const second = partitionResult(await produce(c, 'idem', 0, idempotentBatch(producerId, 0, 0, ['a', 'b'])));
    expect(first.errorCode).toBe(ErrorCode.NONE);
    expect(second).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: first.baseOffset });
    const next = partitionResult(await produce(c, 'idem', 0, idempotentBatch(producerId, 0, 2, ['c'])));
    expect(next.baseOffset).toBe(first.baseOffset + 2);
    const values = recordsOf((await fetch(c, 'idem', 0, 0)).responses[0]!.partitions[0]!.records).map((r) => r.value);
    expect(values.filter((v) => v === 'a')).toHaveLength(1);
    expect(values.slice(-3)).toEqual(['a', 'b', 'c']);
  });

  it('answers a sequence gap with OUT_OF_ORDER_SEQUENCE_NUMBER and an old epoch with INVALID_PRODUCER_EPOCH', async () => {
    const { producerId } = await initProducerId(c, 4);
    expect(partitionResult(await produce(c, 'idem', 1, idempotentBatch(producerId, 0, 0, ['x']))).errorCode).toBe(ErrorCode.NONE);
    const gap = partitionResult(await produce(c, 'idem', 1, idempotentBatch(producerId, 0, 2, ['y'])));
    expect(gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(gap.baseOffset).toBe(-1);
    const bumped = await initProducerId(c, 4, { producerId, producerEpoch: 0 });
    expect(partitionResult(await produce(c, 'idem', 1, idempotentBatch(producerId, bumped.producerEpoch, 0, ['z']))).errorCode).toBe(ErrorCode.NONE);
    expect(partitionResult(await produce(c, 'idem', 1, idempotentBatch(producerId, 0, 1, ['old']))).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    const values = recordsOf((await fetch(c, 'idem', 1, 0)).responses[0]!.partitions[0]!.records).map((r) => r.value);
    expect(values).toEqual(['x', 'z']);
  });

  it('answers an exact resend of a captured Produce request, on another connection, with the original offset', async () => {
    const { producerId } = await initProducerId(c, 4);
    const frame = encodeRequestFrame(
      { apiKey: ApiKey.Produce, apiVersion: 7, correlationId: 77, clientId: 'captured' },
      produceBody('idem', 0, idempotentBatch(producerId, 0, 0, ['once-1', 'once-2', 'once-3'])),
    );
    const responses: ProduceResponse[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const raw = await RawClient.connect(node.port);
      raw.writeRaw(Buffer.from(frame));
      const response = await raw.nextFrame();
      raw.close();
      expect(readResponseCorrelationId(response!)).toBe(77);
      responses.push(decodeResponseFrameBody<ProduceResponse>(ApiKey.Produce, 7, response!));
    }
    const offsets = responses.map((r) => partitionResult(r));
    expect(offsets.every((p) => p.errorCode === ErrorCode.NONE && p.baseOffset === offsets[0]!.baseOffset)).toBe(true);
    const values = recordsOf((await fetch(c, 'idem', 0, 0)).responses[0]!.partitions[0]!.records).map((r) => r.value);
    expect(values.filter((v) => v === 'once-1')).toHaveLength(1);
  });
});

describe('producer ids and state across a restart', () => {
  it('never hands out an id twice and still detects duplicates after the node restarts', async () => {
    const first = await startTestNode({ set: { 'auto.create.topics.enable': 'false' } });
    let c = await RawClient.connect(first.port);
    await createTopic(c, 'restart');
    const before = await initProducerId(c, 4);
    const batch = (): Buffer => idempotentBatch(before.producerId, 0, 0, ['r1', 'r2']);
    const written = partitionResult(await produce(c, 'restart', 0, batch()));
    c.close();
    await first.broker.stop();

    const second = await startTestNode({ dataDir: first.dataDir, set: { 'auto.create.topics.enable': 'false' } });
    try {
      c = await RawClient.connect(second.port);
      const after = await initProducerId(c, 4);
      // A new block: past every id the first run could have handed out.
      expect(after.producerId).toBeGreaterThanOrEqual(Math.floor(before.producerId / PRODUCER_ID_BLOCK_SIZE + 1) * PRODUCER_ID_BLOCK_SIZE);
      expect(partitionResult(await produce(c, 'restart', 0, batch()))).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: written.baseOffset });
      expect(recordsOf((await fetch(c, 'restart', 0, 0)).responses[0]!.partitions[0]!.records).map((r) => r.value)).toEqual(['r1', 'r2']);
      c.close();
    } finally {
      await second.cleanup();
      await first.cleanup();
    }
  });
});
