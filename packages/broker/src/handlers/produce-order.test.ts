import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, decodeResponseFrameBody, type FetchResponse, type ProduceResponse } from '@fluxo/protocol';
import { RawClient, startTestNode, type TestNode } from '../testing/raw-client.js';
import { batchOf, fetchBody, produceBody, recordsOf } from '../testing/requests.js';

describe('pipelined produces to a topic that is still being created', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.cleanup();
  });

  it('append in request order (auto-create on the first, the rest arrive while it opens)', async () => {
    const c = await RawClient.connect(node.port);
    const count = 40;
    for (let i = 0; i < count; i++) c.send(ApiKey.Produce, 7, produceBody('autocreated-order', 0, batchOf([`r${i}`]), 1));
    const baseOffsets: number[] = [];
    for (let i = 0; i < count; i++) {
      const frame = await c.nextFrame();
      const res = decodeResponseFrameBody<ProduceResponse>(ApiKey.Produce, 7, frame!);
      const p = res.responses[0]!.partitionResponses[0]!;
      expect(p.errorCode).toBe(0);
      baseOffsets.push(p.baseOffset);
    }
    expect(baseOffsets).toEqual([...Array(count).keys()]);
    const fetched = await c.request<FetchResponse>(ApiKey.Fetch, 11, fetchBody('autocreated-order', 0, 0, { maxWaitMs: 0 }));
    const values = recordsOf(fetched.responses[0]!.partitions[0]!.records).map((r) => r.value);
    expect(values).toEqual([...Array(count).keys()].map((i) => `r${i}`));
    c.close();
  });
});
