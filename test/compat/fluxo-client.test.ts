/**
 * @fluxo/client against a live node: admin topic lifecycle, producing with every codec and acks setting,
 * consuming via assign(), offsets by timestamp, and cross-checks with librdkafka (kcat) in both directions.
 */
import { FluxoClient, type Admin, type ConsumerRecord, type Producer } from '@fluxo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll, CODEC_ID, IN_CI, kcatConsumeAll, kcatProduce, missingTools, startNode, storedRecordsByCodec, type FluxoNode,
} from '../harness/index.js';

const COUNT = 2000;
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const haveKcat = missingTools(['kcat']).length === 0 || IN_CI;

describe('@fluxo/client', () => {
  let node: FluxoNode;
  let client: FluxoClient;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    node = await startNode();
    client = new FluxoClient({ brokers: [node.bootstrap], clientId: 'fluxo-compat' });
    admin = client.admin();
    await admin.connect();
    producer = client.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    await cleanupAll();
  });

  /** Reads `count` records of partition 0 from the beginning with a fresh assign()-based consumer. */
  async function consumeAll(topic: string, count: number, partition = 0): Promise<ConsumerRecord[]> {
    const consumer = client.consumer();
    await consumer.connect();
    try {
      consumer.assign([{ topic, partition, offset: 'earliest' }]);
      const out: ConsumerRecord[] = [];
      // Bounded wait: closing the consumer ends the iteration.
      const timer = setTimeout(() => void consumer.close(), 30_000);
      try {
        for await (const record of consumer.messages()) {
          out.push(record);
          if (out.length >= count) break;
        }
      } finally {
        clearTimeout(timer);
      }
      // Nothing beyond `count`: the partition ends there.
      expect(consumer.highWatermark(topic, partition)).toBe(count);
      return out;
    } finally {
      await consumer.close();
    }
  }

  it('admin: create, list, describe and delete topics', async () => {
    await admin.createTopics({ topics: [{ topic: 'fc-three', numPartitions: 3 }, { topic: 'fc-doomed' }] });
    await expect(admin.createTopics({ topics: [{ topic: 'fc-three', numPartitions: 3 }] })).rejects.toMatchObject({ code: 36 });
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(['fc-three', 'fc-doomed']));
    const [described] = await admin.describeTopics(['fc-three']);
    expect(described!.name).toBe('fc-three');
    expect(described!.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2]);
    for (const p of described!.partitions) expect(p).toMatchObject({ errorCode: 0, leader: 1, replicas: [1], isr: [1] });
    await admin.deleteTopics({ topics: ['fc-doomed'] });
    expect(await admin.listTopics()).not.toContain('fc-doomed');
    expect(await admin.listTopics()).toContain('fc-three');
  });

  for (const codec of CODECS) {
    it(`produce ${COUNT} (acks=-1, ${codec}) and consume them back via assign()`, async () => {
      const topic = `fc-${codec}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const offsets: number[] = [];
      for (let start = 0; start < COUNT; start += 500) {
        const messages = Array.from({ length: 500 }, (_, j) => {
          const i = start + j;
          return { key: `k${i}`, value: `fluxo-${codec}-${i}-`.repeat(1 + (i % 9)), headers: { seq: String(i), bin: Buffer.from([0, 255, i % 256]) }, partition: 0, timestamp: 1_700_000_000_000 + i };
        });
        const res = await producer.send({ topic, compression: codec, messages });
        offsets.push(...res.map((r) => r.offset));
      }
      expect(offsets).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      expect(storedRecordsByCodec(node.dataDir, topic)).toEqual({ [CODEC_ID[codec]!]: COUNT });
      const got = await consumeAll(topic, COUNT);
      expect(got).toHaveLength(COUNT);
      got.forEach((r, i) => {
        expect({ offset: r.offset, key: r.key?.toString(), value: r.value?.toString(), ts: r.timestamp, headers: r.headers.map((h) => [h.key, h.value?.toString('hex')]) }).toEqual({
          offset: i, key: `k${i}`, value: `fluxo-${codec}-${i}-`.repeat(1 + (i % 9)), ts: 1_700_000_000_000 + i,
          headers: [['seq', Buffer.from(String(i)).toString('hex')], ['bin', Buffer.from([0, 255, i % 256]).toString('hex')]],
        });
      });
    });
  }

  for (const acks of [0, 1] as const) {
    it(`produce with acks=${acks}`, async () => {
      const topic = `fc-acks-${acks}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      for (let b = 0; b < 5; b++) {
        const res = await producer.send({ topic, acks, messages: Array.from({ length: 100 }, (_, j) => ({ value: `a${acks}-${b * 100 + j}`, partition: 0 })) });
        expect(res).toHaveLength(100);
        if (acks === 1) expect(res[0]!.offset).toBe(b * 100);
      }
      const got = await consumeAll(topic, 500);
      expect(got.map((r) => r.value?.toString())).toEqual(Array.from({ length: 500 }, (_, i) => `a${acks}-${i}`));
    });
  }

  it('listOffsets: earliest, latest and by timestamp', async () => {
    const topic = 'fc-offsets';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const t0 = Date.now() - 3_600_000;
    await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ value: `t${i}`, partition: 0, timestamp: t0 + i * 1000 })) });
    expect((await admin.listOffsets(topic, 'earliest'))[0]).toMatchObject({ partition: 0, offset: 0 });
    expect((await admin.listOffsets(topic, 'latest'))[0]).toMatchObject({ partition: 0, offset: 100 });
    expect((await admin.listOffsets(topic, t0 + 10_500))[0]).toMatchObject({ partition: 0, offset: 11, timestamp: t0 + 11_000 });
    expect((await admin.listOffsets(topic, t0 + 500_000))[0]).toMatchObject({ partition: 0, offset: -1 });
  });

  describe.skipIf(!haveKcat)('cross-client with librdkafka (kcat)', () => {
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
      it(`@fluxo/client reads what kcat wrote with ${codec}`, async () => {
        const topic = `fc-from-kcat-${codec}`;
        const lines = Array.from({ length: 3000 }, (_, i) => `key${i}|value-${codec}-${i}`);
        await kcatProduce(node.bootstrap, topic, { input: lines.join('\n') + '\n', keyDelimiter: '|', headers: { via: 'kcat' }, codec, partition: 0 });
        // Only meaningful if librdkafka really compressed (it silently falls back when the broker's
        // ApiVersions fail its feature checks).
        const byCodec = storedRecordsByCodec(node.dataDir, topic);
        expect(byCodec[CODEC_ID[codec]!] ?? 0, `records per stored codec id: ${JSON.stringify(byCodec)}`).toBeGreaterThanOrEqual(lines.length * 0.9);
        const got = await consumeAll(topic, lines.length);
        expect(got.map((r) => `${r.key?.toString()}|${r.value?.toString()}`)).toEqual(lines);
        expect(got[0]!.headers.map((h) => [h.key, h.value?.toString()])).toEqual([['via', 'kcat']]);
      });
    }

    it('kcat reads what @fluxo/client wrote (zstd)', async () => {
      const topic = 'fc-to-kcat';
      await producer.send({ topic, compression: 'zstd', messages: Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: 0, headers: { h: 'x' } })) });
      const got = await kcatConsumeAll(node.bootstrap, topic);
      expect(got.map((m) => [m.offset, m.key, m.payload, m.headers])).toEqual(Array.from({ length: 1000 }, (_, i) => [i, `k${i}`, `v${i}`, [['h', 'x']]]));
    });
  });
});
