import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@fluxo/common';
import { ApiKey, decodeResponseFrameBody, type ApiVersionsResponse, type FindCoordinatorResponse, type OffsetCommitResponse, type ProduceResponse } from '@fluxo/protocol';
import { RawClient, startTestNode, type TestNode } from '../testing/raw-client.js';
import { batchOf, createTopic, fetch as fetchRecords, produceBody } from '../testing/requests.js';

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

  it('labels request latency by API and version, and client-chosen versions it cannot decode as "unsupported"', async () => {
    const c = await RawClient.connect(node.port);
    // ApiVersions v99 (flexible request header v2: null client id, no tagged fields, empty body): answered in
    // v0 with UNSUPPORTED_VERSION.
    const future = Buffer.from([0, 0, 0, 11, 0, ApiKey.ApiVersions, 0, 99, 0, 0, 0, 7, 0xff, 0xff, 0]);
    c.writeRaw(future);
    const unsupported = decodeResponseFrameBody<ApiVersionsResponse>(ApiKey.ApiVersions, 0, (await c.nextFrame())!);
    expect(unsupported.errorCode).toBe(35);
    await fetchRecords(c, 'ops', 0, 0);
    c.close();
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/fluxo_requests_total\{api="ApiVersions",version="unsupported"\} 1/);
    expect(text).not.toMatch(/version="99"/);
    expect(text).toMatch(/fluxo_request_duration_seconds_bucket\{le="\+Inf",api="Produce",version="7"\} 1/);
    expect(text).toMatch(/fluxo_request_duration_seconds_count\{api="Fetch",version="11"\} 1/);
    expect(text).toMatch(/fluxo_bytes_out_total\{topic="ops"\} [1-9]/);
  });

  it('reads log size and offsets per partition at scrape time', async () => {
    const series = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
    const size = (text: string): number => Number(/fluxo_log_size_bytes\{topic="ops",partition="0"\} (\d+)/.exec(text)?.[1]);
    const before = await series();
    expect(before).toMatch(/fluxo_log_end_offset\{topic="ops",partition="0"\} 3/);
    const c = await RawClient.connect(node.port);
    await c.request<ProduceResponse>(ApiKey.Produce, 7, produceBody('ops', 0, batchOf(['d', 'e']), 1));
    c.close();
    const after = await series();
    expect(after).toMatch(/fluxo_log_end_offset\{topic="ops",partition="0"\} 5/);
    expect(after).toMatch(/fluxo_log_start_offset\{topic="ops",partition="0"\} 0/);
    expect(size(after)).toBeGreaterThan(size(before));
  });

  it('reports consumer group lag (high watermark minus committed offset) per group and partition', async () => {
    const c = await RawClient.connect(node.port);
    // As clients do: find the coordinator (creates __consumer_offsets), then commit once it has loaded.
    const found = await c.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 0, { key: 'lagging' });
    expect(found.errorCode).toBe(0);
    const commit = async (): Promise<number> =>
      (
        await c.request<OffsetCommitResponse>(ApiKey.OffsetCommit, 2, {
          groupId: 'lagging',
          generationIdOrMemberEpoch: -1,
          memberId: '',
          retentionTimeMs: -1,
          topics: [{ name: 'ops', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: '' }] }],
        })
      ).topics[0]!.partitions[0]!.errorCode;
    let code = await commit();
    for (let tries = 0; code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      code = await commit();
    }
    expect(code).toBe(0);
    const text = await (await fetch(`${base}/metrics`)).text();
    const end = Number(/fluxo_log_end_offset\{topic="ops",partition="0"\} (\d+)/.exec(text)?.[1]);
    expect(text).toContain(`fluxo_consumergroup_lag{consumergroup="lagging",topic="ops",partition="0"} ${end - 1}`);
    expect(text).toContain('fluxo_consumergroup_current_offset{consumergroup="lagging",topic="ops",partition="0"} 1');
    expect(text).toContain(`fluxo_consumergroup_lag_sum{consumergroup="lagging",topic="ops"} ${end - 1}`);
    await c.request<ProduceResponse>(ApiKey.Produce, 7, produceBody('ops', 0, batchOf(['f']), 1));
    c.close();
    const later = await (await fetch(`${base}/metrics`)).text();
    expect(later).toContain(`fluxo_consumergroup_lag{consumergroup="lagging",topic="ops",partition="0"} ${end}`);
  });

  it('is off by default and closes with the node', async () => {
    const plain = await startTestNode();
    expect(plain.broker.metricsPort).toBe(-1);
    await plain.cleanup();
  });
});
