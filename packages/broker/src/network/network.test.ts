import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@fluxo/common';
import { ApiKey, decodeResponseFrameBody, encodeRequestFrame, readResponseCorrelationId, type ApiVersionsResponse, type FetchResponse, type MetadataResponse, type ProduceResponse } from '@fluxo/protocol';
import { RawClient, startTestNode, type TestNode } from '../testing/raw-client.js';
import { batchOf, createTopic, fetchBody, produceBody } from '../testing/requests.js';

describe('Kafka protocol listener', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ set: { 'socket.request.max.bytes': String(64 * 1024) } });
    const c = await RawClient.connect(node.port);
    await createTopic(c, 'net');
    c.close();
  });
  afterAll(async () => node.cleanup());

  it('answers 50 pipelined requests in request order', async () => {
    const c = await RawClient.connect(node.port);
    const ids: number[] = [];
    // Mix cheap and expensive (fsync) requests so completion order differs from request order.
    for (let i = 0; i < 50; i++) {
      if (i % 3 === 0) ids.push(c.send(ApiKey.Produce, 7, produceBody('net', 0, batchOf([`p${i}`]), -1)));
      else if (i % 3 === 1) ids.push(c.send(ApiKey.Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
      else ids.push(c.send(ApiKey.ApiVersions, 2, {}));
    }
    const got: number[] = [];
    for (let i = 0; i < 50; i++) {
      const frame = await c.nextFrame();
      expect(frame).not.toBeNull();
      got.push(readResponseCorrelationId(frame!));
    }
    expect(got).toEqual(ids);
    c.close();
  });

  it('sends no response for acks=0 but still appends', async () => {
    const c = await RawClient.connect(node.port);
    const before = (await c.request<ProduceResponse>(ApiKey.Produce, 7, produceBody('net', 0, batchOf(['x']), 1))).responses[0]!.partitionResponses[0]!.baseOffset;
    c.send(ApiKey.Produce, 7, produceBody('net', 0, batchOf(['silent']), 0));
    const id = c.send(ApiKey.Produce, 7, produceBody('net', 0, batchOf(['y']), 1));
    const frame = await c.nextFrame();
    expect(readResponseCorrelationId(frame!)).toBe(id);
    const res = decodeResponseFrameBody<ProduceResponse>(ApiKey.Produce, 7, frame!);
    expect(res.responses[0]!.partitionResponses[0]!.baseOffset).toBe(before + 2);
    c.close();
  });

  it('closes only the connection that sent an oversized frame', async () => {
    const good = await RawClient.connect(node.port);
    const bad = await RawClient.connect(node.port);
    const header = Buffer.alloc(4);
    header.writeInt32BE(1024 * 1024);
    bad.writeRaw(header);
    await bad.closedPromise;
    expect(bad.closed).toBe(true);
    const res = await good.request<ApiVersionsResponse>(ApiKey.ApiVersions, 2, {});
    expect(res.errorCode).toBe(ErrorCode.NONE);
    good.close();
  });

  it('closes the connection on an unknown API key, after answering earlier requests', async () => {
    const c = await RawClient.connect(node.port);
    const id = c.send(ApiKey.ApiVersions, 0, {});
    const frame = Buffer.alloc(4 + 10 + 2);
    frame.writeInt32BE(12, 0);
    frame.writeInt16BE(999, 4); // api key
    frame.writeInt16BE(0, 6);
    frame.writeInt32BE(77, 8);
    frame.writeInt16BE(-1, 12); // null client id
    frame.writeInt16BE(0, 14);
    c.writeRaw(frame);
    const first = await c.nextFrame();
    expect(readResponseCorrelationId(first!)).toBe(id);
    expect(await c.nextFrame()).toBeNull();
    expect(c.closed).toBe(true);
  });

  it('closes the connection on a malformed request body', async () => {
    const c = await RawClient.connect(node.port);
    const full = encodeRequestFrame({ apiKey: ApiKey.Metadata, apiVersion: 1, correlationId: 5, clientId: 'x' }, { topics: [{ name: 'abc' }] });
    // Cut the body short but keep a consistent size prefix.
    const cut = Buffer.from(full.subarray(0, full.length - 3));
    cut.writeInt32BE(cut.length - 4, 0);
    c.writeRaw(cut);
    expect(await c.nextFrame()).toBeNull();
  });

  it('answers an unsupported version of an implemented API with UNSUPPORTED_VERSION', async () => {
    const c = await RawClient.connect(node.port);
    // Fetch v3 (legacy message format era): decodable but not advertised.
    const res = await c.request<FetchResponse>(ApiKey.Fetch, 3, fetchBody('net', 0, 0));
    expect(res.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    c.close();
  });

  it('takes magic-2 batches at Produce v0-v2 and refuses legacy message sets with UNSUPPORTED_FOR_MESSAGE_FORMAT', async () => {
    const c = await RawClient.connect(node.port);
    const ok = await c.request<ProduceResponse>(ApiKey.Produce, 2, produceBody('net', 0, batchOf(['v2-at-produce-v2']), 1));
    expect(ok.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
    // A magic-1 message set: offset, size, crc, magic=1, attributes, timestamp, null key, 1-byte value.
    const legacy = Buffer.alloc(8 + 4 + 4 + 1 + 1 + 8 + 4 + 4 + 1);
    legacy.writeInt32BE(legacy.length - 12, 8);
    legacy.writeInt8(1, 16);
    legacy.writeInt32BE(-1, 26);
    legacy.writeInt32BE(1, 30);
    const res = await c.request<ProduceResponse>(ApiKey.Produce, 2, produceBody('net', 0, legacy, 1));
    expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    c.close();
  });

  it('speaks ApiVersions v3 (flexible) and answers an unknown version in v0 with error 35 and the list', async () => {
    const c = await RawClient.connect(node.port);
    const v3 = await c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 'fluxo-test', clientSoftwareVersion: '1.0.0' });
    expect(v3.errorCode).toBe(ErrorCode.NONE);
    const byKey = new Map(v3.apiKeys.map((k) => [k.apiKey, k]));
    expect(byKey.get(ApiKey.Produce)).toMatchObject({ minVersion: 0, maxVersion: 9 });
    expect(byKey.get(ApiKey.Fetch)).toMatchObject({ minVersion: 4, maxVersion: 12 });
    expect(byKey.get(ApiKey.ApiVersions)).toMatchObject({ minVersion: 0, maxVersion: 3 });
    expect(byKey.get(ApiKey.Metadata)!.maxVersion).toBeGreaterThanOrEqual(9);
    expect(byKey.has(ApiKey.SaslHandshake)).toBe(false);

    // ApiVersions v9 from a "future" client: header v2 (flexible), body unparsed, answer is a v0 body.
    const id = 4242;
    const future = Buffer.from([0, 18, 0, 9, 0, 0, 0x10, 0x92, 0, 1, 0x41, 0, 7, 0x66, 0x75, 0x74, 0x75, 0x72, 0x65, 2, 0x39, 0]);
    const sized = Buffer.alloc(4);
    sized.writeInt32BE(future.length);
    c.writeRaw(Buffer.concat([sized, future]));
    const frame = await c.nextFrame();
    expect(readResponseCorrelationId(frame!)).toBe(id);
    const v0 = decodeResponseFrameBody<ApiVersionsResponse>(ApiKey.ApiVersions, 0, frame!);
    expect(v0.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(v0.apiKeys.map((k) => k.apiKey)).toEqual(v3.apiKeys.map((k) => k.apiKey));
    // The connection stays usable (the client retries with a version from the list).
    const again = await c.request<MetadataResponse>(ApiKey.Metadata, 1, { topics: [] });
    expect(again.brokers).toHaveLength(1);
    c.close();
  });

  it('handles a request split across many TCP chunks and many requests in one chunk', async () => {
    const c = await RawClient.connect(node.port);
    const a = encodeRequestFrame({ apiKey: ApiKey.ApiVersions, apiVersion: 1, correlationId: 1, clientId: 'chunks' }, {});
    const b = encodeRequestFrame({ apiKey: ApiKey.Metadata, apiVersion: 0, correlationId: 2, clientId: 'chunks' }, { topics: [] });
    const both = Buffer.concat([a, b, a]);
    for (let i = 0; i < both.length; i += 3) c.writeRaw(both.subarray(i, i + 3));
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(readResponseCorrelationId((await c.nextFrame())!));
    expect(ids).toEqual([1, 2, 1]);
    c.close();
  });

  it('counts requests in the registry', async () => {
    const text = await node.registry.metrics();
    expect(text).toMatch(/fluxo_requests_total\{api="ApiVersions",version="3"\} \d+/);
    expect(text).toMatch(/fluxo_request_errors_total\{api="ApiVersions",error="UNSUPPORTED_VERSION"\} 1/);
    expect(text).toMatch(/fluxo_messages_in_total\{topic="net"\} \d+/);
  });
});

describe('per-connection limits', () => {
  it('keeps answering in order when queued.max.requests / queued.max.request.bytes pause reading', async () => {
    const node = await startTestNode({ set: { 'queued.max.requests': '1', 'queued.max.request.bytes': '1' } });
    try {
      const c = await RawClient.connect(node.port);
      await createTopic(c, 'limited');
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) ids.push(c.send(ApiKey.Produce, 7, produceBody('limited', 0, batchOf([`r${i}`]), 1)));
      const offsets: number[] = [];
      for (let i = 0; i < 20; i++) {
        const frame = (await c.nextFrame())!;
        expect(readResponseCorrelationId(frame)).toBe(ids[i]);
        offsets.push(decodeResponseFrameBody<ProduceResponse>(ApiKey.Produce, 7, frame).responses[0]!.partitionResponses[0]!.baseOffset);
      }
      expect(offsets).toEqual([...Array(20).keys()]);
      c.close();
    } finally {
      await node.cleanup();
    }
  });
});
