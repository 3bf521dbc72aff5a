import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaProtocolError, randomUuid, silentLogger, type MetadataRecord } from '@fluxo/common';
import { LevelMetadataStore } from './level-metadata-store.js';
import { localAssignments, registerLocalBroker } from './local-registration.js';

const NODE = 1;

function topicCreated(name: string, topicId: string, partitionCount: number, configs: Record<string, string> = {}): MetadataRecord {
  return { type: 'TopicCreated', name, topicId, partitionCount, configs, partitions: localAssignments(NODE, 0, partitionCount) };
}

function partitionsAdded(topicId: string, from: number, partitionCount: number): MetadataRecord {
  return { type: 'PartitionsAdded', topicId, partitionCount, partitions: localAssignments(NODE, from, partitionCount) };
}

const onNode = (partition: number): object => ({ partition, replicas: [NODE], isr: [NODE], leader: NODE, leaderEpoch: 0, partitionEpoch: 0 });

describe('LevelMetadataStore', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tmp = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'fluxo-meta-'));
    dirs.push(d);
    return join(d, 'db');
  };
  const openStore = async (location: string, clusterId: string | null = null): Promise<LevelMetadataStore> => {
    const store = new LevelMetadataStore(location, silentLogger());
    await store.open({ clusterId });
    return store;
  };

  it('commits records durably, notifies listeners and reloads the same image', async () => {
    const location = await tmp();
    const store = await openStore(location);
    const seen: string[] = [];
    store.subscribe((records) => seen.push(...records.map((r) => r.type)));
    const brokerEpoch = await registerLocalBroker(store, { nodeId: NODE, host: 'h', port: 1, rack: null, endpoints: [{ listener: 'PLAINTEXT', host: 'h', port: 1 }] });
    const id = randomUuid();
    await store.commit([topicCreated('t', id, 1, { 'retention.ms': '5' })]);
    await store.commit([partitionsAdded(id, 1, 3)]);
    await store.commit([{ type: 'ConfigChanged', topicId: id, changes: { 'retention.ms': null, 'segment.bytes': '1000' } }]);
    await store.commit([topicCreated('gone', randomUuid(), 1)]);
    await store.commit([{ type: 'TopicDeleted', topicId: store.image().topics.get('gone')!.topicId }]);
    expect(seen).toEqual(['BrokerRegistered', 'BrokerUnfenced', 'TopicCreated', 'PartitionsAdded', 'ConfigChanged', 'TopicCreated', 'TopicDeleted']);
    expect(brokerEpoch).toBe(1);
    const clusterId = store.clusterId();
    const before = store.image();
    await store.close();

    const reopened = await openStore(location);
    const image = reopened.image();
    expect(reopened.clusterId()).toBe(clusterId);
    expect(image.appliedIndex).toBe(7);
    expect([...image.topics.keys()]).toEqual(['t']);
    expect(image.topics.get('t')).toEqual({ name: 't', topicId: id, partitionCount: 3, configs: { 'segment.bytes': '1000' }, partitions: [0, 1, 2].map(onNode) });
    expect(image.topicsById.get(id)!.name).toBe('t');
    expect(image.brokers.get(NODE)).toMatchObject({ nodeId: NODE, host: 'h', port: 1, rack: null, brokerEpoch: 1, fenced: false });
    expect(image).toEqual(before);
    // A restart registers a new incarnation with a new epoch.
    expect(await registerLocalBroker(reopened, { nodeId: NODE, host: 'h', port: 2, rack: null, endpoints: [{ listener: 'PLAINTEXT', host: 'h', port: 2 }] })).toBe(8);
    expect(reopened.image().brokers.get(NODE)).toMatchObject({ port: 2, brokerEpoch: 8, fenced: false });
    await reopened.close();
  });

  it('rejects conflicting records atomically with Kafka error codes', async () => {
    const store = await openStore(await tmp(), 'configured-cluster-id');
    expect(store.clusterId()).toBe('configured-cluster-id');
    const id = randomUuid();
    const code = async (records: MetadataRecord[]): Promise<number> => {
      try {
        await store.commit(records);
        return 0;
      } catch (err) {
        return (err as KafkaProtocolError).code;
      }
    };
    // Partitions need a registered replica.
    expect(await code([topicCreated('x', id, 2)])).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    await registerLocalBroker(store, { nodeId: NODE, host: 'h', port: 1, rack: null, endpoints: [{ listener: 'PLAINTEXT', host: 'h', port: 1 }] });
    await store.commit([topicCreated('x', id, 2)]);
    expect(await code([topicCreated('x', randomUuid(), 1)])).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect(await code([partitionsAdded(id, 2, 2)])).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(await code([{ type: 'TopicDeleted', topicId: randomUuid() }])).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    // All or nothing: the first record of a failing commit is not applied, and no index is used up.
    const index = store.image().appliedIndex;
    expect(await code([topicCreated('y', randomUuid(), 1), { type: 'TopicDeleted', topicId: randomUuid() }])).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    expect(store.image().topics.has('y')).toBe(false);
    expect(store.image().appliedIndex).toBe(index);
    await store.close();
  });

  it('refuses a configured cluster id that differs from the stored one', async () => {
    const location = await tmp();
    const store = await openStore(location, 'aaa');
    await store.close();
    const other = new LevelMetadataStore(location, silentLogger());
    await expect(other.open({ clusterId: 'bbb' })).rejects.toMatchObject({ code: ErrorCode.INCONSISTENT_CLUSTER_ID });
  });
});
