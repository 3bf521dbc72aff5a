/**
 * Consumer groups in cluster mode (issue #5 point 6; Kafka's GroupMetadataManager): a group's coordinator is the
 * leader of its __consumer_offsets partition. A broker loads a partition's groups when it becomes the leader and
 * unloads them when it stops leading; clients follow with FindCoordinator. 3 controllers + 3 brokers as separate
 * processes (`fluxo cluster up`), three kafkajs consumers per group, every delivery and commit on a ledger:
 * no record skipped, nothing acknowledged as committed delivered again, duplicates bounded by the tails that
 * were not committed when a member lost its partitions.
 *
 * - RF=1 __consumer_offsets: killing (-9) a broker that neither coordinates the group nor leads its data does
 *   not disturb it (no rebalance); shutting the coordinator down gracefully leaves the group without one
 *   (COORDINATOR_NOT_AVAILABLE) until it restarts, loads the group from its log and the members carry on from
 *   their commits.
 * - RF=3 __consumer_offsets: FindCoordinator answers COORDINATOR_NOT_AVAILABLE while the topic cannot be created
 *   (fewer live brokers than offsets.topic.replication.factor). The coordinator is killed with kill -9: leadership
 *   of its offsets partition moves to an in-sync replica, which loads the group (read to the log end); the members
 *   move there and keep consuming from their committed offsets. When the killed broker is back in the ISR, a
 *   preferred leader election moves the partition back while the interim coordinator is alive: it unloads the
 *   group, the preferred replica loads it, the members follow again.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@fluxo/common';
import { Admin as FluxoAdmin } from '@fluxo/client';
import { values, waitForCount, type LedgerReport } from '../compat/groups-support.js';
import { launchCluster, waitFor, type LaunchedCluster } from '../harness/index.js';
import { KafkajsGroup, agreedCoordinator, brokerAddresses, coordinatorVia, kafkaFor, listedBrokers, offsetsPartitionFor, produceAll, stopGracefully } from './groups-cluster-support.js';

const BROKERS = [101, 102, 103];
const RACKS = ['a', 'b', 'c'];
/** Short broker leases so a killed broker is fenced (and loses leadership) within the test. */
const SESSION_TIMEOUT_MS = 3000;
const CLUSTER_SET = {
  'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS),
  'broker.heartbeat.interval.ms': '500',
  'offsets.topic.num.partitions': '6',
  'group.initial.rebalance.delay.ms': '500',
};
const PARTITIONS = 6;

/**
 * `unacknowledgedCommits`: the coordinator was killed, so a commit may be durable (replicated) without its answer
 * reaching the member; the next owner then resumes at an offset no member saw acknowledged. Such resumes are
 * allowed (they skip nothing: `missing` checks that), the other bounds hold as always.
 */
function expectLedger(name: string, group: KafkajsGroup, expected: readonly string[], opts: { unacknowledgedCommits?: boolean } = {}): LedgerReport {
  const r = group.ledger(expected);
  if (group.violations.length > 0 || r.badResumes.length > 0 || r.missing.length > 0 || process.env.GROUPS_KEEP_LOGS) console.log(`${name} timeline:\n${group.timeline.join('\n')}`);
  console.log(`${name}: ${JSON.stringify({ ...r, joins: group.joins, crashes: group.crashes.length })}`);
  expect(r.missing, 'records never processed').toEqual([]);
  expect(r.unexpected).toEqual([]);
  expect(r.distinct).toBe(expected.length);
  expect(group.violations, 'records delivered again below an acknowledged commit').toEqual([]);
  expect(r.resumesBelowCommit, 'committed records delivered again').toEqual([]);
  if (opts.unacknowledgedCommits !== true) expect(r.badResumes, 'a member resumed at an offset nobody committed').toEqual([]);
  expect(r.duplicates, `duplicates vs records left uncommitted at handovers (${r.runs} runs)`).toBeLessThanOrEqual(r.uncommittedAtHandover);
  return r;
}

async function committedTotal(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return t!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

/** GROUPS_KEEP_LOGS=DIR: copies every node's log there before the cluster is destroyed (diagnosis). */
async function keepLogs(cluster: LaunchedCluster | undefined): Promise<void> {
  const dir = process.env.GROUPS_KEEP_LOGS;
  if (!dir || cluster === undefined) return;
  await mkdir(dir, { recursive: true });
  for (const n of await cluster.nodes()) await copyFile(n.logFile, path.join(dir, `node-${n.nodeId}.log`)).catch(() => undefined);
}

/** Replica assignment of `partitions` partitions over `brokers`, round robin, RF=1. */
function placedOn(brokers: readonly number[], partitions: number): { partition: number; replicas: number[] }[] {
  return Array.from({ length: partitions }, (_, p) => ({ partition: p, replicas: [brokers[p % brokers.length]!] }));
}

/** One cluster per describe block: 3 controllers + 3 brokers, __consumer_offsets at `offsetsReplicationFactor`. */
interface GroupCluster {
  cluster: LaunchedCluster;
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
}

function useGroupCluster(offsetsReplicationFactor: number, clientId: string): GroupCluster {
  const env = {} as GroupCluster;
  beforeAll(async () => {
    env.cluster = await launchCluster({ controllers: 3, brokers: 3, racks: RACKS, set: { ...CLUSTER_SET, 'offsets.topic.replication.factor': String(offsetsReplicationFactor) } });
    env.kafka = kafkaFor(env.cluster, clientId);
    env.admin = env.kafka.admin();
    await env.admin.connect();
    env.producer = env.kafka.producer();
    await env.producer.connect();
  });
  afterAll(async () => {
    await env.producer?.disconnect().catch(() => undefined);
    await env.admin?.disconnect().catch(() => undefined);
    await keepLogs(env.cluster);
    await env.cluster?.destroy();
  });
  return env;
}

describe('consumer groups with an RF=1 __consumer_offsets (3 brokers)', () => {
  const env = useGroupCluster(1, 'groups-rf1');

  it('FindCoordinator answers alike on every broker: the leader of the group partition of __consumer_offsets (created RF=1)', async () => {
    const coordinator = await agreedCoordinator(env.cluster, 'probe-group', { among: BROKERS, timeoutMs: 30_000 });
    // A kafkajs admin of its own: kafkajs keeps refreshing topics it once described, and fails while one of their
    // partitions is leaderless (the RF=1 offsets partitions of a broker that is down, later on).
    const once = env.kafka.admin();
    await once.connect();
    const md = (await once.fetchTopicMetadata({ topics: ['__consumer_offsets'] })).topics[0]!;
    await once.disconnect();
    expect(md.partitions).toHaveLength(6);
    for (const p of md.partitions) expect(p.replicas).toHaveLength(1);
    // RF=1 spreads the partitions, so different groups have different coordinators.
    expect(new Set(md.partitions.map((p) => p.leader)).size).toBe(3);
    const coordinators = new Set<number>([coordinator]);
    for (let i = 0; coordinators.size < 3 && i < 60; i++) coordinators.add(await agreedCoordinator(env.cluster, `probe-group-${i}`, { among: BROKERS, timeoutMs: 30_000 }));
    expect([...coordinators].sort()).toEqual(BROKERS);
  });

  it('kill -9 of a broker that neither coordinates the group nor leads its data: no rebalance, consumption goes on', { timeout: 180_000 }, async () => {
    const groupId = 'steady-group';
    const topic = 'steady-events';
    const coordinator = await agreedCoordinator(env.cluster, groupId, { among: BROKERS, timeoutMs: 30_000 });
    const victim = BROKERS.find((b) => b !== coordinator)!;
    const dataBrokers = BROKERS.filter((b) => b !== victim);
    await env.admin.createTopics({ topics: [{ topic, replicaAssignment: placedOn(dataBrokers, PARTITIONS) }], waitForLeaders: true });
    const group = new KafkajsGroup(env.kafka, groupId, topic, PARTITIONS);
    try {
      for (const name of ['a', 'b', 'c']) await group.start(name);
      await group.waitAssigned(3, 60_000);
      const all = values('steady', 0, 6000);
      await produceAll(env.producer, topic, all.slice(0, 3000));
      await waitForCount('the first half consumed', () => group.distinct, 3000, 60_000);
      const joinsBefore = group.joins;

      await env.cluster.kill9(victim);
      const alive = (await brokerAddresses(env.cluster)).get(coordinator)!;
      // The victim is fenced (its RF=1 offsets partitions lose their leader); this group's coordinator stays.
      await waitFor(async () => !(await listedBrokers(alive)).includes(victim), { timeoutMs: SESSION_TIMEOUT_MS * 5, what: `broker ${victim} fenced` });
      await produceAll(env.producer, topic, all.slice(3000));
      await waitForCount('every record consumed', () => group.distinct, all.length, 60_000);
      expect(await coordinatorVia(alive, groupId)).toEqual({ nodeId: coordinator });
      expect(group.joins, 'no rebalance after the kill').toBe(joinsBefore);
      expect(group.crashes).toEqual([]);
      const r = expectLedger('non-coordinator killed', group, all);
      expect(r.duplicates).toBe(0);
      await waitFor(async () => (await committedTotal(env.admin, groupId, topic)) === all.length, { timeoutMs: 30_000, what: 'commits covering every record' });
    } finally {
      await group.stop();
      await env.cluster.up();
    }
    await waitFor(async () => (await listedBrokers(env.cluster.bootstrap.split(',')[0]!)).includes(victim), { timeoutMs: 30_000, what: `broker ${victim} back` });
  });

  it('graceful shutdown of the coordinator: COORDINATOR_NOT_AVAILABLE while its partition has no leader; after the restart it loads the group and members resume from their commits', { timeout: 240_000 }, async () => {
    const groupId = 'moving-group';
    const topic = 'moving-events';
    const coordinator = await agreedCoordinator(env.cluster, groupId, { among: BROKERS, timeoutMs: 30_000 });
    const others = BROKERS.filter((b) => b !== coordinator);
    await env.admin.createTopics({ topics: [{ topic, replicaAssignment: placedOn(others, PARTITIONS) }], waitForLeaders: true });
    const group = new KafkajsGroup(env.kafka, groupId, topic, PARTITIONS);
    try {
      for (const name of ['a', 'b', 'c']) await group.start(name);
      await group.waitAssigned(3, 60_000);
      const all = values('moving', 0, 9000);
      await produceAll(env.producer, topic, all.slice(0, 3000));
      await waitForCount('the first batch consumed', () => group.distinct, 3000, 60_000);
      await waitFor(async () => (await committedTotal(env.admin, groupId, topic)) === 3000, { timeoutMs: 30_000, what: 'the first batch committed' });

      await stopGracefully(env.cluster, coordinator);
      const addresses = await brokerAddresses(env.cluster);
      const survivor = addresses.get(others[0]!)!;
      // Its RF=1 offsets partitions have no leader now: no broker can name a coordinator for the group.
      const answer = await waitFor(async () => {
        const a = await coordinatorVia(survivor, groupId);
        return 'errorCode' in a ? a : null;
      }, { timeoutMs: 30_000, what: 'FindCoordinator without a coordinator' });
      expect(answer).toEqual({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE });
      // The members keep fetching from the data brokers; their commits fail until the coordinator is back.
      await produceAll(env.producer, topic, all.slice(3000, 6000));

      const restartedAt = Date.now();
      await env.cluster.up();
      expect(await agreedCoordinator(env.cluster, groupId, { among: BROKERS, timeoutMs: 60_000 })).toBe(coordinator);
      // The restarted coordinator rebuilt the group from its partition of __consumer_offsets: offsets committed
      // before the shutdown are there (kafkajs commits again only once it has consumed more).
      const [loaded] = await env.admin.fetchOffsets({ groupId, topics: [topic] });
      expect(loaded!.partitions.reduce((n, p) => n + Number(p.offset), 0)).toBeGreaterThanOrEqual(3000);
      const offsetsPartition = offsetsPartitionFor(groupId, PARTITIONS);
      expect(await env.cluster.log(coordinator)).toMatch(new RegExp(`"partition":${offsetsPartition},"leaderEpoch":\\d+,"groups":1,[^\\n]*"msg":"loaded __consumer_offsets-${offsetsPartition}"`));
      await waitForCount('the second batch consumed', () => group.distinct, 6000, 60_000);
      await waitFor(async () => (await committedTotal(env.admin, groupId, topic)) === 6000, { timeoutMs: 60_000, what: 'the second batch committed to the restarted coordinator' });
      console.log(`coordinator ${coordinator} restarted: commits reached it again ${Date.now() - restartedAt} ms after the restart began`);

      // Partitions change hands through the restarted coordinator: the new owners resume at the commits it holds.
      await group.stopMember('a');
      await group.start('d');
      await group.waitAssigned(3, 60_000);
      await produceAll(env.producer, topic, all.slice(6000));
      await waitForCount('every record consumed', () => group.distinct, all.length, 120_000);
      expectLedger('coordinator restarted', group, all);
      await waitFor(async () => (await committedTotal(env.admin, groupId, topic)) === all.length, { timeoutMs: 60_000, what: 'commits covering every record' });
      const described = (await env.admin.describeGroups([groupId])).groups[0]!;
      expect(described).toMatchObject({ groupId, state: 'Stable' });
      expect(described.members).toHaveLength(3);
    } finally {
      await group.stop();
      await env.cluster.up();
    }
  });
});

describe('consumer groups with an RF=3 __consumer_offsets: kill -9 of the coordinator', () => {
  const env = useGroupCluster(3, 'groups-rf3');

  it('FindCoordinator answers COORDINATOR_NOT_AVAILABLE while __consumer_offsets cannot be created (2 live brokers < RF 3), then creates it', { timeout: 120_000 }, async () => {
    const addresses = await brokerAddresses(env.cluster);
    const down = 103;
    const alive = addresses.get(101)!;
    await env.cluster.kill9(down);
    try {
      await waitFor(async () => !(await listedBrokers(alive)).includes(down), { timeoutMs: SESSION_TIMEOUT_MS * 5, what: `broker ${down} fenced` });
      expect(await coordinatorVia(alive, 'early-group')).toEqual({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE });
      expect(await coordinatorVia(addresses.get(102)!, 'early-group')).toEqual({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE });
      expect((await env.admin.listTopics()).includes('__consumer_offsets')).toBe(false);
    } finally {
      await env.cluster.up();
    }
    await waitFor(async () => (await listedBrokers(alive)).includes(down), { timeoutMs: 30_000, what: `broker ${down} back` });
    const coordinator = await agreedCoordinator(env.cluster, 'early-group', { among: BROKERS, timeoutMs: 30_000 });
    const once = env.kafka.admin();
    await once.connect();
    const md = (await once.fetchTopicMetadata({ topics: ['__consumer_offsets'] })).topics[0]!;
    await once.disconnect();
    expect(md.partitions).toHaveLength(6);
    for (const p of md.partitions) expect(p.replicas.slice().sort()).toEqual(BROKERS);
    expect(BROKERS).toContain(coordinator);
  });

  it('the group moves to the new leader of its offsets partition and keeps consuming with its committed offsets', { timeout: 300_000 }, async () => {
    const groupId = 'failover-group';
    const topic = 'failover-events';
    await env.admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true });
    const before = await agreedCoordinator(env.cluster, groupId, { among: BROKERS, timeoutMs: 30_000 });
    const offsetsPartition = offsetsPartitionFor(groupId, PARTITIONS);
    const group = new KafkajsGroup(env.kafka, groupId, topic, PARTITIONS);
    try {
      for (const name of ['a', 'b', 'c']) await group.start(name);
      await group.waitAssigned(3, 60_000);
      const all = values('failover', 0, 10_000);
      await produceAll(env.producer, topic, all.slice(0, 5000));
      await waitForCount('half the first batch consumed', () => group.distinct, 2500, 60_000);
      expect(await committedTotal(env.admin, groupId, topic)).toBeGreaterThan(0);

      const killedAt = Date.now();
      group.note(`kill -9 of coordinator ${before}`);
      await env.cluster.kill9(before);
      const after = await agreedCoordinator(env.cluster, groupId, { except: before, among: BROKERS.filter((b) => b !== before), timeoutMs: SESSION_TIMEOUT_MS * 10 });
      const movedMs = Date.now() - killedAt;
      await produceAll(env.producer, topic, all.slice(5000));
      await waitForCount('every record consumed', () => group.distinct, all.length, 120_000);
      console.log(`coordinator ${before} killed: broker ${after} coordinates after ${movedMs} ms; every record consumed ${Date.now() - killedAt} ms after the kill`);
      expectLedger('coordinator killed', group, all, { unacknowledgedCommits: true });
      await waitFor(async () => (await committedTotal(env.admin, groupId, topic)) === all.length, { timeoutMs: 60_000, what: 'commits covering every record' });
      expect(await env.cluster.log(after)).toMatch(new RegExp(`"partition":${offsetsPartition},"leaderEpoch":\\d+,"groups":1,[^\\n]*"msg":"loaded __consumer_offsets-${offsetsPartition}"`));

      // The killed broker comes back as a follower of the offsets partition and rejoins its ISR; the group stays.
      await env.cluster.up();
      const fluxoAdmin = new FluxoAdmin({ brokers: env.cluster.bootstrap, clientId: 'groups-failover-admin', retry: { retries: 10 } });
      let preferred = -1;
      try {
        await fluxoAdmin.connect();
        const state = await waitFor(async () => {
          const [t] = await fluxoAdmin.describeTopics(['__consumer_offsets']);
          const p = t?.partitions.find((x) => x.partition === offsetsPartition);
          return p !== undefined && p.isr.includes(before) ? p : null;
        }, { timeoutMs: 60_000, what: `broker ${before} back in the ISR of __consumer_offsets-${offsetsPartition}` });
        expect(state.leader).toBe(after);
        expect((await env.admin.describeGroups([groupId])).groups[0]!.members).toHaveLength(3);

        // Preferred leader election moves the partition back while the current coordinator is alive: it unloads
        // the group (its members are told NOT_COORDINATOR), the preferred replica loads it, the members follow.
        preferred = state.replicas[0]!;
        expect(preferred).not.toBe(after);
        group.note(`preferred leader election of __consumer_offsets-${offsetsPartition} to ${preferred}`);
        const elected = await fluxoAdmin.electLeaders({ type: 'preferred', partitions: [{ topic: '__consumer_offsets', partition: offsetsPartition }] });
        expect(elected).toEqual([expect.objectContaining({ topic: '__consumer_offsets', partition: offsetsPartition, errorCode: ErrorCode.NONE })]);
      } finally {
        await fluxoAdmin.close();
      }
      expect(await agreedCoordinator(env.cluster, groupId, { among: BROKERS, timeoutMs: 30_000 })).toBe(preferred);
      const more = values('failover', 10_000, 14_000);
      await produceAll(env.producer, topic, more);
      await waitForCount('the records after the election consumed', () => group.distinct, 14_000, 120_000);
      expectLedger('leadership moved back', group, [...all, ...more], { unacknowledgedCommits: true });
      expect(await env.cluster.log(after)).toMatch(new RegExp(`"partition":${offsetsPartition}[^\\n]*"msg":"unloaded __consumer_offsets-${offsetsPartition}"`));
      await waitFor(async () => (await committedTotal(env.admin, groupId, topic)) === 14_000, { timeoutMs: 60_000, what: 'commits covering every record' });
      const described = (await env.admin.describeGroups([groupId])).groups[0]!;
      expect(described).toMatchObject({ groupId, state: 'Stable' });
      expect(described.members).toHaveLength(3);
    } finally {
      await group.stop();
    }
  });
});
