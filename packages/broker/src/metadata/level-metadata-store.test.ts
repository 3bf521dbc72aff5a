import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaProtocolError, silentLogger } from '@fluxo/common';
import { LevelMetadataStore } from './level-metadata-store.js';
import type { MetadataRecord } from './records.js';
import { randomUuid } from './uuid.js';

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

  it('commits records durably, notifies listeners and reloads the same image', async () => {
    const location = await tmp();
    const store = new LevelMetadataStore(location, silentLogger());
    await store.open({ clusterId: null });
    const seen: string[] = [];
    store.subscribe((records) => seen.push(...records.map((r) => r.type)));
    const id = randomUuid();
    await store.commit([{ type: 'TopicCreated', name: 't', topicId: id, partitionCount: 1, configs: { 'retention.ms': '5' } }]);
    await store.commit([{ type: 'PartitionsAdded', topicId: id, partitionCount: 3 }]);
    await store.commit([{ type: 'ConfigChanged', topicId: id, changes: { 'retention.ms': null, 'segment.bytes': '1000' } }]);
    await store.commit([{ type: 'TopicCreated', name: 'gone', topicId: randomUuid(), partitionCount: 1, configs: {} }]);
    await store.commit([{ type: 'TopicDeleted', topicId: store.image().topics.get('gone')!.topicId }]);
    await store.commit([{ type: 'BrokerRegistered', nodeId: 1, host: 'h', port: 1, rack: null }]);
    expect(seen).toEqual(['TopicCreated', 'PartitionsAdded', 'ConfigChanged', 'TopicCreated', 'TopicDeleted', 'BrokerRegistered']);
    const clusterId = store.image().clusterId;
    await store.close();

    const reopened = new LevelMetadataStore(location, silentLogger());
    await reopened.open({ clusterId: null });
    const image = reopened.image();
    expect(image.clusterId).toBe(clusterId);
    expect([...image.topics.keys()]).toEqual(['t']);
    expect(image.topics.get('t')).toEqual({ name: 't', topicId: id, partitionCount: 3, configs: { 'segment.bytes': '1000' } });
    expect(image.topicsById.get(id)!.name).toBe('t');
    expect(image.brokers.get(1)).toEqual({ nodeId: 1, host: 'h', port: 1, rack: null });
    await reopened.close();
  });

  it('rejects conflicting records atomically with Kafka error codes', async () => {
    const store = new LevelMetadataStore(await tmp(), silentLogger());
    await store.open({ clusterId: 'configured-cluster-id' });
    expect(store.image().clusterId).toBe('configured-cluster-id');
    const id = randomUuid();
    await store.commit([{ type: 'TopicCreated', name: 'x', topicId: id, partitionCount: 2, configs: {} }]);
    const code = async (records: MetadataRecord[]): Promise<number> => {
      try {
        await store.commit(records);
        return 0;
      } catch (err) {
        return (err as KafkaProtocolError).code;
      }
    };
    expect(await code([{ type: 'TopicCreated', name: 'x', topicId: randomUuid(), partitionCount: 1, configs: {} }])).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect(await code([{ type: 'PartitionsAdded', topicId: id, partitionCount: 2 }])).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(await code([{ type: 'TopicDeleted', topicId: randomUuid() }])).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    // All or nothing: the first record of a failing commit is not applied.
    expect(await code([{ type: 'TopicCreated', name: 'y', topicId: randomUuid(), partitionCount: 1, configs: {} }, { type: 'TopicDeleted', topicId: randomUuid() }])).toBe(
      ErrorCode.UNKNOWN_TOPIC_ID,
    );
    expect(store.image().topics.has('y')).toBe(false);
    await store.close();
  });

  it('refuses a configured cluster id that differs from the stored one', async () => {
    const location = await tmp();
    const store = new LevelMetadataStore(location, silentLogger());
    await store.open({ clusterId: 'aaa' });
    await store.close();
    const other = new LevelMetadataStore(location, silentLogger());
    await expect(other.open({ clusterId: 'bbb' })).rejects.toMatchObject({ code: ErrorCode.INCONSISTENT_CLUSTER_ID });
  });
});
