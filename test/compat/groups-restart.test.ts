/**
 * Committed offsets survive a graceful restart of the node, for every client: kafkajs, kcat -G, confluent-kafka-
 * python, kafka-python and @fluxo/client each commit (mid-log positions, not just the end), the node is stopped
 * with SIGTERM and started again on the same data dir, and a new member of each group continues exactly from
 * the committed offsets: its first record per partition is the committed offset and it gets precisely the
 * records from there to the end (old uncommitted ones plus new ones), nothing earlier and nothing missing.
 * Before the new members start, `fluxo group describe` shows the restored commits with lag = log end offset
 * (checked against ListOffsets) - committed offset.
 */
import { Consumer as FluxoConsumer } from '@fluxo/client';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertToolsPresent, CLI_MAIN, cleanupAll, expectSuccess, runCommand, startNode, toolGate, waitFor, type FluxoNode } from '../harness/index.js';
import { kcatEvents, kcatMember, killMembers, pyErrors, pyEvents, pyMember, values, type MemberEvent } from './groups-support.js';

const gate = toolGate(['kcat', 'confluent_kafka', 'kafka-python']);
const NODE_SETTINGS = { 'group.initial.rebalance.delay.ms': '100', 'offsets.topic.num.partitions': '4' };
const PARTITIONS = 3;
const BEFORE = 300; // records per topic before the restart (100 per partition)
const AFTER = 30; // records per topic after it
const CLIENTS = ['kafkajs', 'kcat', 'confluent', 'kafka-python', 'fluxo-client'] as const;
type Client = (typeof CLIENTS)[number];

interface Received {
  partition: number;
  offset: number;
  value: string;
}

describe.skipIf(gate.skip)('consumer groups across a node restart', () => {
  let node: FluxoNode;
  const kafkaFor = (): Kafka => new Kafka({ clientId: 'groups-restart', brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });

  beforeAll(async () => {
    node = await startNode({ set: NODE_SETTINGS });
  });
  afterAll(async () => {
    await killMembers();
    await cleanupAll();
  });

  const topicOf = (c: Client): string => `rs-${c}`;
  const groupOf = (c: Client): string => `rs-${c}-group`;

  async function produce(producer: Producer, c: Client, from: number, to: number): Promise<void> {
    const vals = values(c, from, to);
    await producer.send({ topic: topicOf(c), acks: -1, messages: vals.map((value, j) => ({ value, partition: (from + j) % PARTITIONS })) });
  }

  async function committed(admin: Admin, c: Client): Promise<number[]> {
    const [t] = await admin.fetchOffsets({ groupId: groupOf(c), topics: [topicOf(c)] });
    return [...t!.partitions].sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  }

  const fromEvents = (events: MemberEvent[]): Received[] =>
    events.flatMap((e) => (e.kind === 'm' ? [{ partition: e.partition, offset: e.offset, value: e.value }] : []));

  /** The first member of each group reads and commits somewhere in the middle of the log. */
  async function commitBefore(c: Client): Promise<void> {
    const bootstrap = node.bootstrap;
    const topic = topicOf(c);
    const group = groupOf(c);
    switch (c) {
      case 'kafkajs': {
        const consumer = kafkaFor().consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        let n = 0;
        await consumer.run({ autoCommit: false, eachMessage: async () => void n++ });
        await waitFor(() => n >= BEFORE, { timeoutMs: 30_000, what: `kafkajs read ${BEFORE} (has ${n})` });
        await consumer.commitOffsets([0, 1, 2].map((partition) => ({ topic, partition, offset: String([70, 40, 100][partition]) })));
        await consumer.disconnect();
        return;
      }
      case 'kcat': {
        // -c 200: kcat exits after 200 records; librdkafka commits the offsets of the records it delivered on close.
        const m = kcatMember('kcat-1', bootstrap, group, topic, ['-c', '200']);
        expect(await m.exited(), m.stderr().slice(-2000)).toBe(0);
        expect(kcatEvents(m)).toHaveLength(200);
        return;
      }
      case 'confluent':
      case 'kafka-python': {
        // confluent commits after every record, kafka-python once at the end.
        const m = pyMember(`${c}-1`, { client: c, bootstrap, topic, group, max: c === 'confluent' ? 200 : 150, commitEvery: c === 'confluent' ? 1 : 0, commitAtEnd: true, timeoutSeconds: 60 });
        expect(await m.exited(), m.stderr().slice(-2000)).toBe(0);
        expect(pyErrors(m)).toEqual([]);
        return;
      }
      case 'fluxo-client': {
        const consumer = new FluxoConsumer({ brokers: bootstrap, clientId: 'groups-restart', groupId: group, autoCommit: false, autoOffsetReset: 'earliest', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, fetchMaxWaitMs: 100 });
        await consumer.connect();
        consumer.subscribe({ topics: [topic] });
        let n = 0;
        const running = consumer.run({ eachMessage: () => void n++ });
        await waitFor(() => n >= BEFORE, { timeoutMs: 30_000, what: `@fluxo/client read ${BEFORE} (has ${n})` });
        await consumer.commit([0, 1, 2].map((partition) => ({ topic, partition, offset: [55, 100, 10][partition]! })));
        await consumer.close();
        await running;
        return;
      }
    }
  }

  /** A new member of the same group after the restart: reads `expected` records. */
  async function resumeAfter(c: Client, expected: number): Promise<Received[]> {
    const bootstrap = node.bootstrap;
    const topic = topicOf(c);
    const group = groupOf(c);
    switch (c) {
      case 'kafkajs': {
        const consumer = kafkaFor().consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
        const got: Received[] = [];
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({ eachMessage: async ({ partition, message }) => void got.push({ partition, offset: Number(message.offset), value: message.value!.toString() }) });
        await waitFor(() => got.length >= expected, { timeoutMs: 30_000, what: `kafkajs resumed ${expected} (has ${got.length})` });
        await consumer.disconnect();
        return got;
      }
      case 'kcat': {
        const m = kcatMember('kcat-2', bootstrap, group, topic, ['-c', String(expected)]);
        expect(await m.exited(), m.stderr().slice(-2000)).toBe(0);
        return fromEvents(kcatEvents(m));
      }
      case 'confluent':
      case 'kafka-python': {
        // Waits a second after the expected count so that anything extra would show up.
        const m = pyMember(`${c}-2`, { client: c, bootstrap, topic, group, expect: expected, idleSeconds: 1, commitAtEnd: true, timeoutSeconds: 60 });
        expect(await m.exited(), m.stderr().slice(-2000)).toBe(0);
        expect(pyErrors(m)).toEqual([]);
        return fromEvents(pyEvents(m));
      }
      case 'fluxo-client': {
        const consumer = new FluxoConsumer({ brokers: bootstrap, clientId: 'groups-restart', groupId: group, autoOffsetReset: 'earliest', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, fetchMaxWaitMs: 100 });
        const got: Received[] = [];
        await consumer.connect();
        consumer.subscribe({ topics: [topic] });
        const running = consumer.run({ eachMessage: ({ partition, message }) => void got.push({ partition, offset: message.offset, value: message.value!.toString() }) });
        await waitFor(() => got.length >= expected, { timeoutMs: 30_000, what: `@fluxo/client resumed ${expected} (has ${got.length})` });
        await consumer.close();
        await running;
        return got;
      }
    }
  }

  it('has the peer tools', () => assertToolsPresent(gate.missing));

  it('each client commits; after SIGTERM and a restart on the same data dir a new member resumes exactly there', { timeout: 150_000 }, async () => {
    let kafka = kafkaFor();
    let admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: CLIENTS.map((c) => ({ topic: topicOf(c), numPartitions: PARTITIONS })), waitForLeaders: true });
    let producer = kafka.producer();
    await producer.connect();
    for (const c of CLIENTS) await produce(producer, c, 0, BEFORE);

    await Promise.all(CLIENTS.map((c) => commitBefore(c)));
    const before = new Map<Client, number[]>();
    for (const c of CLIENTS) before.set(c, await committed(admin, c));
    // Mid-log commits, as chosen (kafkajs, @fluxo/client) or as counted (kcat -c 200, python --max).
    expect(before.get('kafkajs')).toEqual([70, 40, 100]);
    expect(before.get('fluxo-client')).toEqual([55, 100, 10]);
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + Math.max(0, b), 0);
    expect(sum(before.get('kcat')!)).toBe(200);
    expect(sum(before.get('confluent')!)).toBe(200);
    expect(sum(before.get('kafka-python')!)).toBe(150);
    await producer.disconnect();
    await admin.disconnect();

    await node.restart(); // SIGTERM (must exit 0 by itself), then start again on the same data dir

    kafka = kafkaFor();
    admin = kafka.admin();
    await admin.connect();
    for (const c of CLIENTS) expect(await committed(admin, c), `${c} commits after the restart`).toEqual(before.get(c));
    producer = kafka.producer();
    await producer.connect();
    for (const c of CLIENTS) await produce(producer, c, BEFORE, BEFORE + AFTER);
    await producer.disconnect();

    // `fluxo group describe` (a separate process) shows the restored commits: lag = log end - committed, with the
    // log end checked against ListOffsets (kafkajs fetchTopicOffsets).
    for (const c of CLIENTS) {
      const out = expectSuccess(await runCommand(process.execPath, [CLI_MAIN, 'group', 'describe', groupOf(c), '-b', node.bootstrap], { timeoutMs: 30_000 }));
      const ends = await admin.fetchTopicOffsets(topicOf(c));
      const lines = out.split('\n');
      const header = lines.findIndex((l) => /^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\b/.test(l));
      expect(header, out).toBeGreaterThan(0);
      const rows = lines.slice(header + 1).filter((l) => l.startsWith(topicOf(c))).map((l) => l.split(/\s+/).slice(1, 5).map(Number));
      expect(rows.map(([p]) => p).sort(), out).toEqual(before.get(c)!.flatMap((o, p) => (o >= 0 ? [p] : [])));
      for (const [p, current, logEnd, lag] of rows) {
        expect(current, `${c} partition ${p} committed`).toBe(before.get(c)![p!]);
        expect(logEnd, `${c} partition ${p} log end`).toBe(Number(ends.find((e) => e.partition === p)!.high));
        expect(lag, `${c} partition ${p} lag`).toBe(logEnd! - current!);
      }
    }

    const results = await Promise.all(CLIENTS.map(async (c) => {
      const start = before.get(c)!.map((o) => Math.max(0, o));
      const end = (BEFORE + AFTER) / PARTITIONS; // log end offset of every partition
      const expected = [0, 1, 2].flatMap((p) => Array.from({ length: end - start[p]! }, (_, i) => `${p}:${start[p]! + i}`));
      const got = await resumeAfter(c, expected.length);
      return { c, start, expected, got };
    }));
    for (const { c, start, expected, got } of results) {
      // First record per partition = the committed offset; then exactly the rest of the log, once.
      for (let p = 0; p < PARTITIONS; p++) {
        const offsets = got.filter((r) => r.partition === p).map((r) => r.offset);
        if (offsets.length > 0) expect(Math.min(...offsets), `${c} partition ${p} resumed at`).toBe(start[p]);
      }
      expect(got.map((r) => `${r.partition}:${r.offset}`).sort(), `${c} records after the restart`).toEqual([...expected].sort());
      // Values match what was produced at those offsets (value i went to partition i % 3 at offset floor(i / 3)).
      for (const r of got) expect(r.value, `${c} ${r.partition}:${r.offset}`).toBe(`${c}-${r.offset * PARTITIONS + r.partition}`);
    }
    await admin.disconnect();
  });
});
