/**
 * kafkajs 2.2.4 against a live node: admin topic lifecycle, producing with acks 0 / 1 / -1 (content checked
 * by reading back with kcat), and offset lookups (latest/earliest and by timestamp).
 */
import { CompressionTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertToolsPresent, cleanupAll, kcatConsumeAll, startNode, toolGate, waitFor, type FluxoNode, type KcatMessage } from '../harness/index.js';

const gate = toolGate(['kcat']);
const COUNT = 600;
const BATCH = 100;

describe.skipIf(gate.skip)('kafkajs 2.2.4', () => {
  let node: FluxoNode;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    node = await startNode();
    kafka = new Kafka({ clientId: 'fluxo-compat', brokers: [node.bootstrap], logLevel: logLevel.ERROR, retry: { retries: 5 } });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await cleanupAll();
  });

  it('has the peer tools', () => assertToolsPresent(gate.missing));

  it('admin: create, list, describe and delete topics', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'kjs-three', numPartitions: 3 }, { topic: 'kjs-doomed' }], waitForLeaders: true })).toBe(true);
    // Creating an existing topic is not an error for kafkajs: it reports false.
    expect(await admin.createTopics({ topics: [{ topic: 'kjs-three', numPartitions: 3 }], waitForLeaders: true })).toBe(false);
    const listed = await admin.listTopics();
    expect(listed).toEqual(expect.arrayContaining(['kjs-three', 'kjs-doomed']));
    const md = await admin.fetchTopicMetadata({ topics: ['kjs-three'] });
    expect(md.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    await admin.deleteTopics({ topics: ['kjs-doomed'], timeout: 10_000 });
    await waitFor(async () => !(await admin.listTopics()).includes('kjs-doomed'), { timeoutMs: 15_000, what: 'kjs-doomed to disappear from listTopics' });
    expect(await admin.listTopics()).toContain('kjs-three');
  });

  for (const acks of [-1, 1, 0]) {
    it(`producer acks=${acks}: ${COUNT} messages arrive complete and in order`, async () => {
      const topic = `kjs-acks-${acks === -1 ? 'all' : acks}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const baseOffsets: string[] = [];
      for (let start = 0; start < COUNT; start += BATCH) {
        const messages = [];
        for (let i = start; i < start + BATCH; i++) {
          messages.push({ key: `k${i}`, value: `kafkajs-${acks}-${i}`, partition: 0, headers: { seq: String(i) } });
        }
        const res = await producer.send({ topic, acks, messages, compression: start % 200 === 0 ? CompressionTypes.GZIP : CompressionTypes.None });
        if (acks !== 0) {
          expect(res).toHaveLength(1);
          expect(res[0]!.errorCode).toBe(0);
          baseOffsets.push(String(res[0]!.baseOffset));
        }
      }
      if (acks !== 0) {
        expect(baseOffsets).toEqual(Array.from({ length: COUNT / BATCH }, (_, b) => String(b * BATCH)));
      }
      // acks=0 gets no response: wait until everything is readable.
      let got: KcatMessage[] = [];
      await waitFor(
        async () => {
          got = await kcatConsumeAll(node.bootstrap, topic);
          return got.length >= COUNT;
        },
        { timeoutMs: 30_000, what: `${COUNT} messages in ${topic}` },
      );
      expect(got).toHaveLength(COUNT);
      for (let i = 0; i < COUNT; i++) {
        const m = got[i]!;
        expect({ offset: m.offset, key: m.key, payload: m.payload, headers: m.headers }).toEqual({
          offset: i, key: `k${i}`, payload: `kafkajs-${acks}-${i}`, headers: [['seq', String(i)]],
        });
      }
    });
  }

  it('admin.fetchTopicOffsets and fetchTopicOffsetsByTimestamp', async () => {
    const topic = 'kjs-offsets';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    expect(await admin.fetchTopicOffsets(topic)).toEqual([{ partition: 0, offset: '0', high: '0', low: '0' }]);
    const t0 = Date.now() - 3_600_000;
    const messages = Array.from({ length: 100 }, (_, i) => ({ value: `ts-${i}`, partition: 0, timestamp: String(t0 + i * 1000) }));
    await producer.send({ topic, acks: -1, messages: messages.slice(0, 50) });
    await producer.send({ topic, acks: -1, messages: messages.slice(50) });
    expect(await admin.fetchTopicOffsets(topic)).toEqual([{ partition: 0, offset: '100', high: '100', low: '0' }]);
    const at = async (ts: number): Promise<string> => {
      const r = await admin.fetchTopicOffsetsByTimestamp(topic, ts);
      expect(r).toHaveLength(1);
      return r[0]!.offset;
    };
    expect(await at(t0 - 60_000)).toBe('0');
    expect(await at(t0)).toBe('0');
    expect(await at(t0 + 10_500)).toBe('11');
    expect(await at(t0 + 50_000)).toBe('50'); // first record of the second batch
    expect(await at(t0 + 99_000)).toBe('99');
    // No record at or after the timestamp: kafkajs maps the broker's -1 to the high watermark.
    expect(await at(t0 + 200_000)).toBe('100');
  });
});
