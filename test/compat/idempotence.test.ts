/**
 * Idempotent producers against a live node (`fluxo start`, built dist): librdkafka via confluent-kafka-python
 * (enable.idempotence=True), kafkajs (idempotent: true) and @fluxo/client (idempotent: true) each produce and
 * read back every record exactly once, in order; the stored batches carry their producer id and sequences.
 * Transactional producers are refused with COORDINATOR_NOT_AVAILABLE (no transaction coordinator).
 */
import fs from 'node:fs';
import { FluxoClient, type ConsumerRecord } from '@fluxo/client';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertToolsPresent, cleanupAll, kcatConsumeAll, missingTools, IN_CI, runPythonJson, segmentFiles, startNode, storedBatches, toolGate, type FluxoNode,
} from '../harness/index.js';

/** Producer id, epoch and base sequence of every stored batch of a partition. */
function storedProducerFields(dataDir: string, topic: string, partition: number): { producerId: number; epoch: number; baseSequence: number; records: number }[] {
  const out: { producerId: number; epoch: number; baseSequence: number; records: number }[] = [];
  for (const file of segmentFiles(dataDir, topic, partition)) {
    const buf = fs.readFileSync(file);
    for (const b of storedBatches(file)) {
      out.push({
        producerId: Number(buf.readBigInt64BE(b.position + 43)),
        epoch: buf.readInt16BE(b.position + 51),
        baseSequence: buf.readInt32BE(b.position + 53),
        records: b.recordCount,
      });
    }
  }
  return out;
}

/** Every batch has a producer id; per producer and epoch the sequences run 0, 1, 2, ... without gap or repeat. */
function expectContiguousSequences(dataDir: string, topic: string, partition: number): void {
  const batches = storedProducerFields(dataDir, topic, partition);
  expect(batches.length).toBeGreaterThan(0);
  const next = new Map<string, number>();
  for (const b of batches) {
    expect(b.producerId).toBeGreaterThanOrEqual(0);
    const key = `${b.producerId}/${b.epoch}`;
    expect(b.baseSequence, `batch of producer ${key}`).toBe(next.get(key) ?? 0);
    next.set(key, b.baseSequence + b.records);
  }
}

interface ConfluentIdempotenceResult {
  count: number;
  notFlushed: number;
  delivered: number;
  producerErrors: string[];
  consumed: number;
  duplicates: number;
  consumerErrors: string[];
  problems: string[];
}

describe('idempotent producers', () => {
  let node: FluxoNode;
  let client: FluxoClient;
  beforeAll(async () => {
    node = await startNode();
    client = new FluxoClient({ brokers: [node.bootstrap], clientId: 'fluxo-compat-idem' });
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: ['idem-confluent', 'idem-kafkajs', 'idem-fluxo'].map((topic) => ({ topic, numPartitions: 3 })) });
    await admin.close();
  });
  afterAll(cleanupAll);

  const confluentGate = toolGate(['confluent_kafka']);
  it.skipIf(confluentGate.skip)('confluent-kafka-python enable.idempotence=True: 6000 records exactly once, in order', { timeout: 150_000 }, async () => {
    assertToolsPresent(confluentGate.missing);
    const r = await runPythonJson<ConfluentIdempotenceResult>('idempotence_confluent.py', ['--bootstrap', node.bootstrap, '--topic', 'idem-confluent', '--partitions', '3', '--count', '6000']);
    expect(r.producerErrors).toEqual([]);
    expect(r.consumerErrors).toEqual([]);
    expect(r.notFlushed).toBe(0);
    expect(r.delivered).toBe(6000);
    expect(r.problems).toEqual([]);
    expect(r.duplicates).toBe(0);
    expect(r.consumed).toBe(6000);
    for (const p of [0, 1, 2]) expectContiguousSequences(node.dataDir, 'idem-confluent', p);
  });

  it('kafkajs idempotent: true: 3000 records exactly once, in order', async () => {
    const kafka = new Kafka({ clientId: 'fluxo-compat-idem', brokers: [node.bootstrap], logLevel: logLevel.ERROR, retry: { retries: 5 } });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (let start = 0; start < 3000; start += 100) {
        const messages = Array.from({ length: 100 }, (_, i) => ({ value: `kjs-${start + i}`, partition: (start + i) % 3 }));
        const res = await producer.send({ topic: 'idem-kafkajs', messages });
        expect(res.every((r) => r.errorCode === 0)).toBe(true);
      }
    } finally {
      await producer.disconnect();
    }
    const consumer = kafka.consumer({ groupId: 'idem-kafkajs-reader', maxWaitTimeInMs: 100 });
    await consumer.connect();
    const got: { partition: number; offset: number; value: string }[] = [];
    try {
      await consumer.subscribe({ topic: 'idem-kafkajs', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          got.push({ partition, offset: Number(message.offset), value: message.value!.toString() });
        },
      });
      await expect.poll(() => got.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(3000);
      await new Promise((resolve) => setTimeout(resolve, 300)); // anything beyond 3000 would be a duplicate
    } finally {
      await consumer.disconnect();
    }
    expect(got).toHaveLength(3000);
    for (const p of [0, 1, 2]) {
      const mine = got.filter((m) => m.partition === p).sort((a, b) => a.offset - b.offset);
      expect(mine.map((m) => m.value)).toEqual(Array.from({ length: 1000 }, (_, i) => `kjs-${3 * i + p}`));
      expectContiguousSequences(node.dataDir, 'idem-kafkajs', p);
    }
  });

  it('kafkajs transactional producer: refused with COORDINATOR_NOT_AVAILABLE (no transactions)', async () => {
    const kafka = new Kafka({ clientId: 'fluxo-compat-txn', brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
    const producer = kafka.producer({ transactionalId: 'compat-txn', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      // initTransactions: FindCoordinator, then InitProducerId with the transactional id.
      await expect(producer.transaction()).rejects.toThrow(/coordinator is not available/i);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  });

  it('@fluxo/client idempotent: true: 6000 records exactly once, in order, at the offsets send() reported', async () => {
    const producer = client.producer({ idempotent: true, lingerMs: 2 });
    await producer.connect();
    const reported = new Map<string, { partition: number; offset: number }>();
    try {
      const sends = [];
      for (let start = 0; start < 6000; start += 50) {
        const messages = Array.from({ length: 50 }, (_, i) => ({ value: `fx-${start + i}`, partition: (start + i) % 3 }));
        sends.push(producer.send({ topic: 'idem-fluxo', messages }).then((res) => res.forEach((r, i) => reported.set(`fx-${start + i}`, r))));
      }
      await Promise.all(sends);
    } finally {
      await producer.close();
    }
    for (const p of [0, 1, 2]) {
      const consumer = client.consumer();
      await consumer.connect();
      const got: ConsumerRecord[] = [];
      try {
        consumer.assign([{ topic: 'idem-fluxo', partition: p, offset: 'earliest' }]);
        const timer = setTimeout(() => void consumer.close(), 30_000);
        for await (const r of consumer.messages()) {
          got.push(r);
          if (got.length >= 2000) break;
        }
        clearTimeout(timer);
        expect(consumer.highWatermark('idem-fluxo', p)).toBe(2000);
      } finally {
        await consumer.close();
      }
      expect(got.map((r) => r.value!.toString())).toEqual(Array.from({ length: 2000 }, (_, i) => `fx-${3 * i + p}`));
      for (const r of got) expect(reported.get(r.value!.toString())).toEqual(expect.objectContaining({ partition: p, offset: r.offset }));
      expectContiguousSequences(node.dataDir, 'idem-fluxo', p);
    }
  });

  const haveKcat = missingTools(['kcat']).length === 0 || IN_CI;
  it.skipIf(!haveKcat)('kcat (librdkafka) reads what the idempotent producers wrote', async () => {
    const msgs = await kcatConsumeAll(node.bootstrap, 'idem-fluxo', { partition: 1 });
    expect(msgs.map((m) => m.payload)).toEqual(Array.from({ length: 2000 }, (_, i) => `fx-${3 * i + 1}`));
  });
});
