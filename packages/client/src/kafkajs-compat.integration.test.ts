import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from './admin.js';
import { Consumer } from './consumer.js';
import type { ConsumerRecord } from './fetcher.js';
import { Producer } from './producer.js';
import { startTestBroker, type TestBroker } from './testing/in-process-broker.js';

// kafkajs (CommonJS) as the reference client: what it writes we must read, and keys must land alike.
const require = createRequire(import.meta.url);
interface KafkajsProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(r: { topic: string; compression?: number; messages: { key?: string; value: string; headers?: Record<string, string> }[] }): Promise<{ partition: number; baseOffset: string }[]>;
}
interface KafkajsAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  fetchTopicOffsets(topic: string): Promise<{ partition: number; offset: string; low: string; high: string }[]>;
}
const { Kafka, CompressionTypes, logLevel, Partitioners } = require('kafkajs') as {
  Kafka: new (c: object) => { producer(o?: object): KafkajsProducer; admin(): KafkajsAdmin };
  CompressionTypes: { None: number; GZIP: number };
  logLevel: { NOTHING: number };
  Partitioners: { DefaultPartitioner: unknown };
};

let node: TestBroker;
beforeAll(async () => {
  node = await startTestBroker();
});
afterAll(async () => {
  await node?.stop();
});

async function consumeAll(topic: string, partitions: number[], count: number): Promise<ConsumerRecord[]> {
  const consumer = new Consumer({ brokers: node.bootstrap, fetchMaxWaitMs: 100 });
  await consumer.connect();
  consumer.assign(partitions.map((partition) => ({ topic, partition, offset: 'earliest' as const })));
  const out: ConsumerRecord[] = [];
  for await (const r of consumer) {
    out.push(r);
    if (out.length >= count) break;
  }
  await consumer.close();
  return out;
}

describe('compatibility with kafkajs', () => {
  for (const [name, codec] of [
    ['none', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
  ] as const) {
    it(`reads what the kafkajs producer wrote (${name}); keyed records sit where our partitioner puts them`, async () => {
      const topic = `kafkajs-${name}`;
      const admin = new Admin({ brokers: node.bootstrap });
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 5 }] });
      await admin.close();

      const kafka = new Kafka({ brokers: [node.bootstrap], clientId: 'kafkajs-compat', logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      const messages = Array.from({ length: 100 }, (_, i) => ({ key: `key-${i % 17}`, value: `value-${i}`, headers: { i: String(i) } }));
      await producer.send({ topic, compression: codec, messages });
      await producer.disconnect();

      const records = await consumeAll(topic, [0, 1, 2, 3, 4], 100);
      expect(records.map((r) => r.value!.toString()).sort()).toEqual(messages.map((m) => m.value).sort());

      // Our producer, same keys: same partitions as kafkajs chose.
      const ours = new Producer({ brokers: node.bootstrap });
      await ours.connect();
      const placed = await ours.send({ topic, messages: messages.map((m) => ({ key: m.key, value: `ours-${m.value}` })) });
      await ours.close();
      const kafkajsPartitionOfKey = new Map(records.map((r) => [r.key!.toString(), r.partition]));
      placed.forEach((p, i) => expect(p.partition, messages[i]!.key).toBe(kafkajsPartitionOfKey.get(messages[i]!.key)));
      for (const r of records) expect(r.headers).toEqual([{ key: 'i', value: Buffer.from(r.value!.toString().slice('value-'.length)) }]);
    });
  }

  it('agrees with kafkajs admin on topic offsets after our producer wrote (all codecs)', async () => {
    const topic = 'kafkajs-offsets';
    const admin = new Admin({ brokers: node.bootstrap });
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const producer = new Producer({ brokers: node.bootstrap });
    await producer.connect();
    for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      await producer.send({ topic, compression, messages: Array.from({ length: 10 }, (_, i) => ({ value: `${compression}-${i}`, partition: i % 2 })) });
    }
    await producer.close();
    const ourOffsets = await admin.listOffsets(topic, 'latest');
    await admin.close();

    const kafka = new Kafka({ brokers: [node.bootstrap], clientId: 'kafkajs-compat', logLevel: logLevel.NOTHING });
    const kafkajsAdmin = kafka.admin();
    await kafkajsAdmin.connect();
    const theirs = await kafkajsAdmin.fetchTopicOffsets(topic);
    await kafkajsAdmin.disconnect();
    expect(theirs.map((t) => ({ partition: t.partition, offset: Number(t.high) })).sort((a, b) => a.partition - b.partition)).toEqual(
      ourOffsets.map((o) => ({ partition: o.partition, offset: o.offset })),
    );
    expect(ourOffsets.map((o) => o.offset)).toEqual([25, 25]);
  });
});
