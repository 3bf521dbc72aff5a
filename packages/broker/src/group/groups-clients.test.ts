/**
 * Consumer groups with librdkafka (kcat -G, confluent-kafka-python 1.7 on /usr/bin/python3) against an
 * in-process node: balanced members, commits honoured by the next member of the group across a node restart,
 * and a librdkafka member whose assignors do not match a kafkajs group refused with INCONSISTENT_GROUP_PROTOCOL
 * while the group keeps consuming. Cross-client tests spawned against built nodes live in test/compat.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { startTestNode, type TestNode } from '../testing/raw-client.js';

const PYTHON = '/usr/bin/python3';
const KCAT = 'kcat';
const NODE_SETTINGS = { 'group.initial.rebalance.delay.ms': '300', 'offsets.topic.num.partitions': '10' };
const haveTools = spawnSync(KCAT, ['-V'], { stdio: 'ignore' }).status === 0 && spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { stdio: 'ignore' }).status === 0;

const children = new Set<ChildProcess>();

/** Runs to completion (SIGKILL after timeoutMs); resolves with stdout, rejects with stderr on failure. */
function run(cmd: string, args: string[], input = '', timeoutMs = 90_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${err.slice(-3000)}\n${out.slice(-1000)}`));
    });
    child.stdin.end(input);
  });
}

interface Background {
  output(): string;
  stop(): Promise<void>;
}

/** A kcat balanced consumer (-G) printing JSON lines until stopped with SIGTERM (commits, leaves the group). */
function kcatMember(bootstrap: string, group: string, topic: string): Background {
  const child = spawn(KCAT, ['-b', bootstrap, '-G', group, topic, '-J', '-q', '-u', '-X', 'auto.offset.reset=earliest', '-X', 'auto.commit.interval.ms=200', '-X', 'session.timeout.ms=10000', '-X', 'heartbeat.interval.ms=500'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', () => undefined);
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      children.delete(child);
    },
  };
}

function messages(out: string): { partition: number; offset: number; payload: string }[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as { partition: number; offset: number; payload: string });
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000, probe?: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (probe) await probe();
    if (condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** kcat -K ':' input: key i, value k<i>. */
function keyed(from: number, to: number): string {
  return lines(from, to, 'k').map((v, i) => `${from + i}:${v}`).join('\n') + '\n';
}

function lines(from: number, to: number, prefix: string): string[] {
  return Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
}

const CREATE_TOPIC = `
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({'bootstrap.servers': sys.argv[1]})
for f in a.create_topics([NewTopic(sys.argv[2], int(sys.argv[3]), 1)]).values(): f.result()
print('{}')
`;

/** confluent-kafka-python member: consumes `count` messages (commit per message), prints values, errors, committed offsets. */
const CONFLUENT_MEMBER = `
import json, sys, time
from confluent_kafka import Consumer, TopicPartition
bootstrap, group, topic, count, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'auto.offset.reset': 'earliest', 'enable.auto.commit': False,
              'session.timeout.ms': 10000, 'heartbeat.interval.ms': 500, 'partition.assignment.strategy': 'range,roundrobin'})
c.subscribe([topic])
values, errors = [], []
deadline = time.time() + float(sys.argv[6]) if len(sys.argv) > 6 else time.time() + 60
while len(values) < count and time.time() < deadline:
    m = c.poll(0.2)
    if m is None:
        continue
    if m.error():
        errors.append(m.error().name())
        if len(errors) > 3: break
        continue
    values.append(m.value().decode())
    c.commit(message=m, asynchronous=False)
committed = {}
if not errors:
    committed = {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)}
c.close()
print(json.dumps({'values': values, 'errors': errors, 'committed': committed}))
`;

interface MemberResult {
  values: string[];
  errors: string[];
  committed: Record<string, number>;
}

describe.skipIf(!haveTools)('consumer groups with librdkafka clients', () => {
  const nodes: TestNode[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const n of nodes) await n.cleanup();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('kcat -G: two members split 6 partitions; after a node restart a new member resumes at the commits', { timeout: 180_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fluxo-groups-kcat-'));
    dirs.push(dataDir);
    let node = await startTestNode({ dataDir, set: NODE_SETTINGS });
    let bootstrap = `127.0.0.1:${node.port}`;
    await run(PYTHON, ['-c', CREATE_TOPIC, bootstrap, 'kcat-six', '6']);
    const a = kcatMember(bootstrap, 'kcat-group', 'kcat-six');
    const b = kcatMember(bootstrap, 'kcat-group', 'kcat-six');
    const admin = new Kafka({ brokers: [bootstrap], clientId: 'kcat-admin', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    let stable = false;
    await waitFor('both kcat members in a stable group', () => stable, 60_000, async () => {
      const g = (await admin.describeGroups(['kcat-group'])).groups[0]!;
      stable = g.state === 'Stable' && g.members.length === 2;
    });
    await admin.disconnect();
    // Keyed (-K): null-key messages would stick to one partition per batch (librdkafka sticky partitioning).
    await run(KCAT, ['-P', '-b', bootstrap, '-t', 'kcat-six', '-K', ':'], keyed(0, 3000));
    const seen = (): Set<string> => new Set([...messages(a.output()), ...messages(b.output())].map((m) => m.payload));
    await waitFor('3000 messages across both kcat members', () => seen().size === 3000, 90_000);
    const partitionsOf = (bg: Background): Set<number> => new Set(messages(bg.output()).map((m) => m.partition));
    expect(partitionsOf(a).size).toBeGreaterThan(0);
    expect(partitionsOf(b).size).toBeGreaterThan(0);
    expect(new Set([...partitionsOf(a), ...partitionsOf(b)]).size).toBe(6);
    // Members stopped with SIGTERM commit their positions and leave the group.
    await new Promise((r) => setTimeout(r, 1000));
    await a.stop();
    await b.stop();

    await node.broker.stop();
    node = await startTestNode({ dataDir, set: NODE_SETTINGS });
    nodes.push(node);
    bootstrap = `127.0.0.1:${node.port}`;
    await run(KCAT, ['-P', '-b', bootstrap, '-t', 'kcat-six', '-K', ':'], keyed(3000, 3100));
    const c = kcatMember(bootstrap, 'kcat-group', 'kcat-six');
    await waitFor('the 100 new messages', () => messages(c.output()).length >= 100);
    await new Promise((r) => setTimeout(r, 1000));
    await c.stop();
    expect(messages(c.output()).map((m) => m.payload).sort()).toEqual(lines(3000, 3100, 'k').sort());
  });

  it('confluent-kafka-python: commits survive, the next member continues; a mismatched assignor is refused and the kafkajs group carries on', { timeout: 180_000 }, async () => {
    const node = await startTestNode({ set: NODE_SETTINGS });
    nodes.push(node);
    const bootstrap = `127.0.0.1:${node.port}`;
    await run(PYTHON, ['-c', CREATE_TOPIC, bootstrap, 'py-four', '4']);
    await run(KCAT, ['-P', '-b', bootstrap, '-t', 'py-four'], lines(0, 1000, 'p').join('\n') + '\n');
    const first = JSON.parse(await run(PYTHON, ['-c', CONFLUENT_MEMBER, bootstrap, 'py-group', 'py-four', '600', '4'])) as MemberResult;
    expect(first.errors).toEqual([]);
    expect(first.values).toHaveLength(600);
    expect(Object.values(first.committed).reduce((n, o) => n + Math.max(0, o), 0)).toBe(600);
    const second = JSON.parse(await run(PYTHON, ['-c', CONFLUENT_MEMBER, bootstrap, 'py-group', 'py-four', '400', '4'])) as MemberResult;
    expect(second.errors).toEqual([]);
    expect(new Set([...first.values, ...second.values]).size).toBe(1000);
    expect(Object.values(second.committed).reduce((n, o) => n + o, 0)).toBe(1000);

    // A kafkajs group (RoundRobinAssigner) and a librdkafka member (range,roundrobin) share no protocol.
    const kafka = new Kafka({ brokers: [bootstrap], clientId: 'mixed', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'mixed-group', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'py-four', fromBeginning: true });
    let consumed = 0;
    await consumer.run({ eachMessage: async () => void consumed++ });
    await waitFor('kafkajs member to consume', () => consumed === 1000);
    const refused = JSON.parse(await run(PYTHON, ['-c', CONFLUENT_MEMBER, bootstrap, 'mixed-group', 'py-four', '1', '4', '15'])) as MemberResult;
    expect(refused.values).toEqual([]);
    expect(refused.errors).toContain('INCONSISTENT_GROUP_PROTOCOL');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'py-four', messages: [{ value: 'after' }] });
    await waitFor('kafkajs member to keep consuming', () => consumed === 1001);
    await producer.disconnect();
    await consumer.disconnect();
  });
});
