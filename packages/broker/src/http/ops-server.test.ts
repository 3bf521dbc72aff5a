import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, type ProduceResponse } from '@fluxo/protocol';
import { RawClient, startTestNode, type TestNode } from '../testing/raw-client.js';
import { batchOf, createTopic, produceBody } from '../testing/requests.js';

describe('metrics and health HTTP endpoints (metrics.port)', () => {
  let node: TestNode;
  let base: string;
  beforeAll(async () => {
    node = await startTestNode({ set: { 'metrics.port': '0' } });
    base = `http://127.0.0.1:${node.broker.metricsPort}`;
  });
  afterAll(async () => {
    await node.cleanup();
  });

  it('answers /health and /ready once the node serves clients', async () => {
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'alive' });
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('exposes Prometheus text whose counters move with produced records', async () => {
    const c = await RawClient.connect(node.port);
    await createTopic(c, 'ops');
    const res = await c.request<ProduceResponse>(ApiKey.Produce, 7, produceBody('ops', 0, batchOf(['a', 'b', 'c']), 1));
    expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    c.close();
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/fluxo_messages_in_total\{topic="ops"\} 3/);
    expect(text).toMatch(/fluxo_requests_total\{api="Produce",version="7"\} 1/);
    expect(text).toMatch(/fluxo_log_flush_seconds_count\S* [1-9]/);
  });

  it('is off by default and closes with the node', async () => {
    const plain = await startTestNode();
    expect(plain.broker.metricsPort).toBe(-1);
    await plain.cleanup();
  });
});
