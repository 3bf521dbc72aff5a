import { mkdtemp, readdir, rm, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomUuid } from '@fluxo/common';
import { ApiKey, decodeResponseFrameBody, readResponseCorrelationId, type DescribeConfigsResponse, type FetchResponse, type MetadataResponse } from '@fluxo/protocol';
import { RawClient, startTestNode } from './testing/raw-client.js';
import { batchOf, createTopic, fetch, fetchBody, produce, recordsOf } from './testing/requests.js';

describe('restart on the same data dir', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('keeps topics, ids, configs, data and the cluster id', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fluxo-restart-'));
    dirs.push(dataDir);
    const first = await startTestNode({ dataDir });
    let c = await RawClient.connect(first.port);
    await createTopic(c, 'durable', 2, { 'retention.ms': '3600000' });
    for (let i = 0; i < 5; i++) await produce(c, 'durable', i % 2, batchOf([`m${i}`]));
    const before = await c.request<MetadataResponse>(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    c.close();
    await first.cleanup();
    // Leftovers the next start must tidy: an interrupted deletion and a directory unknown to the metadata.
    await mkdir(join(dataDir, 'gone-0.0123456789abcdef-delete'));
    await mkdir(join(dataDir, 'unknown-0'));
    // A deleted topic's directory (its topic id is gone from the metadata) whose removal a crash interrupted.
    await mkdir(join(dataDir, 'ghost-0'));
    await writeFile(join(dataDir, 'ghost-0', 'partition.metadata'), `version: 0\ntopic_id: ${randomUuid()}\n`);

    const second = await startTestNode({ dataDir });
    c = await RawClient.connect(second.port);
    const after = await c.request<MetadataResponse>(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(after.clusterId).toBe(before.clusterId);
    expect(after.topics.map((t) => [t.name, t.topicId, t.partitions.length])).toEqual(before.topics.map((t) => [t.name, t.topicId, t.partitions.length]));
    expect(recordsOf((await fetch(c, 'durable', 0, 0)).responses[0]!.partitions[0]!.records).map((r) => r.value)).toEqual(['m0', 'm2', 'm4']);
    expect(recordsOf((await fetch(c, 'durable', 1, 0)).responses[0]!.partitions[0]!.records).map((r) => r.value)).toEqual(['m1', 'm3']);
    // Offsets continue where they stopped.
    expect((await produce(c, 'durable', 0, batchOf(['m5']))).responses[0]!.partitionResponses[0]!.baseOffset).toBe(3);
    const cfg = await c.request<DescribeConfigsResponse>(ApiKey.DescribeConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'durable', configurationKeys: ['retention.ms'] }], includeSynonyms: false });
    expect(cfg.results[0]!.configs[0]!.value).toBe('3600000');
    const entries = await readdir(dataDir);
    expect(entries.some((e) => e.endsWith('-delete'))).toBe(false);
    expect(entries.includes('unknown-0')).toBe(false);
    expect(entries.some((e) => e.startsWith('ghost-0'))).toBe(false);
    expect(entries.some((e) => e.startsWith('unknown-0.') && e.endsWith('-stray'))).toBe(true);
    c.close();
    await second.cleanup();
  });

  it('refuses a second node on a data dir in use', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fluxo-lock-'));
    dirs.push(dataDir);
    const first = await startTestNode({ dataDir });
    await expect(startTestNode({ dataDir })).rejects.toThrow(/in use/);
    await first.cleanup();
    const again = await startTestNode({ dataDir });
    await again.cleanup();
  });
});

describe('graceful stop', () => {
  it('answers a parked long poll, then closes connections', async () => {
    const node = await startTestNode();
    const c = await RawClient.connect(node.port);
    await createTopic(c, 'parked');
    const id = c.send(ApiKey.Fetch, 11, fetchBody('parked', 0, 0, { maxWaitMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 20));
    const response = c.nextFrame();
    await node.cleanup();
    const frame = await response;
    expect(frame).not.toBeNull();
    expect(readResponseCorrelationId(frame!)).toBe(id);
    const f = decodeResponseFrameBody<FetchResponse>(ApiKey.Fetch, 11, frame!);
    expect(f.responses[0]!.partitions[0]!.records!.length).toBe(0);
    await c.closedPromise;
  });
});
