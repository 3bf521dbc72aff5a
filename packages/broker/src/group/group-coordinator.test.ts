import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, createLogger, createRegistry, silentLogger } from '@fluxo/common';
import { encodeSubscriptionBytes } from '@fluxo/protocol';
import { LogManager, logConfigFromProperties, type PartitionLog } from '@fluxo/storage';
import { DEFAULT_GROUP_CONFIG, GROUP_METADATA_TOPIC, MAX_MEMBER_METADATA_BYTES, type GroupCoordinatorConfig } from './group-config.js';
import { GroupCoordinator, type JoinGroupParams } from './group-coordinator.js';
import type { JoinGroupResult } from './group.js';
import type { OffsetsPartition, OffsetsTopic } from './offsets-log.js';
import { javaStringHashCode, partitionFor } from './partition-for.js';
import { decodeGroupValue, decodeKey, decodeOffsetValue, encodeGroupKey, encodeGroupValue, encodeOffsetKey, encodeOffsetValue } from './records.js';
import { ManualScheduler } from './scheduler.js';

const PARTITIONS = 3;

/**
 * __consumer_offsets over real partition logs, led by this node in `leaderEpochs[p]` (default 0) unless
 * `notLed` holds the partition (what the broker's Partition does on a leadership change).
 */
class LogOffsetsTopic implements OffsetsTopic {
  logs: PartitionLog[] | null = null;
  readonly notLed = new Set<number>();
  readonly leaderEpochs = new Map<number, number>();
  /** Partitions whose reads fail (a load of them fails). */
  readonly failingReads = new Set<number>();
  private readonly listeners = new Set<() => void>();
  constructor(
    private readonly manager: LogManager,
    private readonly topicConfig: Record<string, string> = {},
  ) {}
  existing(): number | null {
    return this.logs === null ? null : this.logs.length;
  }
  async ensure(partitions: number): Promise<number> {
    if (this.logs === null) {
      const config = logConfigFromProperties({ 'cleanup.policy': 'compact', ...this.topicConfig });
      const logs: PartitionLog[] = [];
      for (let p = 0; p < partitions; p++) logs.push(await this.manager.getOrCreate(GROUP_METADATA_TOPIC, p, config));
      this.logs = logs;
    }
    return this.logs.length;
  }
  partition(index: number): OffsetsPartition | undefined {
    const log = this.logs?.[index];
    if (!log || this.notLed.has(index)) return undefined;
    const leaderEpoch = this.leaderEpochs.get(index) ?? 0;
    return {
      leaderEpoch,
      get logStartOffset() {
        return log.logStartOffset;
      },
      get logEndOffset() {
        return log.logEndOffset;
      },
      append: async (batch) => {
        await log.append(batch, { leaderEpoch });
      },
      read: async (offset, maxBytes, maxOffset) => {
        if (this.failingReads.has(index)) throw new Error(`injected read failure of partition ${index}`);
        return (await log.read(offset, maxBytes, maxOffset)).records;
      },
    };
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** A leadership change: this node stops leading `index`, or leads it (again) in `leaderEpoch`. */
  setLeader(index: number, leaderEpoch: number | null): void {
    if (leaderEpoch === null) this.notLed.add(index);
    else {
      this.notLed.delete(index);
      this.leaderEpochs.set(index, leaderEpoch);
    }
    for (const l of this.listeners) l();
  }
}

const dirs: string[] = [];
const open: { coordinator: GroupCoordinator; manager: LogManager }[] = [];
afterEach(async () => {
  for (const n of open.splice(0)) {
    await n.coordinator.stop();
    await n.manager.close();
  }
});
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Node {
  coordinator: GroupCoordinator;
  manager: LogManager;
  topic: LogOffsetsTopic;
  clock: ManualScheduler;
}

async function startNode(
  opts: { dir?: string; clock?: ManualScheduler; config?: Partial<GroupCoordinatorConfig>; topics?: Record<string, number>; topicConfig?: Record<string, string> } = {},
): Promise<Node & { dir: string }> {
  let dir = opts.dir;
  if (dir === undefined) {
    dir = await mkdtemp(join(tmpdir(), 'fluxo-groups-'));
    dirs.push(dir);
  }
  const manager = new LogManager({ dataDir: dir, logger: silentLogger(), registry: createRegistry(), cleanerEnabled: false, retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 });
  await manager.start();
  const topic = new LogOffsetsTopic(manager, opts.topicConfig);
  if (manager.get(GROUP_METADATA_TOPIC, 0)) await topic.ensure(PARTITIONS);
  const clock = opts.clock ?? new ManualScheduler();
  const topics = opts.topics ?? { orders: 12, payments: 2 };
  const coordinator = new GroupCoordinator({
    config: { ...DEFAULT_GROUP_CONFIG, offsetsTopicPartitions: PARTITIONS, initialRebalanceDelayMs: 100, ...opts.config },
    topic,
    topicPartitions: (name) => topics[name],
    logger: process.env.GC_DEBUG ? createLogger({ level: 'debug' }) : silentLogger(),
    scheduler: clock,
  });
  await coordinator.start();
  // What a client's FindCoordinator does first: create/load __consumer_offsets.
  expect(await coordinator.ensureReady()).toBe(ErrorCode.NONE);
  open.push({ coordinator, manager });
  return { coordinator, manager, topic, clock, dir };
}

async function stopNode(node: Node): Promise<void> {
  const i = open.findIndex((n) => n.coordinator === node.coordinator);
  if (i >= 0) open.splice(i, 1);
  await node.coordinator.stop();
  await node.manager.close();
}

/** Lets pending I/O callbacks and promise continuations run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

const subscription = (topics: string[]): Buffer => encodeSubscriptionBytes(1, { topics, userData: null, ownedPartitions: [] });

function joinParams(groupId: string, memberId: string, extra: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    requireKnownMemberId: true,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    rebalanceTimeoutMs: 10_000,
    sessionTimeoutMs: 10_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['orders']) }],
    ...extra,
  };
}

/** MEMBER_ID_REQUIRED round trip, then the real join (pending until the rebalance completes). */
async function joinMember(node: Node, groupId: string, extra: Partial<JoinGroupParams> = {}): Promise<{ done: Promise<JoinGroupResult> }> {
  const first = await node.coordinator.joinGroup(joinParams(groupId, '', extra));
  expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  expect(first.memberId).toMatch(/^client-/);
  const pending = node.coordinator.joinGroup(joinParams(groupId, first.memberId, extra));
  await settle();
  // Wrapped: an async function returning the bare promise would wait for it.
  return { done: pending };
}

async function stableGroupOfTwo(node: Node, groupId: string): Promise<{ leader: JoinGroupResult; follower: JoinGroupResult }> {
  const { done: a } = await joinMember(node, groupId);
  const { done: b } = await joinMember(node, groupId);
  // group.initial.rebalance.delay.ms, extended once because the second member joined during the first delay.
  node.clock.advance(200);
  const [ra, rb] = await Promise.all([a, b]);
  expect(ra.errorCode).toBe(ErrorCode.NONE);
  expect(rb.errorCode).toBe(ErrorCode.NONE);
  const leader = ra.leaderId === ra.memberId ? ra : rb;
  const follower = leader === ra ? rb : ra;
  const syncs = [
    node.coordinator.syncGroup({ groupId, generationId: leader.generationId, memberId: leader.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [
      { memberId: leader.memberId, assignment: Buffer.from('L') },
      { memberId: follower.memberId, assignment: Buffer.from('F') },
    ] }),
    node.coordinator.syncGroup({ groupId, generationId: follower.generationId, memberId: follower.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }),
  ];
  const [sl, sf] = await Promise.all(syncs);
  expect(sl.assignment.toString()).toBe('L');
  expect(sf.assignment.toString()).toBe('F');
  expect(node.coordinator.groupState(groupId)).toBe('Stable');
  return { leader, follower };
}

describe('coordinator partition and record formats (Kafka-compatible)', () => {
  it('maps groups like Utils.abs(groupId.hashCode) % N', () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    expect(partitionFor('polygenelubricants', 50)).toBe(0);
    expect(partitionFor('hello', 50)).toBe(99162322 % 50);
    expect(partitionFor('héllo wörld', 7)).toBe(Math.abs(javaStringHashCode('héllo wörld')) % 7);
  });

  it('writes keys and values in Kafka layouts', () => {
    expect(encodeOffsetKey('g', 't', 3).toString('hex')).toBe('0001' + '000167' + '000174' + '00000003');
    expect(encodeGroupKey('g').toString('hex')).toBe('0002' + '000167');
    expect(decodeKey(encodeOffsetKey('grp', 'topic', 7))).toEqual({ kind: 'offset', group: 'grp', topic: 'topic', partition: 7 });
    const offset = { offset: 42, leaderEpoch: 5, metadata: 'm', commitTimestampMs: 1000, expireTimestampMs: null };
    const v3 = encodeOffsetValue(offset);
    expect(v3.readInt16BE(0)).toBe(3);
    expect(decodeOffsetValue(v3)).toEqual(offset);
    const v1 = encodeOffsetValue({ ...offset, expireTimestampMs: 2000 });
    expect(v1.readInt16BE(0)).toBe(1);
    expect(decodeOffsetValue(v1)).toEqual({ ...offset, leaderEpoch: -1, expireTimestampMs: 2000 });
    const group = {
      protocolType: 'consumer',
      generationId: 4,
      protocolName: 'range',
      leaderId: 'm1',
      currentStateTimestampMs: 77,
      members: [{ memberId: 'm1', groupInstanceId: 'i1', clientId: 'c', clientHost: '/h', rebalanceTimeoutMs: 9, sessionTimeoutMs: 8, subscription: Buffer.from('s'), assignment: Buffer.from('a') }],
    };
    const gv = encodeGroupValue(group);
    expect(gv.readInt16BE(0)).toBe(3);
    expect(decodeGroupValue(gv)).toEqual(group);
  });
});

describe('GroupCoordinator membership', () => {
  it('runs the MEMBER_ID_REQUIRED dance, waits the initial delay, gives the leader every subscription', async () => {
    const node = await startNode();
    const { done: a } = await joinMember(node, 'g1');
    const { done: b } = await joinMember(node, 'g1');
    expect(node.coordinator.groupState('g1')).toBe('PreparingRebalance');
    node.clock.advance(99);
    await settle();
    expect(node.coordinator.groupState('g1')).toBe('PreparingRebalance');
    node.clock.advance(1);
    await settle();
    // b joined during the delay: Kafka waits one more delay for further members.
    expect(node.coordinator.groupState('g1')).toBe('PreparingRebalance');
    node.clock.advance(100);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.generationId).toBe(1);
    expect(rb.generationId).toBe(1);
    expect(ra.protocolName).toBe('range');
    expect(ra.leaderId).toBe(rb.leaderId);
    const leader = ra.leaderId === ra.memberId ? ra : rb;
    const follower = leader === ra ? rb : ra;
    expect(leader.members.map((m) => m.memberId).sort()).toEqual([ra.memberId, rb.memberId].sort());
    expect(follower.members).toEqual([]);
    expect(node.coordinator.groupState('g1')).toBe('CompletingRebalance');

    // The follower's SyncGroup waits for the leader's assignment.
    const followerSync = node.coordinator.syncGroup({ groupId: 'g1', generationId: 1, memberId: follower.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    // A stale generation is refused and changes nothing.
    const stale = await node.coordinator.syncGroup({ groupId: 'g1', generationId: 0, memberId: follower.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    expect(stale.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await node.coordinator.heartbeat('g1', follower.memberId, null, 1)).toBe(ErrorCode.NONE);
    const leaderSync = await node.coordinator.syncGroup({
      groupId: 'g1',
      generationId: 1,
      memberId: leader.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [
        { memberId: leader.memberId, assignment: Buffer.from('A') },
        { memberId: follower.memberId, assignment: Buffer.from('B') },
      ],
    });
    expect(leaderSync).toMatchObject({ errorCode: ErrorCode.NONE, protocolName: 'range' });
    expect(leaderSync.assignment.toString()).toBe('A');
    expect((await followerSync).assignment.toString()).toBe('B');
    expect(node.coordinator.groupState('g1')).toBe('Stable');
    expect(await node.coordinator.heartbeat('g1', follower.memberId, null, 1)).toBe(ErrorCode.NONE);
    expect(await node.coordinator.heartbeat('g1', follower.memberId, null, 0)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await node.coordinator.heartbeat('g1', 'nobody', null, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const described = await node.coordinator.describeGroup('g1');
    expect(described).toMatchObject({ state: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    expect(described.members).toHaveLength(2);
  });

  it('rebalances when a member joins: others learn from heartbeats and rejoin; the rebalance waits for them', async () => {
    const node = await startNode();
    const { leader, follower } = await stableGroupOfTwo(node, 'g2');
    const { done: c } = await joinMember(node, 'g2');
    expect(node.coordinator.groupState('g2')).toBe('PreparingRebalance');
    expect(await node.coordinator.heartbeat('g2', leader.memberId, null, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    // Offsets may still be committed while preparing (the member owns its partitions until it rejoins).
    expect(await node.coordinator.commitOffsets({ groupId: 'g2', generationId: 1, memberId: follower.memberId, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: 'orders', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }] })).toEqual([ErrorCode.NONE]);
    const rl = node.coordinator.joinGroup(joinParams('g2', leader.memberId));
    await settle();
    expect(node.coordinator.groupState('g2')).toBe('PreparingRebalance');
    const rf = node.coordinator.joinGroup(joinParams('g2', follower.memberId));
    const results = await Promise.all([rl, rf, c]);
    for (const r of results) expect(r).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2 });
    expect(results.find((r) => r.memberId === r.leaderId)!.members).toHaveLength(3);
    // A commit from the old generation is refused; one during CompletingRebalance too.
    expect(await node.coordinator.commitOffsets({ groupId: 'g2', generationId: 1, memberId: follower.memberId, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: 'orders', partition: 0, offset: 6, leaderEpoch: -1, metadata: null }] })).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    expect(await node.coordinator.commitOffsets({ groupId: 'g2', generationId: 2, memberId: follower.memberId, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: 'orders', partition: 0, offset: 6, leaderEpoch: -1, metadata: null }] })).toEqual([ErrorCode.REBALANCE_IN_PROGRESS]);
    // As in Kafka, partitions that do not exist are answered before the member is checked.
    const stranger = await node.coordinator.commitOffsets({
      groupId: 'g2', generationId: 2, memberId: 'stranger', groupInstanceId: null, retentionTimeMs: -1,
      offsets: [{ topic: 'orders', partition: 99, offset: 6, leaderEpoch: -1, metadata: null }, { topic: 'nope', partition: 0, offset: 6, leaderEpoch: -1, metadata: null }, { topic: 'orders', partition: 0, offset: 6, leaderEpoch: -1, metadata: null }],
    });
    expect(stranger).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_MEMBER_ID]);
  });

  it('removes a member whose session expires, and drops members that do not rejoin in the rebalance timeout', async () => {
    const node = await startNode();
    const { leader, follower } = await stableGroupOfTwo(node, 'g3');
    // Only the leader heartbeats; the follower's session (10 s from its SyncGroup) runs out.
    for (let t = 0; t < 2; t++) {
      node.clock.advance(4_000);
      expect(await node.coordinator.heartbeat('g3', leader.memberId, null, 1)).toBe(ErrorCode.NONE);
    }
    node.clock.advance(3_000);
    expect(node.coordinator.groupState('g3')).toBe('PreparingRebalance');
    expect(await node.coordinator.heartbeat('g3', follower.memberId, null, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await node.coordinator.heartbeat('g3', leader.memberId, null, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await node.coordinator.joinGroup(joinParams('g3', leader.memberId));
    expect(rejoin).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2, leaderId: leader.memberId });
    expect(rejoin.members).toHaveLength(1);

    // Next: the leader and a newcomer; the newcomer never rejoins after the next rebalance starts.
    await node.coordinator.syncGroup({ groupId: 'g3', generationId: 2, memberId: leader.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    const { done: newcomer } = await joinMember(node, 'g3');
    const leaderAgain = node.coordinator.joinGroup(joinParams('g3', leader.memberId));
    const [n, l] = await Promise.all([newcomer, leaderAgain]);
    expect(n.generationId).toBe(3);
    expect(l.generationId).toBe(3);
    await Promise.all([
      node.coordinator.syncGroup({ groupId: 'g3', generationId: 3, memberId: leader.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }),
      node.coordinator.syncGroup({ groupId: 'g3', generationId: 3, memberId: n.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }),
    ]);
    // The leader changes its subscription -> rebalance; the newcomer does not rejoin within 10 s.
    const changed = node.coordinator.joinGroup(joinParams('g3', leader.memberId, { protocols: [{ name: 'range', metadata: subscription(['orders', 'payments']) }] }));
    await settle();
    node.clock.advance(3_000);
    expect(await node.coordinator.heartbeat('g3', n.memberId, null, 3)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    node.clock.advance(7_000);
    const after = await changed;
    expect(after).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 4 });
    expect(after.members.map((m) => m.memberId)).toEqual([leader.memberId]);
  });

  it('refuses inconsistent protocols, oversized metadata and bad session timeouts while the group keeps working', async () => {
    const node = await startNode();
    const { leader, follower } = await stableGroupOfTwo(node, 'g4');
    const other = await node.coordinator.joinGroup(joinParams('g4', '', { protocols: [{ name: 'RoundRobinAssigner', metadata: subscription(['orders']) }] }));
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const otherType = await node.coordinator.joinGroup(joinParams('g4', '', { protocolType: 'connect' }));
    expect(otherType.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const emptyType = await node.coordinator.joinGroup(joinParams('fresh', '', { protocolType: '' }));
    expect(emptyType.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const huge = await node.coordinator.joinGroup(joinParams('g4', '', { protocols: [{ name: 'range', metadata: Buffer.alloc(MAX_MEMBER_METADATA_BYTES + 1) }] }));
    expect(huge.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await node.coordinator.joinGroup(joinParams('g4', '', { sessionTimeoutMs: 10 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await node.coordinator.joinGroup(joinParams('', ''))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await node.coordinator.joinGroup(joinParams('nope', 'unknown-member'))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // Nothing above disturbed the group.
    expect(node.coordinator.groupState('g4')).toBe('Stable');
    expect(node.coordinator.groupState('fresh')).toBeUndefined();
    expect(await node.coordinator.heartbeat('g4', leader.memberId, null, 1)).toBe(ErrorCode.NONE);
    expect(await node.coordinator.heartbeat('g4', follower.memberId, null, 1)).toBe(ErrorCode.NONE);
  });

  it('answers a stable follower that rejoins unchanged with the current generation, and handles batch LeaveGroup', async () => {
    const node = await startNode();
    const { leader, follower } = await stableGroupOfTwo(node, 'g5');
    const same = await node.coordinator.joinGroup(joinParams('g5', follower.memberId));
    expect(same).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, leaderId: leader.memberId, members: [] });
    expect(node.coordinator.groupState('g5')).toBe('Stable');
    const left = await node.coordinator.leaveGroup('g5', [
      { memberId: follower.memberId, groupInstanceId: null },
      { memberId: 'ghost', groupInstanceId: null },
    ]);
    expect(left.members.map((m) => m.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(node.coordinator.groupState('g5')).toBe('PreparingRebalance');
    const r = await node.coordinator.joinGroup(joinParams('g5', leader.memberId));
    expect(r).toMatchObject({ generationId: 2, leaderId: leader.memberId });
    await node.coordinator.leaveGroup('g5', [{ memberId: leader.memberId, groupInstanceId: null }]);
    expect(node.coordinator.groupState('g5')).toBe('Empty');
  });

  it('keeps a static member across a restart of the client: same generation, old id fenced', async () => {
    const node = await startNode();
    const a = node.coordinator.joinGroup(joinParams('s1', '', { groupInstanceId: 'instance-a' }));
    const b = node.coordinator.joinGroup(joinParams('s1', '', { groupInstanceId: 'instance-b' }));
    await settle();
    node.clock.advance(200);
    const [ra, rb] = await Promise.all([a, b]);
    const leader = ra.leaderId === ra.memberId ? ra : rb;
    const follower = leader === ra ? rb : ra;
    await Promise.all([
      node.coordinator.syncGroup({ groupId: 's1', generationId: 1, memberId: leader.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: follower.memberId, assignment: Buffer.from('X') }] }),
      node.coordinator.syncGroup({ groupId: 's1', generationId: 1, memberId: follower.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }),
    ]);
    const followerInstance = follower === ra ? 'instance-a' : 'instance-b';
    const back = await node.coordinator.joinGroup(joinParams('s1', '', { groupInstanceId: followerInstance }));
    expect(back).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, leaderId: leader.memberId });
    expect(back.memberId).not.toBe(follower.memberId);
    expect(node.coordinator.groupState('s1')).toBe('Stable');
    const sync = await node.coordinator.syncGroup({ groupId: 's1', generationId: 1, memberId: back.memberId, groupInstanceId: followerInstance, protocolType: null, protocolName: null, assignments: [] });
    expect(sync.assignment.toString()).toBe('X');
    expect(await node.coordinator.heartbeat('s1', follower.memberId, followerInstance, 1)).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const leave = await node.coordinator.leaveGroup('s1', [{ memberId: '', groupInstanceId: followerInstance }]);
    expect(leave.members[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(node.coordinator.groupState('s1')).toBe('PreparingRebalance');
  });
});

describe('GroupCoordinator offsets', () => {
  it('commits for self-assigning consumers, refuses missing partitions per partition, survives a restart', async () => {
    const first = await startNode();
    const codes = await first.coordinator.commitOffsets({
      groupId: 'manual',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      offsets: [
        { topic: 'orders', partition: 1, offset: 10, leaderEpoch: 0, metadata: 'hello' },
        { topic: 'orders', partition: 99, offset: 1, leaderEpoch: -1, metadata: null },
        { topic: 'missing', partition: 0, offset: 1, leaderEpoch: -1, metadata: null },
        { topic: 'payments', partition: 0, offset: 3, leaderEpoch: -1, metadata: 'x'.repeat(5000) },
        { topic: 'payments', partition: 1, offset: 4, leaderEpoch: -1, metadata: null },
      ],
    });
    expect(codes).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.NONE]);
    await stableGroupOfTwo(first, 'members');
    const { leader } = await (async () => ({ leader: (await first.coordinator.describeGroup('members')).members[0]! }))();
    expect(await first.coordinator.commitOffsets({ groupId: 'members', generationId: 1, memberId: leader.memberId, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: 'orders', partition: 2, offset: 77, leaderEpoch: 3, metadata: null }] })).toEqual([ErrorCode.NONE]);
    // A simple consumer cannot commit for a group that has members.
    expect(await first.coordinator.commitOffsets({ groupId: 'members', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: 'orders', partition: 2, offset: 1, leaderEpoch: -1, metadata: null }] })).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(await first.coordinator.commitOffsets({ groupId: 'ghost', generationId: 3, memberId: 'm', groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: 'orders', partition: 2, offset: 1, leaderEpoch: -1, metadata: null }] })).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    const dir = first.dir;
    await stopNode(first);

    const second = await startNode({ dir });
    const fetched = await second.coordinator.fetchOffsets('manual', [{ name: 'orders', partitions: [1, 2] }, { name: 'payments', partitions: [0, 1] }]);
    expect(fetched.topics).toEqual([
      { name: 'orders', partitions: [{ partition: 1, offset: 10, leaderEpoch: 0, metadata: 'hello', errorCode: 0 }, { partition: 2, offset: -1, leaderEpoch: -1, metadata: '', errorCode: 0 }] },
      { name: 'payments', partitions: [{ partition: 0, offset: -1, leaderEpoch: -1, metadata: '', errorCode: 0 }, { partition: 1, offset: 4, leaderEpoch: -1, metadata: '', errorCode: 0 }] },
    ]);
    const all = await second.coordinator.fetchOffsets('members', null);
    expect(all.topics).toEqual([{ name: 'orders', partitions: [{ partition: 2, offset: 77, leaderEpoch: 3, metadata: '', errorCode: 0 }] }]);
    // The group's membership came back Stable with its generation; the members still hold their session.
    const described = await second.coordinator.describeGroup('members');
    expect(described).toMatchObject({ state: 'Stable', protocolData: 'range' });
    expect(described.members).toHaveLength(2);
    expect(await second.coordinator.heartbeat('members', leader.memberId, null, 1)).toBe(ErrorCode.NONE);
  });

  it('deletes groups and offsets with tombstones, and expires offsets of empty groups after retention', async () => {
    const first = await startNode({ config: { offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 1_000 } });
    const commit = (groupId: string, topic: string, partition: number) =>
      first.coordinator.commitOffsets({ groupId, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic, partition, offset: 1, leaderEpoch: -1, metadata: null }] });
    await commit('to-delete', 'orders', 0);
    await commit('partial', 'orders', 0);
    await commit('partial', 'payments', 1);
    await commit('expiring', 'orders', 4);
    await stableGroupOfTwo(first, 'busy');
    expect(await first.coordinator.deleteGroups(['to-delete', 'busy', 'unknown', ''])).toEqual([
      { groupId: 'to-delete', errorCode: ErrorCode.NONE },
      { groupId: 'busy', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'unknown', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      { groupId: '', errorCode: ErrorCode.INVALID_GROUP_ID },
    ]);
    const del = await first.coordinator.deleteOffsets('partial', [{ name: 'payments', partitions: [1] }, { name: 'missing', partitions: [0] }]);
    expect(del).toEqual({ errorCode: 0, topics: [{ name: 'payments', partitions: [{ partition: 1, errorCode: 0 }] }, { name: 'missing', partitions: [{ partition: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] }] });
    // A stable consumer group keeps offsets of topics it subscribes to.
    const busyMember = (await first.coordinator.describeGroup('busy')).members[0]!.memberId;
    await first.coordinator.commitOffsets({ groupId: 'busy', generationId: 1, memberId: busyMember, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: 'orders', partition: 0, offset: 9, leaderEpoch: -1, metadata: null }] });
    expect((await first.coordinator.deleteOffsets('busy', [{ name: 'orders', partitions: [0] }])).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);

    // Retention: the simple group's offset expires 60 s after its commit.
    first.clock.advance(30_000);
    await commit('partial', 'orders', 1);
    first.clock.advance(31_000);
    await settle();
    await first.coordinator.expireOffsets();
    expect((await first.coordinator.fetchOffsets('expiring', null)).topics).toEqual([]);
    expect(first.coordinator.groupState('expiring')).toBeUndefined();
    expect((await first.coordinator.fetchOffsets('partial', null)).topics).toEqual([{ name: 'orders', partitions: [{ partition: 1, offset: 1, leaderEpoch: -1, metadata: '', errorCode: 0 }] }]);
    expect((await first.coordinator.listGroups([])).groups.map((g) => g.groupId).sort()).toEqual(['busy', 'partial']);
    // 'busy' stopped heartbeating while the clock moved: its members expired, it is Empty (offsets kept).
    expect((await first.coordinator.listGroups(['Stable'])).groups).toEqual([]);
    expect((await first.coordinator.listGroups(['empty'])).groups.map((g) => g.groupId).sort()).toEqual(['busy', 'partial']);

    const dir = first.dir;
    await stopNode(first);
    const second = await startNode({ dir });
    expect(second.coordinator.groupState('to-delete')).toBeUndefined();
    expect(second.coordinator.groupState('expiring')).toBeUndefined();
    expect((await second.coordinator.fetchOffsets('partial', null)).topics).toEqual([{ name: 'orders', partitions: [{ partition: 1, offset: 1, leaderEpoch: -1, metadata: '', errorCode: 0 }] }]);
    expect((await second.coordinator.fetchOffsets('busy', null)).topics[0]!.partitions[0]!.offset).toBe(9);
    // Deleting a topic drops its offsets; a group left with nothing is gone (also after the next restart).
    await second.coordinator.onTopicDeleted('orders');
    expect(second.coordinator.groupState('partial')).toBeUndefined();
    expect((await second.coordinator.fetchOffsets('busy', null)).topics).toEqual([]);
    await stopNode(second);
    const third = await startNode({ dir });
    expect(third.coordinator.groupState('partial')).toBeUndefined();
    expect((await third.coordinator.fetchOffsets('busy', null)).topics).toEqual([]);
  });

  it('is compacted by the storage cleaner: only the latest offset per key (and no deleted group) survives, and reloads the same', async () => {
    const first = await startNode({ topicConfig: { 'segment.bytes': '2048', 'min.cleanable.dirty.ratio': '0', 'delete.retention.ms': '0' } });
    const commit = (groupId: string, partition: number, offset: number) =>
      first.coordinator.commitOffsets({ groupId, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: 'orders', partition, offset, leaderEpoch: -1, metadata: null }] });
    for (let i = 1; i <= 200; i++) expect(await commit('compacted', i % 4, i)).toEqual([ErrorCode.NONE]);
    await commit('doomed', 0, 1);
    expect(await first.coordinator.deleteGroups(['doomed'])).toEqual([{ groupId: 'doomed', errorCode: ErrorCode.NONE }]);
    const logs = first.topic.logs!;
    const recordsBefore = logs.reduce((n, l) => n + l.logEndOffset - l.logStartOffset, 0);
    const sizeBefore = logs.reduce((n, l) => n + l.sizeBytes, 0);
    // Tombstones older than delete.retention.ms go too; run twice (the second pass sees the first's output).
    for (const log of logs) {
      await log.compact(Date.now() + 1000);
      await log.compact(Date.now() + 1000);
    }
    const sizeAfter = logs.reduce((n, l) => n + l.sizeBytes, 0);
    expect(recordsBefore).toBeGreaterThanOrEqual(202);
    expect(sizeAfter).toBeLessThan(sizeBefore / 4);
    const dir = first.dir;
    await stopNode(first);
    const second = await startNode({ dir, topicConfig: { 'segment.bytes': '2048' } });
    expect((await second.coordinator.fetchOffsets('compacted', [{ name: 'orders', partitions: [0, 1, 2, 3] }])).topics[0]!.partitions.map((p) => p.offset)).toEqual([200, 197, 198, 199]);
    expect(second.coordinator.groupState('doomed')).toBeUndefined();
  });
});

describe('GroupCoordinator leadership of __consumer_offsets partitions (Kafka onElection / onResignation)', () => {
  /** Group ids on distinct partitions of the 3-partition topic. */
  function groupOn(partition: number, prefix: string): string {
    for (let i = 0; ; i++) if (partitionFor(`${prefix}-${i}`, PARTITIONS) === partition) return `${prefix}-${i}`;
  }
  const commit = (node: Node, groupId: string, generationId: number, memberId: string, offset: number): Promise<number[]> =>
    node.coordinator.commitOffsets({ groupId, generationId, memberId, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: 'orders', partition: 1, offset, leaderEpoch: -1, metadata: null }] });

  it('unloads a partition it stops leading (waiting joins answer NOT_COORDINATOR) and reloads its groups when it leads again', async () => {
    const node = await startNode();
    const moved = groupOn(1, 'moved');
    const stays = groupOn(2, 'stays');
    const { leader, follower } = await stableGroupOfTwo(node, moved);
    expect(await commit(node, moved, 1, leader.memberId, 41)).toEqual([ErrorCode.NONE]);
    expect(await commit(node, stays, -1, '', 7)).toEqual([ErrorCode.NONE]);
    // A third member's join waits for the others to rejoin when leadership goes.
    const { done: waiting } = await joinMember(node, moved);
    expect(node.coordinator.groupState(moved)).toBe('PreparingRebalance');

    node.topic.setLeader(1, null);
    expect(await waiting).toMatchObject({ errorCode: ErrorCode.NOT_COORDINATOR });
    expect(node.coordinator.groupState(moved)).toBeUndefined();
    expect(await node.coordinator.heartbeat(moved, leader.memberId, null, 1)).toBe(ErrorCode.NOT_COORDINATOR);
    expect(await commit(node, moved, 1, leader.memberId, 42)).toEqual([ErrorCode.NOT_COORDINATOR]);
    expect((await node.coordinator.fetchOffsets(moved, null)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect((await node.coordinator.describeGroup(moved)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect((await node.coordinator.joinGroup(joinParams(moved, ''))).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect((await node.coordinator.listGroups([])).groups.map((g) => g.groupId)).toEqual([stays]);
    // Groups of other partitions are not disturbed.
    expect((await node.coordinator.fetchOffsets(stays, null)).topics[0]!.partitions[0]!.offset).toBe(7);

    // Elected again (new leader epoch): requests see COORDINATOR_LOAD_IN_PROGRESS until the log is read back.
    node.topic.setLeader(1, 1);
    expect(await node.coordinator.heartbeat(moved, leader.memberId, null, 1)).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(await node.coordinator.awaitLoaded(moved, 10_000)).toBe(ErrorCode.NONE);
    expect(node.coordinator.groupState(moved)).toBe('Stable');
    expect(await node.coordinator.heartbeat(moved, follower.memberId, null, 1)).toBe(ErrorCode.NONE);
    expect((await node.coordinator.fetchOffsets(moved, [{ name: 'orders', partitions: [1] }])).topics[0]!.partitions[0]!.offset).toBe(41);
    expect(await commit(node, moved, 1, leader.memberId, 43)).toEqual([ErrorCode.NONE]);
    // The pending member never made it into a generation: not in the stored group.
    expect((await node.coordinator.describeGroup(moved)).members).toHaveLength(2);
  });

  it('a new leader epoch without a gap reloads too; a pending SyncGroup answers NOT_COORDINATOR', async () => {
    const node = await startNode();
    const g = groupOn(0, 'epoch');
    const { leader, follower } = await stableGroupOfTwo(node, g);
    // A third member joins: generation 2 forms, the follower's SyncGroup waits for the leader's assignment.
    const { done: third } = await joinMember(node, g);
    const rejoined = await Promise.all([node.coordinator.joinGroup(joinParams(g, leader.memberId)), node.coordinator.joinGroup(joinParams(g, follower.memberId)), third]);
    for (const r of rejoined) expect(r).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2 });
    const followerSync = node.coordinator.syncGroup({ groupId: g, generationId: 2, memberId: follower.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    await settle();
    node.topic.setLeader(0, 5);
    expect(await followerSync).toMatchObject({ errorCode: ErrorCode.NOT_COORDINATOR });
    expect(await node.coordinator.awaitLoaded(g, 10_000)).toBe(ErrorCode.NONE);
    // Generation 2's assignment was never stored: the log's latest group record is generation 1's.
    const described = await node.coordinator.describeGroup(g);
    expect(described.state).toBe('Stable');
    expect(described.members.map((m) => m.memberId).sort()).toEqual([leader.memberId, follower.memberId].sort());
    expect(await node.coordinator.heartbeat(g, leader.memberId, null, 1)).toBe(ErrorCode.NONE);
  });

  it('FindCoordinator-style waits: awaitLoaded answers NOT_COORDINATOR at once for a partition led elsewhere', async () => {
    const node = await startNode();
    node.topic.setLeader(2, null);
    expect(await node.coordinator.awaitLoaded(groupOn(2, 'elsewhere'), 10_000)).toBe(ErrorCode.NOT_COORDINATOR);
    // Elected but its replica not open yet (`elected`): waits, bounded.
    expect(await node.coordinator.awaitLoaded(groupOn(2, 'elsewhere'), 50, () => true)).toBe(ErrorCode.NOT_COORDINATOR);
    node.topic.setLeader(2, 0);
    expect(await node.coordinator.awaitLoaded(groupOn(2, 'elsewhere'), 10_000)).toBe(ErrorCode.NONE);
  });

  it('a failed load is not served (no empty state): COORDINATOR_LOAD_IN_PROGRESS, retried after a backoff', async () => {
    const node = await startNode();
    const g = groupOn(1, 'broken');
    expect(await commit(node, g, -1, '', 9)).toEqual([ErrorCode.NONE]);
    node.topic.setLeader(1, null);
    node.topic.failingReads.add(1);
    node.topic.setLeader(1, 1);
    expect(await node.coordinator.awaitLoaded(g, 200)).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect((await node.coordinator.fetchOffsets(g, null)).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    node.topic.failingReads.delete(1);
    node.clock.advance(1000);
    expect(await node.coordinator.awaitLoaded(g, 10_000)).toBe(ErrorCode.NONE);
    expect((await node.coordinator.fetchOffsets(g, null)).topics[0]!.partitions[0]!.offset).toBe(9);
  });
});
