import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@fluxo/common';
import {
  ApiKey,
  type CreatePartitionsResponse,
  type CreateTopicsResponse,
  type DeleteTopicsResponse,
  type DescribeConfigsResponse,
  type IncrementalAlterConfigsResponse,
  type MetadataResponse,
} from '@fluxo/protocol';
import { RawClient, startTestNode, type TestNode } from '../testing/raw-client.js';
import { batchOf, createTopic, produce } from '../testing/requests.js';

const TOPIC = 2;
const BROKER = 4;

describe('admin APIs and Metadata', () => {
  let node: TestNode;
  let c: RawClient;
  beforeAll(async () => {
    node = await startTestNode({ set: { 'log.retention.hours': '48' } });
    c = await RawClient.connect(node.port);
  });
  afterAll(async () => {
    c.close();
    await node.cleanup();
  });

  const create = (topics: { name: string; numPartitions?: number; replicationFactor?: number; configs?: Record<string, string | null> }[], validateOnly = false, version = 7) =>
    c.request<CreateTopicsResponse>(ApiKey.CreateTopics, version, {
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.numPartitions ?? 1,
        replicationFactor: t.replicationFactor ?? 1,
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: 5000,
      validateOnly,
    });
  const metadata = (version: number, topics: { name: string | null; topicId?: string }[] | null, allowAutoTopicCreation = false) =>
    c.request<MetadataResponse>(ApiKey.Metadata, version, { topics, allowAutoTopicCreation, includeTopicAuthorizedOperations: false, includeClusterAuthorizedOperations: false });

  it('validates CreateTopics like Kafka', async () => {
    const res = await create([
      { name: 'ok-topic', numPartitions: 2, configs: { 'cleanup.policy': 'compact, delete' } },
      { name: 'has space' },
      { name: 'rf', replicationFactor: 2 },
      { name: 'parts', numPartitions: 0 },
      { name: 'cfg', configs: { 'retention.ms': 'soon' } },
      { name: 'unknown-cfg', configs: { 'no.such.key': '1' } },
      { name: 'dup' },
      { name: 'dup' },
      { name: 'defaults', numPartitions: -1, replicationFactor: -1 },
    ]);
    const byName = new Map(res.topics.map((t) => [t.name, t]));
    expect(byName.get('ok-topic')).toMatchObject({ errorCode: 0, numPartitions: 2, replicationFactor: 1 });
    expect(byName.get('ok-topic')!.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(byName.get('ok-topic')!.configs!.find((e) => e.name === 'cleanup.policy')).toMatchObject({ value: 'compact,delete', configSource: 1 });
    expect(byName.get('has space')!.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(byName.get('rf')!.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    expect(byName.get('parts')!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(byName.get('cfg')!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(byName.get('unknown-cfg')!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(byName.get('dup')!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(byName.get('defaults')).toMatchObject({ errorCode: 0, numPartitions: 1, replicationFactor: 1 });
    expect((await create([{ name: 'ok-topic' }])).topics[0]!.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    // '.' and '_' collide (metric names).
    expect((await create([{ name: 'a.b' }])).topics[0]!.errorCode).toBe(0);
    expect((await create([{ name: 'a_b' }])).topics[0]!.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    // validateOnly: checked, not created.
    expect((await create([{ name: 'only-validated' }], true)).topics[0]!.errorCode).toBe(0);
    const m = await metadata(4, [{ name: 'only-validated' }]);
    expect(m.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // v0 (no validateOnly, no error message) still works.
    expect((await create([{ name: 'v0-topic' }], false, 0)).topics[0]!.errorCode).toBe(0);
  });

  it('Metadata: all-topics semantics per version, topic ids, auto-create', async () => {
    const names = (r: MetadataResponse): string[] => r.topics.map((t) => t.name ?? '').sort();
    expect(names(await metadata(0, []))).toEqual(expect.arrayContaining(['ok-topic', 'v0-topic']));
    expect(names(await metadata(1, []))).toEqual([]);
    expect(names(await metadata(1, null))).toEqual(expect.arrayContaining(['ok-topic', 'v0-topic']));
    const v12 = await metadata(12, [{ name: 'ok-topic' }]);
    expect(v12.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(v12.controllerId).toBe(1);
    expect(v12.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: node.port, rack: null }]);
    const t = v12.topics[0]!;
    expect(t.partitions.map((p) => [p.partitionIndex, p.leaderId, p.leaderEpoch, p.replicaNodes, p.isrNodes])).toEqual([
      [0, 1, 0, [1], [1]],
      [1, 1, 0, [1], [1]],
    ]);
    const byId = await metadata(12, [{ name: null, topicId: t.topicId! }]);
    expect(byId.topics[0]).toMatchObject({ errorCode: 0, name: 'ok-topic' });
    // v4+: no auto-creation unless asked; then LEADER_NOT_AVAILABLE first, leaders right after.
    expect((await metadata(9, [{ name: 'auto-me' }], false)).topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await metadata(9, [{ name: 'auto-me' }], true)).topics[0]!.errorCode).toBe(ErrorCode.LEADER_NOT_AVAILABLE);
    let again: MetadataResponse;
    do again = await metadata(9, [{ name: 'auto-me' }], true);
    while (again.topics[0]!.errorCode === ErrorCode.LEADER_NOT_AVAILABLE);
    expect(again.topics[0]).toMatchObject({ errorCode: 0, name: 'auto-me' });
    expect((await metadata(9, [{ name: 'bad/name' }], true)).topics[0]!.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  it('DescribeConfigs: topic overrides, broker defaults and synonyms', async () => {
    const res = await c.request<DescribeConfigsResponse>(ApiKey.DescribeConfigs, 4, {
      resources: [
        { resourceType: TOPIC, resourceName: 'ok-topic', configurationKeys: ['cleanup.policy', 'retention.ms', 'max.message.bytes'] },
        { resourceType: BROKER, resourceName: '1', configurationKeys: ['log.retention.ms', 'num.partitions'] },
        { resourceType: TOPIC, resourceName: 'missing', configurationKeys: null },
        { resourceType: BROKER, resourceName: '7', configurationKeys: null },
      ],
      includeSynonyms: true,
      includeDocumentation: true,
    });
    const [topic, broker, missing, otherBroker] = res.results;
    const t = new Map(topic!.configs.map((e) => [e.name, e]));
    expect(t.get('cleanup.policy')).toMatchObject({ value: 'compact,delete', configSource: 1, readOnly: false });
    expect(t.get('cleanup.policy')!.synonyms!.map((s) => s.source)).toEqual([1, 5]);
    // log.retention.hours=48 was set on the broker: the topic inherits it as STATIC_BROKER_CONFIG.
    expect(t.get('retention.ms')).toMatchObject({ value: String(48 * 3600_000), configSource: 4 });
    expect(t.get('retention.ms')!.synonyms![0]).toMatchObject({ name: 'log.retention.ms', source: 4 });
    expect(t.get('max.message.bytes')).toMatchObject({ value: '1048588', configSource: 5, configType: 3 });
    const b = new Map(broker!.configs.map((e) => [e.name, e]));
    expect(b.get('num.partitions')).toMatchObject({ value: '1', configSource: 5, readOnly: true });
    expect(b.get('log.retention.ms')).toMatchObject({ value: String(48 * 3600_000), configSource: 4 });
    expect(missing!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(otherBroker!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    // v0: isDefault instead of sources.
    const v0 = await c.request<DescribeConfigsResponse>(ApiKey.DescribeConfigs, 0, { resources: [{ resourceType: TOPIC, resourceName: 'ok-topic', configurationKeys: null }] });
    const v0map = new Map(v0.results[0]!.configs.map((e) => [e.name, e]));
    expect(v0map.get('cleanup.policy')!.isDefault).toBe(false);
    expect(v0map.get('segment.bytes')!.isDefault).toBe(true);
  });

  it('IncrementalAlterConfigs SET/DELETE/APPEND/SUBTRACT, applied live', async () => {
    await createTopic(c, 'alter-me', 1);
    const alter = (configs: { name: string; configOperation: number; value: string | null }[], validateOnly = false) =>
      c.request<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: TOPIC, resourceName: 'alter-me', configs }], validateOnly });
    const describeTopic = async (): Promise<Map<string, string | null>> => {
      const res = await c.request<DescribeConfigsResponse>(ApiKey.DescribeConfigs, 2, { resources: [{ resourceType: TOPIC, resourceName: 'alter-me', configurationKeys: null }], includeSynonyms: false });
      return new Map(res.results[0]!.configs.map((e) => [e.name, e.value]));
    };
    expect((await alter([{ name: 'max.message.bytes', configOperation: 0, value: '100' }])).responses[0]!.errorCode).toBe(0);
    expect((await describeTopic()).get('max.message.bytes')).toBe('100');
    // Applied live: a 300-byte batch is now too large.
    expect((await produce(c, 'alter-me', 0, batchOf(['y'.repeat(300)]))).responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect((await alter([{ name: 'max.message.bytes', configOperation: 1, value: null }])).responses[0]!.errorCode).toBe(0);
    expect((await produce(c, 'alter-me', 0, batchOf(['y'.repeat(300)]))).responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    expect((await alter([{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }])).responses[0]!.errorCode).toBe(0);
    expect((await describeTopic()).get('cleanup.policy')).toBe('delete,compact');
    expect((await alter([{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }])).responses[0]!.errorCode).toBe(0);
    expect((await describeTopic()).get('cleanup.policy')).toBe('compact');
    expect((await alter([{ name: 'retention.ms', configOperation: 2, value: '5' }])).responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect((await alter([{ name: 'retention.ms', configOperation: 0, value: 'abc' }])).responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect((await alter([{ name: 'nope', configOperation: 0, value: '1' }])).responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect((await alter([{ name: 'retention.ms', configOperation: 0, value: '1234' }], true)).responses[0]!.errorCode).toBe(0);
    expect((await describeTopic()).get('retention.ms')).not.toBe('1234');
    const broker = await c.request<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, 0, {
      resources: [{ resourceType: BROKER, resourceName: '1', configs: [{ name: 'num.partitions', configOperation: 0, value: '3' }] }],
      validateOnly: false,
    });
    expect(broker.responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
  });

  it('CreatePartitions only increases', async () => {
    const grow = (count: number, name = 'ok-topic') => c.request<CreatePartitionsResponse>(ApiKey.CreatePartitions, 3, { topics: [{ name, count, assignments: null }], timeoutMs: 5000, validateOnly: false });
    expect((await grow(4)).results[0]!.errorCode).toBe(0);
    expect((await grow(3)).results[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect((await grow(4)).results[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect((await grow(2, 'missing')).results[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    let m: MetadataResponse;
    do m = await metadata(1, [{ name: 'ok-topic' }]);
    while (m.topics[0]!.errorCode !== 0);
    expect(m.topics[0]!.partitions).toHaveLength(4);
    expect((await produce(c, 'ok-topic', 3, batchOf(['new partition']))).responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
  });

  it('DeleteTopics by name and by id removes the partition directories', async () => {
    const { readdir } = await import('node:fs/promises');
    await createTopic(c, 'doomed', 2);
    await produce(c, 'doomed', 0, batchOf(['bye']));
    expect((await readdir(node.dataDir)).filter((d) => d.startsWith('doomed-'))).toHaveLength(2);
    const res = await c.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 4, { topicNames: ['doomed', 'never-was'], timeoutMs: 5000 });
    expect(res.responses.map((r) => [r.name, r.errorCode])).toEqual([
      ['doomed', 0],
      ['never-was', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect((await metadata(4, [{ name: 'doomed' }])).topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // Directories go asynchronously.
    while ((await readdir(node.dataDir)).some((d) => d.startsWith('doomed'))) await new Promise((r) => setTimeout(r, 10));
    // Re-creating the name starts empty.
    await createTopic(c, 'doomed', 1);
    expect((await produce(c, 'doomed', 0, batchOf(['again']))).responses[0]!.partitionResponses[0]!.baseOffset).toBe(0);
    const id = (await metadata(12, [{ name: 'doomed' }])).topics[0]!.topicId!;
    const byId = await c.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 6, { topics: [{ name: null, topicId: id }], timeoutMs: 5000 });
    expect(byId.responses[0]).toMatchObject({ errorCode: 0, name: 'doomed', topicId: id });
  });
});
