// Consumer groups against a real in-process node (group coordinator, __consumer_offsets).
import { ErrorCode } from '@fluxo/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../admin.js';
import { Consumer, type ConsumerOptions } from '../consumer.js';
import type { ConsumerRecord } from '../fetcher.js';
import { Producer } from '../producer.js';
import { startTestBroker, type TestBroker } from '../testing/in-process-broker.js';
import type { TopicPartition } from './topic-partition.js';

/** No initial rebalance delay and a small __consumer_offsets keep the tests quick. */
const NODE_SETTINGS = { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '4' };
const RETRY = { retries: 50, retryBackoffMs: 50, maxRetryBackoffMs: 500 };

let node: TestBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  node = await startTestBroker({ set: NODE_SETTINGS });
  admin = new Admin({ brokers: node.bootstrap, clientId: 'group-test-admin' });
  await admin.connect();
  producer = new Producer({ brokers: node.bootstrap, lingerMs: 0 });
  await producer.connect();
});

afterAll(async () => {
  await producer?.close();
  await admin?.close();
  await node?.stop();
});

let counter = 0;
const unique = (prefix: string): string => `${prefix}-${++counter}-${Date.now().toString(36)}`;

async function newTopic(numPartitions: number): Promise<string> {
  const topic = unique('gt');
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
  return topic;
}

/** `count` records spread over every partition (explicit partitions, so each gets count / partitions). */
async function produce(topic: string, partitions: number, count: number, tag: string): Promise<void> {
  await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `${tag}-${i}`, partition: i % partitions })) });
}

function groupConsumer(groupId: string, options: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({
    brokers: node.bootstrap,
    clientId: 'group-test',
    groupId,
    fetchMaxWaitMs: 100,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 200,
    autoCommitIntervalMs: 200,
    autoOffsetReset: 'earliest',
    retry: RETRY,
    ...options,
  });
}

/** Runs the consumer in the background, recording what it gets. */
function collect(consumer: Consumer): { records: ConsumerRecord[]; done: Promise<void> } {
  const records: ConsumerRecord[] = [];
  const done = consumer.run({ eachMessage: ({ message }) => void records.push(message) });
  done.catch(() => undefined);
  return { records, done };
}

const key = (r: ConsumerRecord): string => `${r.topic}/${r.partition}/${r.offset}`;

/** Distinct records and how many arrived more than once. */
function tally(...lists: ConsumerRecord[][]): { distinct: number; duplicates: number } {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const list of lists) {
    for (const r of list) {
      if (seen.has(key(r))) duplicates++;
      else seen.add(key(r));
    }
  }
  return { distinct: seen.size, duplicates };
}

const render = (tps: TopicPartition[]): string[] => tps.map((tp) => `${tp.topic}-${tp.partition}`).sort();

async function committedTotal(groupId: string): Promise<number> {
  const offsets = await admin.fetchOffsets({ groupId });
  return offsets.reduce((sum, o) => sum + Math.max(0, o.offset), 0);
}

describe('consumer group membership', () => {
  it('shares partitions among members; members join and leave; every record arrives once (eager range)', async () => {
    const topic = await newTopic(6);
    const groupId = unique('g-eager');
    await produce(topic, 6, 120, 'a');
    const a = groupConsumer(groupId, { assignors: ['range'] });
    await a.connect();
    a.subscribe({ topics: [topic] });
    const ra = collect(a);
    await expect.poll(() => ra.records.length, { timeout: 20_000 }).toBe(120);
    expect(a.assignment()).toHaveLength(6);

    const b = groupConsumer(groupId, { assignors: ['range'] });
    await b.connect();
    b.subscribe({ topics: [topic] });
    const rb = collect(b);
    await expect.poll(() => [a.assignment().length, b.assignment().length].join(','), { timeout: 20_000 }).toBe('3,3');
    await produce(topic, 6, 120, 'b');
    await expect.poll(() => tally(ra.records, rb.records).distinct, { timeout: 20_000 }).toBe(240);
    // Range: each member reads a contiguous half (which half depends on the member ids' order).
    const halves = [[0, 1, 2], [3, 4, 5]].map((ps) => ps.map((p) => `${topic}-${p}`).sort());
    expect(halves).toContainEqual(render(a.assignment()));
    expect(halves).toContainEqual(render(b.assignment()));

    // a leaves gracefully (commit, LeaveGroup); c joins.
    await a.close();
    await ra.done;
    const c = groupConsumer(groupId, { assignors: ['range'] });
    await c.connect();
    c.subscribe({ topics: [topic] });
    const rc = collect(c);
    await expect.poll(() => [b.assignment().length, c.assignment().length].join(','), { timeout: 20_000 }).toBe('3,3');
    await produce(topic, 6, 120, 'c');
    await expect.poll(() => tally(ra.records, rb.records, rc.records).distinct, { timeout: 20_000 }).toBe(360);
    // Every rebalance committed before partitions moved, so nothing was read twice.
    expect(tally(ra.records, rb.records, rc.records).duplicates).toBe(0);
    const description = (await admin.describeGroups([groupId]))[0]!;
    expect(description.state).toBe('Stable');
    expect(description.protocol).toBe('range');
    expect(description.members).toHaveLength(2);
    expect(description.members.flatMap((m) => m.assignment)).toHaveLength(6);
    await Promise.all([b.close(), c.close()]);
    await expect.poll(() => committedTotal(groupId), { timeout: 10_000 }).toBe(360);
    expect((await admin.describeGroups([groupId]))[0]!.state).toBe('Empty');
  });

  it('re-reads exactly the records a leaving member processed but did not commit', async () => {
    const topic = await newTopic(2);
    const groupId = unique('g-manual');
    await produce(topic, 2, 100, 'm');
    const a = groupConsumer(groupId, { autoCommit: false, assignors: ['roundrobin'] });
    await a.connect();
    a.subscribe({ topics: [topic] });
    const seenA: ConsumerRecord[] = [];
    for await (const r of a) {
      seenA.push(r);
      if (seenA.length === 60) await a.commit();
      if (seenA.length === 80) break;
    }
    const committed = await a.committed([0, 1].map((partition) => ({ topic, partition })));
    expect(committed.reduce((s, c) => s + c.offset, 0)).toBe(60);
    // autoCommit off: closing commits nothing, so the 20 records after the commit are not committed.
    await a.close();
    const b = groupConsumer(groupId, { assignors: ['roundrobin'] });
    await b.connect();
    b.subscribe({ topics: [topic] });
    const rb = collect(b);
    await expect.poll(() => rb.records.length, { timeout: 20_000 }).toBe(40);
    const counts = tally(seenA, rb.records);
    expect(counts.distinct).toBe(100);
    expect(counts.duplicates).toBe(20);
    await b.close();
  });

  it('commits explicit offsets, pauses, resumes and seeks within the group', async () => {
    const topic = await newTopic(2);
    const groupId = unique('g-seek');
    await produce(topic, 2, 20, 's');
    const c = groupConsumer(groupId, { autoCommit: false });
    await c.connect();
    c.subscribe({ topics: [topic] });
    const { records } = collect(c);
    await expect.poll(() => records.length, { timeout: 20_000 }).toBe(20);

    c.pause([{ topic, partitions: [0] }]);
    expect(c.paused()).toEqual([{ topic, partition: 0 }]);
    await produce(topic, 2, 10, 'p');
    await expect.poll(() => records.filter((r) => r.partition === 1).length, { timeout: 10_000 }).toBe(15);
    // Partition 0 got nothing while paused.
    expect(records.filter((r) => r.partition === 0)).toHaveLength(10);
    c.resume([{ topic }]);
    await expect.poll(() => records.filter((r) => r.partition === 0).length, { timeout: 10_000 }).toBe(15);

    c.seek({ topic, partition: 1, offset: 12 });
    await expect.poll(() => records.filter((r) => r.partition === 1).length, { timeout: 10_000 }).toBe(18);
    expect(records.filter((r) => r.partition === 1).slice(-3).map((r) => r.offset)).toEqual([12, 13, 14]);

    await c.commit([{ topic, partition: 0, offset: 7, metadata: 'manual' }]);
    const [p0] = await c.committed([{ topic, partition: 0 }]);
    expect(p0).toMatchObject({ offset: 7, metadata: 'manual' });
    await c.commit();
    expect((await c.committed([{ topic, partition: 0 }, { topic, partition: 1 }])).map((o) => o.offset)).toEqual([15, 15]);

    // unsubscribe() gives everything up and leaves; subscribing again resumes from the committed offsets.
    await c.unsubscribe();
    expect(c.assignment()).toEqual([]);
    await expect.poll(async () => (await admin.describeGroups([groupId]))[0]!.state, { timeout: 10_000 }).toBe('Empty');
    c.subscribe({ topics: [topic] });
    await produce(topic, 2, 2, 'again');
    await expect.poll(() => records.length, { timeout: 20_000 }).toBe(35);
    expect(records.slice(-2).map((r) => r.offset)).toEqual([15, 15]);
    await c.close();
  });

  it('cooperative-sticky: a joining member takes partitions without the others giving up the rest', async () => {
    const topic = await newTopic(6);
    const groupId = unique('g-coop');
    const events: string[] = [];
    const listener = (name: string) => ({
      onPartitionsAssigned: (tps: TopicPartition[]) => void events.push(`${name}+${tps.length}`),
      onPartitionsRevoked: (tps: TopicPartition[]) => void events.push(`${name}-${tps.length}`),
      onPartitionsLost: (tps: TopicPartition[]) => void events.push(`${name}!${tps.length}`),
    });
    await produce(topic, 6, 60, 'x');
    const a = groupConsumer(groupId, { assignors: ['cooperative-sticky'], rebalanceListener: listener('a') });
    await a.connect();
    a.subscribe({ topics: [topic] });
    const ra = collect(a);
    await expect.poll(() => ra.records.length, { timeout: 20_000 }).toBe(60);
    const before = render(a.assignment());
    expect(before).toHaveLength(6);

    const b = groupConsumer(groupId, { assignors: ['cooperative-sticky'], rebalanceListener: listener('b') });
    await b.connect();
    b.subscribe({ topics: [topic] });
    const rb = collect(b);
    await expect.poll(() => [a.assignment().length, b.assignment().length].join(','), { timeout: 20_000 }).toBe('3,3');
    // a kept 3 of its own partitions (they were never revoked) and gave up exactly 3.
    expect(before).toEqual(expect.arrayContaining(render(a.assignment())));
    expect(events).toEqual(['a+6', 'a-3', 'b+3']);
    expect((await admin.describeGroups([groupId]))[0]!.protocol).toBe('cooperative-sticky');
    await produce(topic, 6, 60, 'y');
    await expect.poll(() => tally(ra.records, rb.records).distinct, { timeout: 20_000 }).toBe(120);
    expect(tally(ra.records, rb.records).duplicates).toBe(0);

    // b leaves: a gets its 3 partitions back, again without revoking its own.
    await b.close();
    await expect.poll(() => a.assignment().length, { timeout: 20_000 }).toBe(6);
    expect(events.slice(3)).toEqual(['b-3', 'a+3']);
    await a.close();
  });

  it('subscribes to a pattern and picks up topics created later', async () => {
    const prefix = unique('pat');
    const groupId = unique('g-pattern');
    const t1 = `${prefix}-one`;
    await admin.createTopics({ topics: [{ topic: t1, numPartitions: 2 }] });
    const c = groupConsumer(groupId, { metadataMaxAgeMs: 300 });
    await c.connect();
    c.subscribe({ pattern: new RegExp(`^${prefix}-`) });
    const { records } = collect(c);
    await produce(t1, 2, 10, 'one');
    await expect.poll(() => records.length, { timeout: 20_000 }).toBe(10);
    const t2 = `${prefix}-two`;
    await admin.createTopics({ topics: [{ topic: t2, numPartitions: 3 }] });
    await expect.poll(() => c.assignment().length, { timeout: 20_000 }).toBe(5);
    await produce(t2, 3, 9, 'two');
    await expect.poll(() => records.length, { timeout: 20_000 }).toBe(19);
    expect(c.subscription()).toEqual([t1, t2]);
    await c.close();
  });

  it('keeps a static member out of rebalances across its restart', async () => {
    const topic = await newTopic(4);
    const groupId = unique('g-static');
    const a = groupConsumer(groupId, { groupInstanceId: 'instance-a' });
    const b = groupConsumer(groupId, { groupInstanceId: 'instance-b' });
    await Promise.all([a.connect(), b.connect()]);
    a.subscribe({ topics: [topic] });
    b.subscribe({ topics: [topic] });
    const ra = collect(a);
    const rb = collect(b);
    await expect.poll(() => [a.assignment().length, b.assignment().length].join(','), { timeout: 20_000 }).toBe('2,2');
    const assignedToB = render(b.assignment());
    const { generationId } = a.groupMembership();
    // A static member does not send LeaveGroup: its partitions wait for it (no rebalance).
    await b.close();
    await rb.done;
    await produce(topic, 4, 8, 'st');
    await expect.poll(() => ra.records.length, { timeout: 10_000 }).toBe(4);
    const b2 = groupConsumer(groupId, { groupInstanceId: 'instance-b' });
    await b2.connect();
    b2.subscribe({ topics: [topic] });
    const rb2 = collect(b2);
    await expect.poll(() => rb2.records.length, { timeout: 20_000 }).toBe(4);
    expect(render(b2.assignment())).toEqual(assignedToB);
    expect(a.groupMembership().generationId).toBe(generationId);
    await Promise.all([a.close(), b2.close()]);
  });
});

describe('rebalances under load', () => {
  for (const assignor of ['roundrobin', 'cooperative-sticky'] as const) {
    it(`${assignor}: members come and go while records stream in; none lost, none read twice`, async () => {
      const topic = await newTopic(8);
      const groupId = unique(`g-load-${assignor}`);
      const total = 3_000;
      const members: { consumer: Consumer; records: ConsumerRecord[]; done: Promise<void> }[] = [];
      const join = async (): Promise<void> => {
        const consumer = groupConsumer(groupId, { assignors: [assignor] });
        await consumer.connect();
        consumer.subscribe({ topics: [topic] });
        members.push({ consumer, ...collect(consumer) });
      };
      const all = (): ConsumerRecord[][] => members.map((m) => m.records);
      await join();
      let produced = 0;
      const producing = (async () => {
        while (produced < total) {
          await produce(topic, 8, 100, `load-${produced}`);
          produced += 100;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      // Two join, then the first two leave, one more joins, while the producer runs.
      const progress = async (n: number): Promise<void> => {
        await expect.poll(() => tally(...all()).distinct, { timeout: 30_000 }).toBeGreaterThanOrEqual(n);
      };
      await progress(300);
      await join();
      await progress(900);
      await join();
      await progress(1500);
      await members[0]!.consumer.close();
      await progress(2000);
      await members[1]!.consumer.close();
      await join();
      await producing;
      await expect.poll(() => tally(...all()).distinct, { timeout: 30_000 }).toBe(total);
      expect(tally(...all()).duplicates).toBe(0);
      await Promise.all(members.map((m) => m.consumer.close()));
      expect(await committedTotal(groupId)).toBe(total);
    });
  }

  it('a member that stops polling for maxPollIntervalMs leaves; its partitions move on', async () => {
    const topic = await newTopic(2);
    const groupId = unique('g-stall');
    const staller = groupConsumer(groupId, { maxPollIntervalMs: 1_500, assignors: ['range'] });
    await staller.connect();
    staller.subscribe({ topics: [topic] });
    const iterator = staller[Symbol.asyncIterator]();
    await produce(topic, 2, 2, 'first');
    const first = await iterator.next();
    expect(first.done).toBe(false);
    // The application now holds the record and stops polling.
    const other = groupConsumer(groupId, { assignors: ['range'] });
    await other.connect();
    other.subscribe({ topics: [topic] });
    const ro = collect(other);
    await expect.poll(() => other.assignment().length, { timeout: 20_000 }).toBe(2);
    await produce(topic, 2, 10, 'later');
    await expect.poll(() => ro.records.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(10);
    expect(staller.groupMembership().memberId).toBe('');
    await Promise.all([staller.close(), other.close()]);
  });

  it('fences the older of two consumers with the same groupInstanceId (FENCED_INSTANCE_ID)', async () => {
    const topic = await newTopic(1);
    const groupId = unique('g-fence');
    const old = groupConsumer(groupId, { groupInstanceId: 'same' });
    await old.connect();
    old.subscribe({ topics: [topic] });
    const ro = collect(old);
    await expect.poll(() => old.assignment().length, { timeout: 20_000 }).toBe(1);
    const newer = groupConsumer(groupId, { groupInstanceId: 'same' });
    await newer.connect();
    newer.subscribe({ topics: [topic] });
    const rn = collect(newer);
    await expect(ro.done).rejects.toMatchObject({ code: ErrorCode.FENCED_INSTANCE_ID });
    await produce(topic, 1, 3, 'f');
    await expect.poll(() => rn.records.length, { timeout: 20_000 }).toBe(3);
    await Promise.all([old.close(), newer.close()]);
  });
});

describe('reassignment', () => {
  it('never delivers records buffered before a partition was unassigned once it is assigned again', async () => {
    const topic = await newTopic(1);
    await produce(topic, 1, 10, 'r');
    const c = new Consumer({ brokers: node.bootstrap, fetchMaxWaitMs: 100 });
    await c.connect();
    c.assign([{ topic, partition: 0, offset: 0 }]);
    const iterator = c[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ offset: 0 });
    // Offsets 1-9 sit in the consumer's buffer now; an eager rebalance drops and re-adds the partition.
    c.assign([]);
    c.assign([{ topic, partition: 0, offset: 5 }]);
    expect((await iterator.next()).value).toMatchObject({ offset: 5 });
    await c.close();
  });
});

describe('group administration', () => {
  it('lists, describes, alters, deletes offsets and deletes groups', async () => {
    const topic = await newTopic(3);
    const groupId = unique('g-admin');
    await produce(topic, 3, 30, 'ad');
    const c = groupConsumer(groupId);
    await c.connect();
    c.subscribe({ topics: [topic] });
    const { records } = collect(c);
    await expect.poll(() => records.length, { timeout: 20_000 }).toBe(30);
    await c.commit();

    const listed = await admin.listGroups();
    expect(listed.find((g) => g.groupId === groupId)).toMatchObject({ protocolType: 'consumer', state: 'Stable' });
    const [described] = await admin.describeGroups([groupId]);
    expect(described!.members).toHaveLength(1);
    expect(described!.members[0]!.memberId).toBe(c.groupMembership().memberId);
    expect(described!.members[0]!.subscription).toEqual([topic]);
    expect(render(described!.members[0]!.assignment)).toEqual([0, 1, 2].map((p) => `${topic}-${p}`));
    expect((await admin.fetchOffsets({ groupId })).map((o) => o.offset)).toEqual([10, 10, 10]);

    // Changing offsets or deleting the group needs it to be empty.
    await expect(admin.resetOffsets({ groupId, topics: [{ topic }], strategy: { to: 'earliest' }, dryRun: true })).rejects.toMatchObject({ code: ErrorCode.NON_EMPTY_GROUP });
    await expect(admin.deleteGroups([groupId])).rejects.toMatchObject({ code: ErrorCode.NON_EMPTY_GROUP });
    await c.close();

    const plan = await admin.resetOffsets({ groupId, topics: [{ topic, partitions: [1] }], strategy: { shiftBy: -4 }, dryRun: true });
    expect(plan).toEqual([{ topic, partition: 1, currentOffset: 10, newOffset: 6 }]);
    expect((await admin.fetchOffsets({ groupId })).map((o) => o.offset)).toEqual([10, 10, 10]);
    await admin.resetOffsets({ groupId, topics: null, strategy: { to: 'offset', offset: 1_000 }, dryRun: false });
    // Clamped to the log end.
    expect((await admin.fetchOffsets({ groupId })).map((o) => o.offset)).toEqual([10, 10, 10]);
    await admin.resetOffsets({ groupId, topics: [{ topic }], strategy: { to: 'earliest' }, dryRun: false });
    expect((await admin.fetchOffsets({ groupId })).map((o) => o.offset)).toEqual([0, 0, 0]);
    await admin.alterOffsets({ groupId, offsets: [{ topic, partition: 2, offset: 5 }] });
    await admin.deleteOffsets({ groupId, partitions: [{ topic, partition: 0 }] });
    expect((await admin.fetchOffsets({ groupId })).map((o) => [o.partition, o.offset])).toEqual([
      [1, 0],
      [2, 5],
    ]);

    await admin.deleteGroups([groupId]);
    expect((await admin.listGroups()).some((g) => g.groupId === groupId)).toBe(false);
    expect(await admin.fetchOffsets({ groupId })).toEqual([]);
    await expect(admin.deleteGroups([groupId])).rejects.toMatchObject({ code: ErrorCode.GROUP_ID_NOT_FOUND });
  });

  it('commits for assign()ed partitions with generation -1 and refuses subscribe() without a groupId', async () => {
    const topic = await newTopic(1);
    const groupId = unique('g-assign');
    await produce(topic, 1, 5, 'as');
    const c = groupConsumer(groupId);
    await c.connect();
    c.assign([{ topic, partition: 0, offset: 'earliest' }]);
    expect(() => c.subscribe({ topics: [topic] })).toThrow(/after assign/);
    let n = 0;
    for await (const _ of c) if (++n === 5) break;
    await c.close();
    expect(await admin.fetchOffsets({ groupId })).toMatchObject([{ topic, partition: 0, offset: 5 }]);
    // Assigned without an offset, a consumer of the group starts at the committed one (Kafka's rule).
    await produce(topic, 1, 3, 'as2');
    const again = groupConsumer(groupId, { autoOffsetReset: 'latest' });
    await again.connect();
    again.assign([{ topic, partition: 0 }]);
    const offsets: number[] = [];
    for await (const r of again) if (offsets.push(r.offset) === 3) break;
    expect(offsets).toEqual([5, 6, 7]);
    await again.close();
    const plain = new Consumer({ brokers: node.bootstrap });
    expect(() => plain.subscribe({ topics: [topic] })).toThrow(/groupId/);
    await plain.close();
  });
});

describe('committed offsets across a node restart', () => {
  it('each client resumes from its committed offsets after the node restarts', async () => {
    let restartable = await startTestBroker({ set: NODE_SETTINGS });
    const { dataDir, port, bootstrap } = restartable;
    const admin2 = new Admin({ brokers: bootstrap, retry: RETRY });
    const producer2 = new Producer({ brokers: bootstrap, retry: RETRY, lingerMs: 0 });
    const options = { brokers: bootstrap, clientId: 'restart-test', groupId: 'g-restart', fetchMaxWaitMs: 100, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 200, autoCommitIntervalMs: 100, autoOffsetReset: 'earliest' as const, retry: RETRY };
    const a = new Consumer(options);
    const b = new Consumer(options);
    try {
      await admin2.connect();
      await admin2.createTopics({ topics: [{ topic: 'resume', numPartitions: 4 }] });
      await producer2.connect();
      await producer2.send({ topic: 'resume', messages: Array.from({ length: 80 }, (_, i) => ({ value: `before-${i}`, partition: i % 4 })) });
      await Promise.all([a.connect(), b.connect()]);
      a.subscribe({ topics: ['resume'] });
      b.subscribe({ topics: ['resume'] });
      const ra = collect(a);
      const rb = collect(b);
      await expect.poll(() => tally(ra.records, rb.records).distinct, { timeout: 20_000 }).toBe(80);
      // Wait for the auto-commit of everything read, then restart the node under the running consumers.
      const committed = async (): Promise<number> => (await admin2.fetchOffsets({ groupId: 'g-restart' })).reduce((s, o) => s + o.offset, 0);
      await expect.poll(committed, { timeout: 10_000 }).toBe(80);
      await restartable.halt();
      restartable = await startTestBroker({ set: NODE_SETTINGS, dataDir, port });
      expect(await committed()).toBe(80);

      await producer2.send({ topic: 'resume', messages: Array.from({ length: 40 }, (_, i) => ({ value: `after-${i}`, partition: i % 4 })) });
      await expect.poll(() => tally(ra.records, rb.records).distinct, { timeout: 30_000 }).toBe(120);
      expect(tally(ra.records, rb.records).duplicates).toBe(0);
      await Promise.all([a.close(), b.close()]);
      await expect.poll(committed, { timeout: 10_000 }).toBe(120);

      // A new client of the group starts where the group left off: only records produced since.
      await producer2.send({ topic: 'resume', messages: Array.from({ length: 8 }, (_, i) => ({ value: `late-${i}`, partition: i % 4 })) });
      const c = new Consumer(options);
      await c.connect();
      c.subscribe({ topics: ['resume'] });
      const rc = collect(c);
      await expect.poll(() => rc.records.length, { timeout: 20_000 }).toBe(8);
      expect(rc.records.map((r) => r.value!.toString()).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `late-${i}`).sort());
      await c.close();
    } finally {
      await Promise.all([a.close(), b.close()]).catch(() => undefined);
      await producer2.close().catch(() => undefined);
      await admin2.close();
      await restartable.stop();
    }
  });
});
