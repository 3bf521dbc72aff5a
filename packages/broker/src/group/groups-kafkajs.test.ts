import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { startTestNode, type TestNode } from '../testing/raw-client.js';

/** Small values so rebalances finish quickly (the node's defaults are Kafka's). */
const NODE_SETTINGS = { 'group.initial.rebalance.delay.ms': '200', 'offsets.topic.num.partitions': '10' };
const TOPIC_PARTITIONS = 12;

function client(port: number, clientId: string): Kafka {
  return new Kafka({ brokers: [`127.0.0.1:${port}`], clientId, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function produceRange(producer: Producer, topic: string, from: number, to: number): Promise<void> {
  const messages = [];
  for (let i = from; i < to; i++) messages.push({ key: `k${i}`, value: `m${i}` });
  for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, messages: messages.slice(i, i + 500) });
}

describe('consumer groups with kafkajs 2.2.4', () => {
  const nodes: TestNode[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.cleanup();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('3 consumers share 12 partitions; one leaves and one joins midway; every message consumed, duplicates only uncommitted ones', { timeout: 180_000 }, async () => {
    const node = await startTestNode({ set: NODE_SETTINGS });
    nodes.push(node);
    const kafka = client(node.port, 'groups-test');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: TOPIC_PARTITIONS }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();

    const seen = new Map<string, number>(); // value -> times processed
    const committed = new Map<number, number>(); // partition -> committed offset (next to read)
    const violations: string[] = [];
    const processed = new Set<string>(); // partition:offset
    const assignments = new Map<string, number[]>();
    const consumers: Consumer[] = [];
    const startConsumer = async (name: string): Promise<Consumer> => {
      const consumer = kafka.consumer({ groupId: 'orders-group', sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 500 });
      consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
        for (const t of e.payload.topics) for (const p of t.partitions) committed.set(p.partition, Math.max(committed.get(p.partition) ?? 0, Number(p.offset)));
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        assignments.set(name, e.payload.memberAssignment['orders'] ?? []);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const key = `${partition}:${message.offset}`;
          if (processed.has(key) && Number(message.offset) < (committed.get(partition) ?? 0)) {
            violations.push(`${key} redelivered although committed up to ${committed.get(partition)}`);
          }
          processed.add(key);
          const value = message.value!.toString();
          seen.set(value, (seen.get(value) ?? 0) + 1);
        },
      });
      consumers.push(consumer);
      return consumer;
    };

    const a = await startConsumer('a');
    await startConsumer('b');
    await startConsumer('c');
    await waitFor('three members sharing the partitions', () => assignments.size === 3 && [...assignments.values()].reduce((n, p) => n + p.length, 0) === TOPIC_PARTITIONS);
    expect([...assignments.values()].map((p) => p.length).sort()).toEqual([4, 4, 4]);

    await produceRange(producer, 'orders', 0, 3000);
    await waitFor('first half consumed', () => seen.size >= 1500);
    // One member leaves (LeaveGroup), a new one joins; production continues meanwhile.
    await a.disconnect();
    consumers.splice(consumers.indexOf(a), 1);
    assignments.delete('a');
    await startConsumer('d');
    await produceRange(producer, 'orders', 3000, 6000);
    await waitFor('every message consumed', () => seen.size === 6000, 120_000);
    await waitFor('b, c, d share the partitions', () => ['b', 'c', 'd'].every((n) => (assignments.get(n)?.length ?? 0) === 4));

    expect(violations).toEqual([]);
    for (let i = 0; i < 6000; i++) expect(seen.has(`m${i}`)).toBe(true);
    const groups = await admin.listGroups();
    expect(groups.groups).toEqual([{ groupId: 'orders-group', protocolType: 'consumer' }]);
    const described = await admin.describeGroups(['orders-group']);
    expect(described.groups[0]).toMatchObject({ groupId: 'orders-group', state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
    expect(described.groups[0]!.members).toHaveLength(3);

    for (const c of consumers.splice(0)) await c.disconnect();
    // Everyone left: the group is Empty and its committed offsets cover every message.
    const offsets = await admin.fetchOffsets({ groupId: 'orders-group', topics: ['orders'] });
    const total = offsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0);
    expect(total).toBe(6000);
    expect((await admin.describeGroups(['orders-group'])).groups[0]!.state).toBe('Empty');
    await admin.deleteGroups(['orders-group']);
    expect((await admin.listGroups()).groups).toEqual([]);
    await producer.disconnect();
    await admin.disconnect();
  });

  it('keeps committed offsets and the group across a node restart', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fluxo-groups-restart-'));
    dirs.push(dataDir);
    const first = await startTestNode({ dataDir, set: NODE_SETTINGS });
    let kafka = client(first.port, 'restart-test');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'ledger', numPartitions: 3 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await produceRange(producer, 'ledger', 0, 300);
    const consumer = kafka.consumer({ groupId: 'ledger-group', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'ledger', fromBeginning: true });
    let consumed = 0;
    await consumer.run({ eachMessage: async () => void consumed++ });
    await waitFor('300 consumed', () => consumed === 300);
    await consumer.disconnect();
    await producer.disconnect();
    const before = await admin.fetchOffsets({ groupId: 'ledger-group', topics: ['ledger'] });
    await admin.disconnect();
    await first.broker.stop();

    const second = await startTestNode({ dataDir, set: NODE_SETTINGS });
    nodes.push(second);
    kafka = client(second.port, 'restart-test');
    const admin2 = kafka.admin();
    await admin2.connect();
    const after = await admin2.fetchOffsets({ groupId: 'ledger-group', topics: ['ledger'] });
    expect(after).toEqual(before);
    expect(after[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(300);
    // A consumer of the same group continues after the committed offsets: only new messages arrive.
    const producer2 = kafka.producer();
    await producer2.connect();
    await produceRange(producer2, 'ledger', 300, 350);
    const values: string[] = [];
    const again = kafka.consumer({ groupId: 'ledger-group', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await again.connect();
    await again.subscribe({ topic: 'ledger', fromBeginning: true });
    await again.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
    await waitFor('50 new messages', () => values.length >= 50);
    await new Promise((r) => setTimeout(r, 500));
    expect(values.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `m${300 + i}`).sort());
    await again.disconnect();
    await producer2.disconnect();
    await admin2.disconnect();
  });
});
