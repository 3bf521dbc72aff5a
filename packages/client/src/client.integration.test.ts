import { createRegistry, ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { apis } from '@fluxo/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from './admin.js';
import { FluxoClient } from './client.js';
import { Connection } from './connection.js';
import { Consumer } from './consumer.js';
import type { ConsumerRecord } from './fetcher.js';
import { partitionForKey } from './partitioner.js';
import { Producer } from './producer.js';
import { startTestBroker, type TestBroker } from './testing/in-process-broker.js';
import type { CompressionName } from './compression.js';

let node: TestBroker;
let admin: Admin;

beforeAll(async () => {
  node = await startTestBroker();
  admin = new Admin({ brokers: node.bootstrap, clientId: 'test-admin' });
  await admin.connect();
});

afterAll(async () => {
  await admin?.close();
  await node?.stop();
});

let topicCounter = 0;
async function newTopic(numPartitions = 1, configs: Record<string, string> = {}): Promise<string> {
  const topic = `t${++topicCounter}-${Date.now().toString(36)}`;
  await admin.createTopics({ topics: [{ topic, numPartitions, configs }] });
  return topic;
}

/** Reads until `count` records arrived (the consumer keeps following, so stop explicitly). */
async function consumeN(consumer: Consumer, count: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  if (count === 0) return out;
  for await (const record of consumer) {
    out.push(record);
    if (out.length >= count) break;
  }
  return out;
}

function newConsumer(options: Partial<ConstructorParameters<typeof Consumer>[0]> = {}): Consumer {
  return new Consumer({ brokers: node.bootstrap, clientId: 'test-consumer', fetchMaxWaitMs: 100, ...options });
}

describe('connection', () => {
  it('negotiates versions within what the broker advertises and pipelines requests under the in-flight bound', async () => {
    const [host, port] = node.bootstrap.split(':');
    const connection = new Connection({ host: host!, port: Number(port), clientId: 'test', maxInFlightRequests: 2 });
    await connection.connect();
    const produceVersion = connection.versionFor(apis.Produce);
    expect(produceVersion).toBeGreaterThanOrEqual(3);
    const responses = await Promise.all(
      Array.from({ length: 40 }, () => connection.send(apis.Metadata, { topics: [], allowAutoTopicCreation: false })),
    );
    expect(responses).toHaveLength(40);
    expect(responses.every((r) => r.brokers.length === 1)).toBe(true);
    expect(connection.inFlightCount).toBe(0);
    await connection.close();
    await expect(connection.send(apis.Metadata, { topics: [] })).rejects.toMatchObject({ code: ErrorCode.NETWORK_EXCEPTION });
  });

  it('fails a request that outlives its timeout with REQUEST_TIMED_OUT (a long poll the broker holds)', async () => {
    const topic = await newTopic(1);
    const [host, port] = node.bootstrap.split(':');
    const connection = new Connection({ host: host!, port: Number(port), clientId: 'test' });
    await connection.connect();
    const fetch = connection.send(
      apis.Fetch,
      {
        replicaId: -1,
        maxWaitMs: 10_000,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
      },
      { timeoutMs: 200 },
    );
    await expect(fetch).rejects.toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT });
    expect(connection.isClosed).toBe(true);
  });

  it('reports an unreachable bootstrap server as NETWORK_EXCEPTION', async () => {
    const admin2 = new Admin({ brokers: '127.0.0.1:1', retry: { retries: 0 } });
    await expect(admin2.connect()).rejects.toMatchObject({ code: ErrorCode.NETWORK_EXCEPTION });
    await admin2.close();
  });
});

describe('FluxoClient', () => {
  it('creates components sharing the connection settings (README example)', async () => {
    const fluxo = new FluxoClient({ brokers: [node.bootstrap], clientId: 'payments' });
    const a = fluxo.admin();
    await a.connect();
    await a.createTopics({ topics: [{ topic: 'readme-orders', numPartitions: 6, configs: { 'retention.ms': '86400000' } }] });
    const producer = fluxo.producer({ acks: -1, compression: 'zstd', lingerMs: 5 });
    await producer.connect();
    const [meta] = await producer.send({ topic: 'readme-orders', messages: [{ key: 'order-1', value: '{"amount":10}', headers: { source: 'web' } }] });
    const consumer = fluxo.consumer({ autoOffsetReset: 'earliest' });
    await consumer.connect();
    consumer.assign([{ topic: 'readme-orders', partition: meta!.partition, offset: 'earliest' }]);
    let seen: string | undefined;
    for await (const record of consumer) {
      seen = `${record.key?.toString()} ${record.value?.toString()} ${record.headers[0]?.key}`;
      break;
    }
    await Promise.all([consumer.close(), producer.close(), a.close()]);
    expect(seen).toBe('order-1 {"amount":10} source');
  });
});

describe('admin', () => {
  it('creates, lists, describes, alters and deletes topics', async () => {
    const topic = await newTopic(3, { 'retention.ms': '3600000' });
    expect(await admin.listTopics()).toContain(topic);

    const [description] = await admin.describeTopics([topic]);
    expect(description!.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    for (const p of description!.partitions) {
      expect(p.leader).toBeGreaterThanOrEqual(0);
      expect(p.replicas).toEqual([p.leader]);
      expect(p.isr).toEqual([p.leader]);
    }

    const [configs] = await admin.describeConfigs({ resources: [{ type: 'topic', name: topic }] });
    const retention = configs!.configs.find((c) => c.name === 'retention.ms')!;
    expect(retention.value).toBe('3600000');
    expect(retention.source).toBe('DYNAMIC_TOPIC_CONFIG');
    expect(configs!.configs.find((c) => c.name === 'cleanup.policy')!.isDefault).toBe(true);

    await admin.incrementalAlterConfigs({
      resources: [{ type: 'topic', name: topic, configs: [{ name: 'retention.ms', operation: 'delete' }, { name: 'segment.ms', value: '60000' }] }],
    });
    const [after] = await admin.describeConfigs({ resources: [{ type: 'topic', name: topic }] });
    expect(after!.configs.find((c) => c.name === 'segment.ms')!.value).toBe('60000');
    expect(after!.configs.find((c) => c.name === 'retention.ms')!.source).not.toBe('DYNAMIC_TOPIC_CONFIG');

    await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] });
    const [grown] = await admin.describeTopics([topic]);
    expect(grown!.partitions).toHaveLength(5);

    await admin.deleteTopics({ topics: [topic] });
    await expect.poll(async () => (await admin.listTopics()).includes(topic), { timeout: 10_000 }).toBe(false);
  });

  it('describes broker configs', async () => {
    const [broker] = await admin.describeConfigs({ resources: [{ type: 'broker', name: '1' }] });
    expect(broker!.configs.find((c) => c.name === 'num.partitions')?.value).toBe('1');
  });

  it('validateOnly creates nothing; errors carry the Kafka code and name the topic', async () => {
    const name = `validate-${Date.now()}`;
    await admin.createTopics({ topics: [{ topic: name, numPartitions: 2 }], validateOnly: true });
    expect(await admin.listTopics()).not.toContain(name);

    const topic = await newTopic(1);
    const exists = await admin.createTopics({ topics: [{ topic }] }).catch((e: unknown) => e);
    expect(exists).toBeInstanceOf(KafkaProtocolError);
    expect(exists).toMatchObject({ code: ErrorCode.TOPIC_ALREADY_EXISTS, message: `topic ${topic} already exists (TOPIC_ALREADY_EXISTS)` });

    await expect(admin.describeTopics(['no-such-topic'])).rejects.toMatchObject({
      code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      message: 'topic no-such-topic does not exist (UNKNOWN_TOPIC_OR_PARTITION)',
    });
    await expect(admin.createTopics({ topics: [{ topic: 'bad', configs: { 'retention.ms': 'soon' } }] })).rejects.toMatchObject({
      code: ErrorCode.INVALID_CONFIG,
    });
  });

  it('lists offsets (earliest, latest, by timestamp) and deletes records', async () => {
    const topic = await newTopic(1);
    const producer = new Producer({ brokers: node.bootstrap, lingerMs: 0 });
    await producer.connect();
    const base = 1_700_000_000_000;
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, timestamp: base + i * 1000 })) });
    await producer.close();

    expect(await admin.listOffsets(topic, 'earliest')).toEqual([expect.objectContaining({ partition: 0, offset: 0 })]);
    expect(await admin.listOffsets(topic, 'latest')).toEqual([expect.objectContaining({ partition: 0, offset: 10 })]);
    expect((await admin.listOffsets(topic, base + 4500))[0]).toMatchObject({ offset: 5, timestamp: base + 5000 });

    expect(await admin.deleteRecords({ topic, partitions: [{ partition: 0, offset: 4 }] })).toEqual([{ partition: 0, lowWatermark: 4 }]);
    expect((await admin.listOffsets(topic, 'earliest'))[0]!.offset).toBe(4);
  });
});

describe('producer and consumer', () => {
  const codecs: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
  for (const compression of codecs) {
    it(`round-trips keys, values, headers and timestamps with ${compression}`, async () => {
      const topic = await newTopic(3);
      const producer = new Producer({ brokers: node.bootstrap, compression, lingerMs: 2 });
      await producer.connect();
      const messages = Array.from({ length: 300 }, (_, i) => ({
        key: i % 7 === 0 ? null : `key-${i % 20}`,
        value: i % 50 === 49 ? null : `value-${i}-${'x'.repeat(i % 13)}`,
        headers: { n: String(i), bin: Buffer.from([i & 0xff, 0]) },
        timestamp: 1_700_000_000_000 + i,
      }));
      const results = await producer.send({ topic, messages });
      await producer.close();
      expect(results).toHaveLength(300);
      results.forEach((r, i) => {
        const key = messages[i]!.key;
        if (key !== null) expect(r.partition).toBe(partitionForKey(Buffer.from(key), 3));
      });

      const consumer = newConsumer();
      await consumer.connect();
      consumer.assign([0, 1, 2].map((partition) => ({ topic, partition, offset: 'earliest' as const })));
      const records = await consumeN(consumer, 300);
      await consumer.close();

      const byValue = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r]));
      results.forEach((meta, i) => {
        const got = byValue.get(`${meta.partition}:${meta.offset}`)!;
        const m = messages[i]!;
        expect(got, `message ${i}`).toBeDefined();
        expect(got.key?.toString() ?? null).toBe(m.key);
        expect(got.value?.toString() ?? null).toBe(m.value);
        expect(got.timestamp).toBe(m.timestamp);
        expect(got.headers.map((h) => [h.key, h.value?.toString('hex')])).toEqual([
          ['n', Buffer.from(String(i)).toString('hex')],
          ['bin', m.headers.bin.toString('hex')],
        ]);
      });
      // Offsets per partition are dense and ascending.
      for (const p of [0, 1, 2]) {
        const offsets = records.filter((r) => r.partition === p).map((r) => r.offset);
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }
    });
  }

  it('keeps per-partition order across many concurrent sends and batches (linger + batch size)', async () => {
    const topic = await newTopic(2);
    const producer = new Producer({ brokers: node.bootstrap, lingerMs: 10, batchSizeBytes: 2048 });
    await producer.connect();
    const sends = Array.from({ length: 100 }, (_, s) =>
      producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ key: 'same-key', value: String(s * 20 + i) })) }),
    );
    await Promise.all(sends);
    await producer.close();
    const partition = partitionForKey(Buffer.from('same-key'), 2);
    const consumer = newConsumer();
    await consumer.connect();
    consumer.assign([{ topic, partition, offset: 'earliest' }]);
    const records = await consumeN(consumer, 2000);
    await consumer.close();
    expect(records.map((r) => Number(r.value!.toString()))).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('keeps per-partition order with several batches of a partition in flight (one send() per record)', async () => {
    const topic = await newTopic(1);
    // Small requests: ~25 records per batch, so the 3000 records leave as many batches, up to 5 pipelined.
    const producer = new Producer({ brokers: node.bootstrap, lingerMs: 1, batchSizeBytes: 1024, maxRequestSizeBytes: 4096, maxInFlightRequestsPerPartition: 5 });
    await producer.connect();
    const value = (i: number): string => `${i}`.padStart(100, '0');
    const sends = Array.from({ length: 3000 }, (_, i) => producer.send({ topic, messages: [{ value: value(i), partition: 0 }] }));
    const acked = (await Promise.all(sends)).map((r) => r[0]!.offset);
    expect(acked).toEqual(acked.map((_, i) => i)); // acknowledged offsets follow call order
    await producer.close();
    const consumer = newConsumer();
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 'earliest' }]);
    const records = await consumeN(consumer, 3000);
    await consumer.close();
    expect(records.map((r) => r.value!.toString())).toEqual(Array.from({ length: 3000 }, (_, i) => value(i)));
  });

  it('supports acks 0, 1 and -1, and flush(); counts requests and records in the registry', async () => {
    const topic = await newTopic(1);
    const registry = createRegistry();
    const producer = new Producer({ brokers: node.bootstrap, lingerMs: 50, registry });
    await producer.connect();
    const r1 = await producer.send({ topic, acks: 1, messages: [{ value: 'a' }] });
    expect(r1[0]!.offset).toBe(0);
    const r0 = await producer.send({ topic, acks: 0, messages: [{ value: 'b' }] });
    expect(r0[0]!.offset).toBe(-1);
    const pending = producer.send({ topic, acks: -1, messages: [{ value: 'c' }] });
    await producer.flush();
    expect((await pending)[0]!.offset).toBe(2);
    await producer.close();
    const produced = (await registry.getSingleMetric('fluxo_client_produced_records_total')!.get()).values[0]!.value;
    expect(produced).toBe(3);
    const requests = (await registry.getSingleMetric('fluxo_client_requests_total')!.get()).values;
    expect(requests.find((v) => v.labels.api === 'Produce')?.value).toBe(3);
    expect(requests.find((v) => v.labels.api === 'ApiVersions')?.value).toBeGreaterThanOrEqual(1);
    const consumer = newConsumer();
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    expect((await consumeN(consumer, 3)).map((r) => r.value!.toString())).toEqual(['a', 'b', 'c']);
    await consumer.close();
  });

  it('rejects bad input with Kafka codes: unknown partition, bad acks, oversized record', async () => {
    const topic = await newTopic(2);
    const producer = new Producer({ brokers: node.bootstrap, maxRequestSizeBytes: 10_000 });
    await producer.connect();
    await expect(producer.send({ topic, messages: [{ value: 'x', partition: 5 }] })).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    await expect(producer.send({ topic, acks: 2 as 1, messages: [{ value: 'x' }] })).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUIRED_ACKS });
    await expect(producer.send({ topic, messages: [{ value: Buffer.alloc(20_000) }] })).rejects.toMatchObject({ code: ErrorCode.MESSAGE_TOO_LARGE });
    await producer.close();
  });

  it('splits batches larger than the topic max.message.bytes instead of failing the send', async () => {
    const topic = await newTopic(1, { 'max.message.bytes': '2000' });
    const producer = new Producer({ brokers: node.bootstrap, lingerMs: 20 });
    await producer.connect();
    const results = await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ value: `${i}:${'y'.repeat(100)}` })) });
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // A single record over the limit cannot be split: MESSAGE_TOO_LARGE from the broker.
    await expect(producer.send({ topic, messages: [{ value: 'z'.repeat(5000) }] })).rejects.toMatchObject({ code: ErrorCode.MESSAGE_TOO_LARGE });
    await producer.close();
  });

  it('auto-creates a topic on first produce when the broker allows it', async () => {
    const topic = `auto-${Date.now()}`;
    const producer = new Producer({ brokers: node.bootstrap });
    await producer.connect();
    const [meta] = await producer.send({ topic, messages: [{ value: 'hello' }] });
    expect(meta!.offset).toBe(0);
    await producer.close();
  });

  it('starts inside a batch at the assigned offset, seeks, and resets out-of-range offsets', async () => {
    const topic = await newTopic(1);
    const producer = new Producer({ brokers: node.bootstrap });
    await producer.connect();
    // One send with lingerMs default: one batch of 10 records.
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: String(i) })) });
    await producer.close();

    const consumer = newConsumer({ autoOffsetReset: 'earliest' });
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 5 }]);
    expect((await consumeN(consumer, 2)).map((r) => r.offset)).toEqual([5, 6]);
    consumer.seek({ topic, partition: 0, offset: 2 });
    expect((await consumeN(consumer, 1))[0]!.offset).toBe(2);
    consumer.seek({ topic, partition: 0, offset: 1000 });
    // OFFSET_OUT_OF_RANGE -> auto.offset.reset=earliest
    expect((await consumeN(consumer, 1))[0]!.offset).toBe(0);
    await consumer.close();
  });

  it("starts at 'latest' and sees only new records", async () => {
    const topic = await newTopic(1);
    const producer = new Producer({ brokers: node.bootstrap, lingerMs: 0 });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'old' }] });
    const consumer = newConsumer();
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 'latest' }]);
    const received = consumeN(consumer, 1);
    await expect.poll(() => consumer.position(topic, 0), { timeout: 10_000 }).toBe(1);
    await producer.send({ topic, messages: [{ value: 'new' }] });
    expect((await received)[0]!.value!.toString()).toBe('new');
    await producer.close();
    await consumer.close();
  });

  it('pause() stops a partition and resume() continues it; run({ eachMessage }) delivers in order', async () => {
    const topic = await newTopic(2);
    const producer = new Producer({ brokers: node.bootstrap, lingerMs: 0 });
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `p0-${i}`, partition: 0 })) });
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `p1-${i}`, partition: 1 })) });
    await producer.close();

    const consumer = newConsumer();
    await consumer.connect();
    consumer.assign([
      { topic, partition: 0, offset: 'earliest' },
      { topic, partition: 1, offset: 'earliest' },
    ]);
    consumer.pause([{ topic, partitions: [1] }]);
    expect(consumer.paused()).toEqual([{ topic, partition: 1 }]);
    const seen: string[] = [];
    const running = consumer.run({
      eachMessage: ({ message }) => {
        seen.push(message.value!.toString());
        if (seen.length === 10) consumer.resume([{ topic }]);
        if (seen.length === 20) consumer.stop();
      },
    });
    await running;
    await consumer.close();
    expect(seen.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => `p0-${i}`));
    expect(seen.slice(10)).toEqual(Array.from({ length: 10 }, (_, i) => `p1-${i}`));
  });

  it('records fetched before pause() are held, not lost, and come after resume()', async () => {
    const topic = await newTopic(1);
    const producer = new Producer({ brokers: node.bootstrap, lingerMs: 0 });
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: String(i) })) });
    await producer.close();
    const consumer = newConsumer();
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    const got: number[] = [];
    let resumed = false;
    for await (const r of consumer) {
      got.push(r.offset);
      if (r.offset === 4) expect(resumed).toBe(true);
      if (r.offset === 3) {
        consumer.pause([{ topic }]);
        expect(consumer.position(topic, 0)).toBe(4);
        setTimeout(() => {
          resumed = true;
          consumer.resume([{ topic }]);
        }, 300);
      }
      if (got.length === 10) break;
    }
    await consumer.close();
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('run({ eachBatch }) hands over whole fetched batches with the high watermark', async () => {
    const topic = await newTopic(1);
    const producer = new Producer({ brokers: node.bootstrap, lingerMs: 0 });
    await producer.connect();
    await producer.send({ topic, compression: 'zstd', messages: Array.from({ length: 50 }, (_, i) => ({ value: String(i) })) });
    await producer.close();
    const consumer = newConsumer();
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 10 }]);
    const offsets: number[] = [];
    let highWatermark = -1;
    await consumer.run({
      eachBatch: ({ messages, highWatermark: hw }) => {
        offsets.push(...messages.map((m) => m.offset));
        highWatermark = hw;
        if (offsets.length >= 40) consumer.stop();
      },
    });
    expect(offsets).toEqual(Array.from({ length: 40 }, (_, i) => i + 10));
    expect(highWatermark).toBe(50);
    expect(consumer.position(topic, 0)).toBe(50);
    await consumer.close();
  });

  it('long-polls: a waiting consumer receives a record produced later', async () => {
    const topic = await newTopic(1);
    const consumer = newConsumer({ fetchMaxWaitMs: 5000 });
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    const received = consumeN(consumer, 1);
    const producer = new Producer({ brokers: node.bootstrap });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'late' }] });
    expect((await received)[0]!.value!.toString()).toBe('late');
    await producer.close();
    await consumer.close();
  });
});
