import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry, type Registry } from '@fluxo/common';
import { apis, encodeRecordBatch, readBatchHeader, wholeBatches, type RecordBatchHeader } from '@fluxo/protocol';
import { Admin } from './admin.js';
import { Consumer } from './consumer.js';
import { Producer, type ProducerOptions } from './producer.js';
import { FaultProxy } from './testing/fault-proxy.js';
import { startTestBroker, type TestBroker } from './testing/in-process-broker.js';

const RETRY = { retries: 30, retryBackoffMs: 20, maxRetryBackoffMs: 200 };

/** A node clients reach only through the proxy (it advertises the proxy's address). */
async function proxiedNode(): Promise<{ node: TestBroker; proxy: FaultProxy; bootstrap: string }> {
  let node: TestBroker | null = null;
  const proxy = await FaultProxy.start(() => ({ host: '127.0.0.1', port: node!.port }));
  node = await startTestBroker({ set: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxy.port}` } });
  return { node, proxy, bootstrap: `127.0.0.1:${proxy.port}` };
}

async function readAll(bootstrap: string, topic: string, partitions: number, count: number): Promise<{ partition: number; offset: number; value: string }[]> {
  const consumer = new Consumer({ brokers: bootstrap, fetchMaxWaitMs: 50 });
  await consumer.connect();
  const out: { partition: number; offset: number; value: string }[] = [];
  try {
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 'earliest' as const })));
    const timer = setTimeout(() => void consumer.close(), 20_000);
    for await (const r of consumer) {
      out.push({ partition: r.partition, offset: r.offset, value: r.value!.toString() });
      if (out.length >= count) break;
    }
    clearTimeout(timer);
    // Nothing more arrives: wait a little for stragglers (duplicates) past `count`.
    for (let p = 0; p < partitions; p++) {
      const hw = consumer.highWatermark(topic, p);
      out.push(...Array.from({ length: Math.max(0, hw - out.filter((r) => r.partition === p).length) }, () => ({ partition: p, offset: -1, value: 'EXTRA' })));
    }
  } finally {
    await consumer.close();
  }
  return out;
}

describe('idempotent producer (@fluxo/client) through a lossy connection', () => {
  let node: TestBroker;
  let proxy: FaultProxy;
  let bootstrap: string;
  beforeEach(async () => {
    ({ node, proxy, bootstrap } = await proxiedNode());
    const admin = new Admin({ brokers: bootstrap });
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'idem', numPartitions: 2 }] });
    await admin.close();
  });
  afterEach(async () => {
    await proxy.close();
    await node.stop();
  });

  /** Produce retries so far by error name (fluxo_client_produce_retries_total). */
  async function retriesByError(registry: Registry): Promise<Record<string, number>> {
    const metric = await registry.getSingleMetric('fluxo_client_produce_retries_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.error), v.value]));
  }

  function newProducer(options: Partial<ProducerOptions>): Producer {
    // Small batches and requests: several batches of a partition are in flight at once (pipelined).
    return new Producer({ brokers: bootstrap, retry: RETRY, lingerMs: 0, batchSizeBytes: 200, maxRequestSizeBytes: 1400, requestTimeoutMs: 1000, ackTimeoutMs: 1000, ...options });
  }

  /** Sends m-<from>..m-<from+count-1>, ten per send() call, alternating partitions; returns value -> offset. */
  async function sendAll(producer: Producer, from: number, count: number, offsets = new Map<string, number>()): Promise<Map<string, number>> {
    const sends = [];
    for (let i = from; i < from + count; i += 10) {
      const messages = Array.from({ length: 10 }, (_, j) => ({ value: `m-${i + j}`, partition: (i / 10) % 2 }));
      sends.push(producer.send({ topic: 'idem', messages }).then((res) => res.forEach((r, j) => offsets.set(`m-${i + j}`, r.offset))));
    }
    await Promise.all(sends);
    return offsets;
  }

  async function produce(options: Partial<ProducerOptions>, count: number): Promise<{ offsets: Map<string, number>; producer: Producer }> {
    const producer = newProducer(options);
    await producer.connect();
    return { offsets: await sendAll(producer, 0, count), producer };
  }

  function expectExactlyOnceInOrder(records: { partition: number; offset: number; value: string }[], count: number, offsets: Map<string, number>): void {
    expect(records.filter((r) => r.value === 'EXTRA')).toEqual([]);
    expect(records).toHaveLength(count);
    for (const p of [0, 1]) {
      const mine = records.filter((r) => r.partition === p);
      const numbers = mine.map((r) => Number(r.value.slice(2)));
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b)); // send order within the partition
      for (const r of mine) expect(offsets.get(r.value)).toBe(r.offset); // the offsets send() reported
    }
  }

  it('writes every record once when Produce responses are lost after the broker wrote the batches', async () => {
    proxy.dropProduceResponses = 3;
    const registry = createRegistry();
    const { offsets, producer } = await produce({ idempotent: true, registry }, 300);
    await producer.close();
    expect(proxy.dropProduceResponses).toBe(0);
    expect((await retriesByError(registry)).NETWORK_EXCEPTION).toBeGreaterThanOrEqual(3);
    expectExactlyOnceInOrder(await readAll(bootstrap, 'idem', 2, 300), 300, offsets);
  });

  it('keeps order when a pipelined Produce request is lost (the ones behind it: OUT_OF_ORDER_SEQUENCE_NUMBER)', async () => {
    const registry = createRegistry();
    const producer = newProducer({ idempotent: true, registry });
    await producer.connect();
    const offsets = await sendAll(producer, 0, 20); // the partitions know the producer now
    proxy.dropProduceRequests = 1;
    await sendAll(producer, 20, 300, offsets);
    await producer.close();
    expect(proxy.dropProduceRequests).toBe(0);
    const retries = await retriesByError(registry);
    expect(retries.REQUEST_TIMED_OUT).toBeGreaterThanOrEqual(1);
    expect(retries.OUT_OF_ORDER_SEQUENCE_NUMBER).toBeGreaterThanOrEqual(1);
    expectExactlyOnceInOrder(await readAll(bootstrap, 'idem', 2, 320), 320, offsets);
  });

  it('keeps order when the very first Produce request is lost (the ones behind it: UNKNOWN_PRODUCER_ID, epoch bump)', async () => {
    proxy.dropProduceRequests = 1;
    const registry = createRegistry();
    const { offsets, producer } = await produce({ idempotent: true, registry }, 300);
    await producer.close();
    const retries = await retriesByError(registry);
    expect(retries.REQUEST_TIMED_OUT).toBeGreaterThanOrEqual(1);
    expect(retries.UNKNOWN_PRODUCER_ID).toBeGreaterThanOrEqual(1);
    expectExactlyOnceInOrder(await readAll(bootstrap, 'idem', 2, 300), 300, offsets);
  });

  /** Headers of the batches stored in a partition (read with a raw Fetch). */
  async function storedHeaders(producer: Producer, partition: number): Promise<RecordBatchHeader[]> {
    const connection = await producer.cluster.anyConnection();
    const response = await connection.send(apis.Fetch, {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 24, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'idem', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 24 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const records = response.responses[0]!.partitions[0]!.records;
    return records === null ? [] : wholeBatches(records).map((b) => readBatchHeader(b));
  }

  it('starts over under a new producer id when a partition has a newer epoch of its id (INVALID_PRODUCER_EPOCH)', async () => {
    const registry = createRegistry();
    const producer = newProducer({ idempotent: true, registry });
    await producer.connect();
    const offsets = await sendAll(producer, 0, 20);
    const [first] = await storedHeaders(producer, 0);
    // Someone else writes at a newer epoch of our producer id (a fenced zombie situation).
    const connection = await producer.cluster.anyConnection();
    const fence = await connection.send(apis.Produce, {
      transactionalId: null, acks: -1, timeoutMs: 5000,
      topicData: [{ name: 'idem', partitionData: [{ index: 0, records: encodeRecordBatch({ compression: 0, producerId: first!.producerId, producerEpoch: first!.producerEpoch + 1, baseSequence: 0, records: [{ key: null, value: Buffer.from('fence') }] }) }] }],
    });
    expect(fence.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    await sendAll(producer, 20, 100, offsets);
    const after = await storedHeaders(producer, 0);
    await producer.close();
    expect((await retriesByError(registry)).INVALID_PRODUCER_EPOCH).toBeGreaterThanOrEqual(1);
    expect(after[after.length - 1]!.producerId).not.toBe(first!.producerId);
    const records = (await readAll(bootstrap, 'idem', 2, 121)).filter((r) => r.value !== 'fence');
    expectExactlyOnceInOrder(records, 120, offsets);
  });

  it('(control) without idempotence the same lost responses duplicate records', async () => {
    proxy.dropProduceResponses = 3;
    const { producer } = await produce({ idempotent: false }, 300);
    await producer.close();
    const records = await readAll(bootstrap, 'idem', 2, 300);
    expect(records.length).toBeGreaterThan(300);
  });
});

describe('idempotent producer options', () => {
  it('refuses acks other than -1 and more than 5 in flight (Kafka\'s rules)', () => {
    expect(() => new Producer({ brokers: '127.0.0.1:1', idempotent: true, acks: 1 })).toThrow(/acks/);
    expect(() => new Producer({ brokers: '127.0.0.1:1', idempotent: true, maxInFlightRequestsPerPartition: 6 })).toThrow(/maxInFlightRequestsPerPartition/);
  });
});

describe('idempotent producer across a broker restart', () => {
  it('writes every record exactly once, in order, while the node stops and starts again under load', async () => {
    let node = await startTestBroker();
    const { port, dataDir, bootstrap } = node;
    try {
      const admin = new Admin({ brokers: bootstrap });
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'bounce', numPartitions: 2 }] });
      await admin.close();
      const producer = new Producer({ brokers: bootstrap, idempotent: true, retry: RETRY, lingerMs: 1, maxRequestSizeBytes: 4096, requestTimeoutMs: 2000 });
      await producer.connect();
      const COUNT = 2000;
      const sends: Promise<unknown>[] = [];
      const offsets = new Map<string, number>();
      let sent = 0;
      const sendSome = (n: number): void => {
        for (let k = 0; k < n; k++, sent++) {
          const value = `b-${sent}`;
          sends.push(producer.send({ topic: 'bounce', messages: [{ value, partition: sent % 2 }] }).then(([r]) => offsets.set(value, r!.offset)));
        }
      };
      sendSome(COUNT / 2);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await node.halt();
      sendSome(COUNT / 4);
      node = await startTestBroker({ dataDir, port });
      sendSome(COUNT / 4);
      await Promise.all(sends);
      await producer.close();
      const records = await readAll(bootstrap, 'bounce', 2, COUNT);
      expect(records.filter((r) => r.value === 'EXTRA')).toEqual([]);
      expect(records).toHaveLength(COUNT);
      for (const p of [0, 1]) {
        const numbers = records.filter((r) => r.partition === p).map((r) => Number(r.value.slice(2)));
        expect(numbers).toEqual(Array.from({ length: COUNT / 2 }, (_, i) => 2 * i + p));
      }
      for (const r of records) expect(offsets.get(r.value)).toBe(r.offset);
    } finally {
      await node.stop();
    }
  });
});
