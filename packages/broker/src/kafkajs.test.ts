import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { RawClient, startTestNode, type TestNode } from './testing/raw-client.js';
import { fetch, recordsOf } from './testing/requests.js';

describe('kafkajs 2.2.4 against a Broker', () => {
  let node: TestNode;
  let kafka: Kafka;
  let admin: Admin;
  beforeAll(async () => {
    node = await startTestNode();
    kafka = new Kafka({ brokers: [`127.0.0.1:${node.port}`], clientId: 'vitest', logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
    await node.cleanup();
  });

  it('creates, lists, describes and deletes topics', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'js-a', numPartitions: 3 }, { topic: 'js-b' }], waitForLeaders: true })).toBe(true);
    // Already exists: kafkajs returns false rather than throwing.
    expect(await admin.createTopics({ topics: [{ topic: 'js-a' }] })).toBe(false);
    expect((await admin.listTopics()).sort()).toEqual(['js-a', 'js-b']);
    const meta = await admin.fetchTopicMetadata({ topics: ['js-a'] });
    expect(meta.topics[0]!.partitions.map((p) => p.leader)).toEqual([1, 1, 1]);
    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: node.port }]);
    expect(cluster.controller).toBe(1);
    await admin.deleteTopics({ topics: ['js-b'] });
    expect(await admin.listTopics()).toEqual(['js-a']);
  });

  it('rejects invalid topics with the Kafka errors', async () => {
    const failure = async (topic: { topic: string; replicationFactor?: number; numPartitions?: number }): Promise<string> => {
      try {
        await admin.createTopics({ topics: [topic] });
      } catch (err) {
        return ((err as { errors?: { type: string }[] }).errors ?? []).map((e) => e.type).join(',');
      }
      return 'created';
    };
    expect(await failure({ topic: 'bad name!' })).toBe('INVALID_TOPIC_EXCEPTION');
    expect(await failure({ topic: 'x'.repeat(250) })).toBe('INVALID_TOPIC_EXCEPTION');
    expect(await failure({ topic: '..' })).toBe('INVALID_TOPIC_EXCEPTION');
    expect(await failure({ topic: 'rf3', replicationFactor: 3 })).toBe('INVALID_REPLICATION_FACTOR');
    expect(await failure({ topic: 'zero', numPartitions: 0 })).toBe('INVALID_PARTITIONS');
    expect(await admin.listTopics()).not.toContain('rf3');
  });

  it('produces with acks 0, 1 and -1 and the records read back in order', async () => {
    await admin.createTopics({ topics: [{ topic: 'js-acks', numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (const acks of [-1, 1, 0]) {
      await producer.send({ topic: 'js-acks', acks, messages: [{ key: `k${acks}`, value: `acks=${acks}` }] });
    }
    // acks=0 has no response; a following acks=1 send on the same connection proves it was appended first.
    await producer.send({ topic: 'js-acks', acks: 1, messages: [{ value: 'last' }] });
    await producer.disconnect();
    const offsets = await admin.fetchTopicOffsets('js-acks');
    expect(offsets).toEqual([{ partition: 0, offset: '4', high: '4', low: '0' }]);
    const raw = await RawClient.connect(node.port);
    const f = await fetch(raw, 'js-acks', 0, 0, {}, 4);
    expect(recordsOf(f.responses[0]!.partitions[0]!.records).map((r) => r.value)).toEqual(['acks=-1', 'acks=1', 'acks=0', 'last']);
    raw.close();
  });

  it('auto-creates a topic on produce', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const [r] = await producer.send({ topic: 'js-auto', messages: [{ value: 'x' }, { value: 'y' }] });
    expect(r!.errorCode).toBe(0);
    await producer.disconnect();
    expect(await admin.listTopics()).toContain('js-auto');
    expect((await admin.fetchTopicOffsets('js-auto'))[0]!.high).toBe('2');
  });

  it('describes and alters topic configs, adds partitions', async () => {
    await admin.createTopics({ topics: [{ topic: 'js-cfg', configEntries: [{ name: 'retention.ms', value: '60000' }] }], waitForLeaders: true });
    const describe = async (): Promise<Map<string, { value: string; isDefault: boolean }>> => {
      const res = await admin.describeConfigs({ resources: [{ type: 2, name: 'js-cfg' }], includeSynonyms: false });
      return new Map(res.resources[0]!.configEntries.map((e) => [e.configName, { value: e.configValue, isDefault: e.isDefault }]));
    };
    let cfg = await describe();
    expect(cfg.get('retention.ms')).toEqual({ value: '60000', isDefault: false });
    expect(cfg.get('cleanup.policy')).toEqual({ value: 'delete', isDefault: true });
    await admin.createPartitions({ topicPartitions: [{ topic: 'js-cfg', count: 3 }] });
    const meta = await admin.fetchTopicMetadata({ topics: ['js-cfg'] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'js-cfg', count: 2 }] })).rejects.toThrow();
    cfg = await describe();
    expect(cfg.get('retention.ms')!.value).toBe('60000');
  });
});
