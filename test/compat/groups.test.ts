/**
 * Consumer groups across clients: kafkajs (subscribe, auto-commit, two members splitting partitions),
 * librdkafka via confluent-kafka-python and kafka-python (subscribe, commit, a later member resumes at the
 * committed offsets). Exercises FindCoordinator, JoinGroup/SyncGroup/Heartbeat/LeaveGroup, OffsetCommit/Fetch.
 */
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertToolsPresent, cleanupAll, runPythonJson, startNode, toolGate, waitFor, type FluxoNode } from '../harness/index.js';

const gate = toolGate(['confluent_kafka', 'kafka-python']);

interface GroupResult {
  got: Array<[number, number, string]>;
  errors: string[];
}

describe.skipIf(gate.skip)('consumer groups', () => {
  let node: FluxoNode;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    node = await startNode();
    kafka = new Kafka({ clientId: 'fluxo-groups', brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await cleanupAll();
  });

  /** Writes values round-robin over the partitions; returns them. */
  async function produce(topic: string, partitions: number, prefix: string, count: number): Promise<string[]> {
    const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ value, partition: i % partitions })) });
    return values;
  }

  it('has the peer tools', () => assertToolsPresent(gate.missing));

  it('kafkajs: a member reads every partition from the beginning; its commits show in fetchOffsets', { timeout: 90_000 }, async () => {
    const topic = 'grp-kjs';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const values = await produce(topic, 3, 'kjs', 300);
    const consumer = kafka.consumer({ groupId: 'g-kjs', sessionTimeout: 10_000, heartbeatInterval: 1000 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ autoCommitThreshold: 1, eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    await waitFor(() => got.length >= values.length, { timeoutMs: 30_000, what: `300 records via kafkajs group (got ${got.length})` });
    await consumer.disconnect();
    expect([...got].sort()).toEqual([...values].sort());

    const [committed] = await admin.fetchOffsets({ groupId: 'g-kjs', topics: [topic] });
    expect(committed!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([[0, '100'], [1, '100'], [2, '100']]);
  });

  it('kafkajs: two members split four partitions and together read every record once', { timeout: 90_000 }, async () => {
    const topic = 'grp-kjs-two';
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
    const received: Array<{ member: number; value: string }> = [];
    const assigned = [0, 0];
    for (const member of [0, 1]) {
      const c = kafka.consumer({ groupId: 'g-kjs-two', sessionTimeout: 10_000, heartbeatInterval: 500 });
      consumers.push(c);
      c.on(c.events.GROUP_JOIN, (e) => {
        assigned[member] = Object.values(e.payload.memberAssignment).reduce((n, parts) => n + parts.length, 0);
      });
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void received.push({ member, value: message.value!.toString() }) });
    }
    await waitFor(() => assigned[0] === 2 && assigned[1] === 2, { timeoutMs: 30_000, what: `a 2+2 assignment (now ${assigned.join('+')})` });
    const values = await produce(topic, 4, 'two', 400);
    await waitFor(() => received.length >= values.length, { timeoutMs: 30_000, what: `400 records across both members (got ${received.length})` });
    expect(received.map((r) => r.value).sort()).toEqual([...values].sort());
    expect(received.filter((r) => r.member === 0).length).toBe(200);
    expect(received.filter((r) => r.member === 1).length).toBe(200);
  });

  for (const client of ['confluent', 'kafka-python'] as const) {
    it(`${client}: subscribe + commit; the next member of the group resumes at the committed offsets`, { timeout: 130_000 }, async () => {
      const topic = `grp-${client}`;
      const group = `g-${client}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      const first = await produce(topic, 2, 'first', 200);
      const member = (expect: number): Promise<GroupResult> =>
        runPythonJson<GroupResult>('group_consume.py', ['--client', client, '--bootstrap', node.bootstrap, '--topic', topic, '--group', group, '--expect', String(expect), '--timeout-seconds', '30'], 60_000);

      const r1 = await member(first.length);
      expect(r1.errors).toEqual([]);
      expect(r1.got.map((g) => g[2]).sort()).toEqual([...first].sort());

      const second = await produce(topic, 2, 'second', 50);
      const r2 = await member(second.length);
      expect(r2.errors).toEqual([]);
      expect(r2.got.map((g) => g[2]).sort()).toEqual([...second].sort());
      expect(Math.min(...r2.got.map((g) => g[1]))).toBe(100);
    });
  }
});
