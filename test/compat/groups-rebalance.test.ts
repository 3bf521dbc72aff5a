/**
 * Consumer-group rebalances across clients, each member a real group member against a spawned node: three
 * members share a 12-partition topic, one leaves (LeaveGroup) and one joins while records keep arriving.
 * Every record must be processed, none skipped, and the duplicates are counted and bounded by what was not
 * committed when partitions moved (see checkLedger in groups-support.ts for the bound and why it holds).
 *   - kafkajs 2.2.4 (in this process: 100,000 records; also a strict per-record check, since its commit
 *     events and deliveries are ordered in one event loop), then listGroups / describeGroups / fetchOffsets /
 *     deleteGroups on the finished group;
 *   - kcat -G (librdkafka balanced consumer, auto-commit) as separate processes;
 *   - confluent-kafka-python and kafka-python members with manual synchronous commits (py-groups/member.py).
 */
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertToolsPresent, cleanupAll, startNode, toolGate, waitFor, type FluxoNode } from '../harness/index.js';
import {
  checkLedger, distinctValues, kcatCount, kcatEvents, kcatMember, kcatRevokeCommits, killMembers, pyErrors, pyEvents, pyMember, pyProgress, values,
  waitForCount, whileRunning, type LedgerReport, type MemberEvent, type MemberProcess,
} from './groups-support.js';

const gate = toolGate(['kcat', 'confluent_kafka', 'kafka-python']);
/** Short initial rebalance delay so joins finish quickly; few __consumer_offsets partitions. */
const NODE_SETTINGS = { 'group.initial.rebalance.delay.ms': '100', 'offsets.topic.num.partitions': '4' };
const PARTITIONS = 12;
/** Python members commit every this many records (prime: a member rarely stops exactly on a commit). */
const COMMIT_EVERY = 97;

describe.skipIf(gate.skip)('consumer group rebalances: one member leaves, one joins, records keep flowing', () => {
  let node: FluxoNode;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    node = await startNode({ set: NODE_SETTINGS });
    kafka = new Kafka({ clientId: 'groups-rebalance', brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await killMembers();
    await cleanupAll();
  });

  /** Sends values[i] to partition i % PARTITIONS, in chunks. */
  async function produce(topic: string, vals: readonly string[], chunk = 5000): Promise<void> {
    for (let start = 0; start < vals.length; start += chunk) {
      const messages = vals.slice(start, start + chunk).map((value, j) => ({ value, partition: (start + j) % PARTITIONS }));
      await producer.send({ topic, acks: -1, messages });
    }
  }

  async function groupState(groupId: string): Promise<{ state: string; members: number }> {
    const g = (await admin.describeGroups([groupId])).groups[0]!;
    return { state: g.state, members: g.members.length };
  }

  /** Waits for the group to be Stable with `members` members; fails at once if one of `alive` exits meanwhile. */
  async function waitStable(groupId: string, members: number, alive: Iterable<MemberProcess> = [], timeoutMs = 60_000): Promise<void> {
    await whileRunning(alive, waitFor(async () => {
      const g = await groupState(groupId);
      if (process.env.DEBUG_GROUPS) console.log(new Date().toISOString(), groupId, JSON.stringify(g));
      return g.state === 'Stable' && g.members === members;
    }, { timeoutMs, intervalMs: 100, what: `group ${groupId} Stable with ${members} members` }));
  }

  async function committedTotal(groupId: string, topic: string): Promise<number> {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  }

  function expectLedger(name: string, r: LedgerReport, count: number): void {
    console.log(`${name}: ${JSON.stringify(r)}`);
    expect(r.missing, 'records never processed').toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(r.distinct).toBe(count);
    expect(r.badResumes, 'a member resumed at an offset nobody committed').toEqual([]);
    expect(r.resumesBelowCommit, 'committed records delivered again').toEqual([]);
    expect(r.duplicates, `duplicates vs records left uncommitted at handovers (${r.runs} runs)`).toBeLessThanOrEqual(r.uncommittedAtHandover);
  }

  it('has the peer tools', () => assertToolsPresent(gate.missing));

  it('kafkajs: 3 members, 12 partitions, 100,000 records; one leaves and one joins midway', { timeout: 180_000 }, async () => {
    const COUNT = 100_000;
    const topic = 'rb-kafkajs';
    const groupId = 'rb-kafkajs-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    const events = new Map<string, MemberEvent[]>();
    const assignments = new Map<string, number[]>();
    const committed = new Map<number, number>();
    const processed = new Set<string>();
    const violations: string[] = [];
    const live = new Map<string, Consumer>();
    let distinct = 0;
    let sequence = 0;

    const start = async (name: string): Promise<void> => {
      const log: MemberEvent[] = [];
      events.set(name, log);
      const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
      consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
        for (const t of e.payload.topics) {
          // kafkajs reports the partition as a string here ("3"), unlike everywhere else.
          for (const p of t.partitions) {
            const partition = Number(p.partition);
            log.push({ kind: 'c', partition, offset: Number(p.offset) });
            committed.set(partition, Math.max(committed.get(partition) ?? 0, Number(p.offset)));
          }
        }
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        assignments.set(name, e.payload.memberAssignment[topic] ?? []);
        log.push({ kind: 'r', partitions: Array.from({ length: PARTITIONS }, (_, p) => p) });
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommitInterval: 1000,
        eachMessage: async ({ partition, message }) => {
          const offset = Number(message.offset);
          const key = `${partition}:${offset}`;
          // Strict form of the bound (one event loop orders commits and deliveries): nothing committed comes back.
          if (processed.has(key) && offset < (committed.get(partition) ?? 0)) violations.push(`${key} redelivered to ${name} though committed up to ${committed.get(partition)}`);
          if (!processed.has(key)) distinct++;
          processed.add(key);
          // One event loop: a counter orders deliveries exactly (atMs only orders runs).
          log.push({ kind: 'm', partition, offset, value: message.value!.toString(), atMs: ++sequence });
        },
      });
      live.set(name, consumer);
    };

    for (const name of ['a', 'b', 'c']) await start(name);
    await waitFor(() => assignments.size === 3 && [...assignments.values()].every((p) => p.length === 4), { timeoutMs: 60_000, what: 'a 4+4+4 assignment' });

    const all = values('kjs', 0, COUNT);
    const firstHalf = produce(topic, all.slice(0, COUNT / 2));
    await waitForCount('a quarter of the records consumed', () => distinct, COUNT / 4, 120_000);
    // a leaves (commits, LeaveGroup) with records still to read; d joins while more arrive.
    await live.get('a')!.disconnect();
    live.delete('a');
    assignments.delete('a');
    await firstHalf;
    await start('d');
    await produce(topic, all.slice(COUNT / 2, (COUNT * 3) / 4));
    await waitFor(() => assignments.get('d')?.length === 4, { timeoutMs: 30_000, what: 'd to get 4 partitions' });
    await produce(topic, all.slice((COUNT * 3) / 4));
    await waitForCount('every record consumed', () => distinct, COUNT, 150_000);
    await waitFor(() => ['b', 'c', 'd'].every((n) => assignments.get(n)?.length === 4), { timeoutMs: 30_000, what: 'b, c, d holding 4 partitions each' });
    expect(events.get('a')!.some((e) => e.kind === 'm') && events.get('d')!.some((e) => e.kind === 'm'), 'both the leaver and the joiner processed records').toBe(true);

    expect(violations).toEqual([]);
    expectLedger('kafkajs', checkLedger(events, all), COUNT);

    expect((await admin.listGroups()).groups).toContainEqual({ groupId, protocolType: 'consumer' });
    const described = (await admin.describeGroups([groupId])).groups[0]!;
    expect(described).toMatchObject({ groupId, state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
    expect(described.members).toHaveLength(3);
    for (const c of live.values()) await c.disconnect();
    // Everyone left: the group is Empty and its commits cover every record.
    expect(await committedTotal(groupId, topic)).toBe(COUNT);
    expect((await groupState(groupId)).state).toBe('Empty');
    await admin.deleteGroups([groupId]);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(groupId);
  });

  it('kcat -G: 3 balanced members, one leaves (SIGTERM) and one joins midway', { timeout: 150_000 }, async () => {
    const COUNT = 100_000;
    const topic = 'rb-kcat';
    const groupId = 'rb-kcat-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    const members = new Map<string, MemberProcess>();
    for (const name of ['a', 'b', 'c']) members.set(name, kcatMember(name, node.bootstrap, groupId, topic));
    const procs = (...names: string[]): MemberProcess[] => names.map((n) => members.get(n)!);
    await waitStable(groupId, 3, procs('a', 'b', 'c'));
    const all = values('kcat', 0, COUNT);
    const total = (): number => [...members.values()].reduce((n, m) => n + kcatCount(m), 0);
    const distinct = (): number => distinctValues(members.values(), kcatEvents);
    await produce(topic, all.slice(0, COUNT / 2));
    await waitForCount('a quarter of the records', total, COUNT / 4, 60_000);
    expect(await members.get('a')!.stop()).toBe(0);
    members.set('d', kcatMember('d', node.bootstrap, groupId, topic));
    await produce(topic, all.slice(COUNT / 2, (COUNT * 3) / 4));
    await waitStable(groupId, 3, procs('b', 'c', 'd'));
    await produce(topic, all.slice((COUNT * 3) / 4));
    await waitForCount('every record via b, c, d', distinct, COUNT, 90_000);
    await waitStable(groupId, 3, procs('b', 'c', 'd'));
    const kcatStopOrder = ['b', 'c', 'd'];
    for (const [i, name] of kcatStopOrder.entries()) {
      expect(await members.get(name)!.stop(), members.get(name)!.stderr().slice(-2000)).toBe(0);
      if (i < 2) await waitStable(groupId, 2 - i, procs(...kcatStopOrder.slice(i + 1)));
    }

    // Every member got a share; together they covered all 12 partitions.
    const partitionsOf = (m: MemberProcess): Set<number> => new Set(kcatEvents(m).flatMap((e) => (e.kind === 'm' ? [e.partition] : [])));
    for (const m of members.values()) expect(partitionsOf(m).size, `${m.name} partitions`).toBeGreaterThan(0);
    expect(new Set([...members.values()].flatMap((m) => [...partitionsOf(m)])).size).toBe(PARTITIONS);
    // kcat auto-commits (librdkafka: enable.auto.commit, offsets stored as records are handed to kcat) every
    // auto.commit.interval.ms and, for partitions taken away, at the revoke / close itself. The periodic commits
    // are invisible, but the revoke commits are in the debug log (stored offset of each removed partition, then
    // the OffsetCommit result). The bound: duplicates <= records each run processed after its last commit
    // on revoke, i.e. what the leaving / rebalanced member consumed since it last committed.
    const ledger = checkLedger(new Map([...members].map(([n, m]) => [n, kcatEvents(m)])), all, {
      extraCommits: new Map([...members].map(([n, m]) => [n, kcatRevokeCommits(m, topic)])),
      resumesVisible: false,
    });
    expect(kcatRevokeCommits(members.get('a')!, topic).length, 'the leaver committed on revoke').toBeGreaterThan(0);
    expectLedger('kcat', ledger, COUNT);
    expect(await committedTotal(groupId, topic)).toBe(COUNT);
  });

  for (const client of ['confluent', 'kafka-python'] as const) {
    const COUNT = client === 'confluent' ? 100_000 : 12_000;
    it(`${client}: 3 members with manual commits every ${COMMIT_EVERY} records, one leaves and one joins midway`, { timeout: 150_000 }, async () => {
      const topic = `rb-${client}`;
      const groupId = `rb-${client}-group`;
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
      const members = new Map<string, MemberProcess>();
      // a (the leaver) commits only every COMMIT_EVERY records, never when it stops or loses partitions, and
      // leaves by itself (close: LeaveGroup) after A_MAX records: its last A_MAX % COMMIT_EVERY records are
      // uncommitted and must come again. The others also commit before giving up partitions and when they
      // stop, so the group's commits end up covering every record.
      // An integer (member.py's --max is an int: 100_000 / 30 + 50 = 3383.33... made a exit at start-up).
      const A_MAX = Math.floor(COUNT / 30) + 50;
      const join = (name: string): void =>
        void members.set(name, pyMember(name, {
          client, bootstrap: node.bootstrap, topic, group: groupId, commitEvery: COMMIT_EVERY,
          ...(name === 'a' ? { max: A_MAX } : { commitAtEnd: true, commitOnRevoke: true }),
        }));
      for (const name of ['a', 'b', 'c']) join(name);
      const procs = (...names: string[]): MemberProcess[] => names.map((n) => members.get(n)!);
      await waitStable(groupId, 3, procs('a', 'b', 'c'));
      await waitFor(() => [...members.values()].every((m) => pyProgress(m).assigned), { timeoutMs: 30_000, what: 'every member assigned' });
      const all = values(client, 0, COUNT);
      const distinct = (): number => distinctValues(members.values(), pyEvents);
      await produce(topic, all.slice(0, COUNT / 2)); // a's share of these (~COUNT / 6) is more than A_MAX
      expect(await members.get('a')!.exited(), members.get('a')!.stderr().slice(-2000)).toBe(0);
      expect(pyProgress(members.get('a')!).processed).toBe(A_MAX);
      join('d');
      await produce(topic, all.slice(COUNT / 2, (COUNT * 3) / 4));
      await waitFor(() => pyProgress(members.get('d')!).assigned, { timeoutMs: 60_000, what: 'd to be assigned partitions' });
      await waitStable(groupId, 3, procs('b', 'c', 'd'));
      await produce(topic, all.slice((COUNT * 3) / 4));
      await waitForCount('every record via b, c, d', distinct, COUNT, 120_000);
      await waitStable(groupId, 3, procs('b', 'c', 'd'));
      // One at a time, each after the previous rebalance settled: a member's final commit during a rebalance
      // would be refused (REBALANCE_IN_PROGRESS), legitimately, and leave records uncommitted.
      const stopOrder = ['b', 'c', 'd'];
      for (const [i, name] of stopOrder.entries()) {
        expect(await members.get(name)!.stop(), members.get(name)!.stderr().slice(-2000)).toBe(0);
        if (i < 2) await waitStable(groupId, 2 - i, procs(...stopOrder.slice(i + 1)));
      }

      // Commit failures while a rebalance is in progress are legitimate (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION
      // and the like); any other error is not.
      const errors = [...members.values()].flatMap(pyErrors).filter((e) => !/REBALANCE_IN_PROGRESS|ILLEGAL_GENERATION|UNKNOWN_MEMBER_ID|RebalanceInProgress|IllegalGeneration|CommitFailed|_NO_OFFSET/.test(e));
      expect(errors).toEqual([]);
      for (const m of members.values()) expect(pyProgress(m).processed, `${m.name} processed records`).toBeGreaterThan(0);
      const ledger = checkLedger(new Map([...members].map(([n, m]) => [n, pyEvents(m)])), all);
      expectLedger(client, ledger, COUNT);
      // What a left uncommitted was delivered again (to b, c or d): the bound is met, not vacuous.
      expect(ledger.duplicates).toBeGreaterThanOrEqual(A_MAX % COMMIT_EVERY);
      const [final] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const lastLines = [...members.values()].map((m) => `${m.name}: ${m.lines().slice(-6).map((l) => l.line).join(' ')}`);
      expect(await committedTotal(groupId, topic), `${JSON.stringify(final!.partitions)}\n${lastLines.join('\n')}`).toBe(COUNT);
    });
  }
});
