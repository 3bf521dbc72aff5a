/**
 * Bad group requests against a live group: while two kafkajs members consume a topic, a raw socket (own
 * codec, groups-support.ts) sends a JoinGroup with an unknown protocol type and one with an unknown assignor,
 * a SyncGroup from a stale generation, OffsetCommits to partitions and topics that do not exist, and a
 * JoinGroup with oversized member metadata; a librdkafka member (confluent-kafka-python, assignors range,
 * roundrobin) tries to join the kafkajs group (RoundRobinAssigner). Each gets Kafka's error code, the
 * connection stays usable, and the group carries on: no rebalance, same members, every new record consumed
 * exactly once.
 */
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertToolsPresent, cleanupAll, startNode, toolGate, waitFor, type FluxoNode } from '../harness/index.js';
import { RawConnection, requestFrame } from '../harness/kafka-wire.js';
import {
  decodeDescribeGroupsV0, decodeErrorCodeV0, decodeJoinGroupV1, decodeOffsetCommitV2, describeGroupsV0, GROUP_API, heartbeatV0, joinGroupV1,
  killMembers, offsetCommitV2, pyLines, pyMember, subscriptionV0, syncGroupV0, values,
} from './groups-support.js';

/** Kafka error codes (written out: the test does not use Fluxo's own tables). */
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const ILLEGAL_GENERATION = 22;
const INCONSISTENT_GROUP_PROTOCOL = 23;
const UNKNOWN_MEMBER_ID = 25;
const INVALID_REQUEST = 42;
/** Fluxo's bound on one member's JoinGroup metadata (MAX_MEMBER_METADATA_BYTES in the broker). */
const MAX_MEMBER_METADATA_BYTES = 128 * 1024;

const gate = toolGate(['confluent_kafka']);
const NODE_SETTINGS = { 'group.initial.rebalance.delay.ms': '100', 'offsets.topic.num.partitions': '4' };
const TOPIC = 'bi-events';
const GROUP = 'bi-group';
const PARTITIONS = 4;

describe.skipIf(gate.skip)('bad group requests while a kafkajs group keeps consuming', () => {
  let node: FluxoNode;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let raw: RawConnection;
  let correlationId = 0;
  const consumers: Consumer[] = [];
  const received: string[] = [];
  let joins = 0;

  beforeAll(async () => {
    node = await startNode({ set: NODE_SETTINGS });
    kafka = new Kafka({ clientId: 'groups-bad-input', brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    raw = await RawConnection.connect(node.host, node.port);
  });
  afterAll(async () => {
    raw?.destroy();
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await killMembers();
    await cleanupAll();
  });

  async function send(apiKey: number, version: number, body: Buffer): Promise<Buffer> {
    return raw.request(requestFrame(apiKey, version, ++correlationId, body, 'bad-client'), 15_000);
  }

  async function describe(): Promise<{ state: string; protocolType: string; protocol: string; members: string[] }> {
    const [g] = decodeDescribeGroupsV0(await send(GROUP_API.DescribeGroups, 0, describeGroupsV0([GROUP])));
    expect(g!.errorCode).toBe(0);
    return { state: g!.state, protocolType: g!.protocolType, protocol: g!.protocol, members: [...g!.members].sort() };
  }

  async function produce(from: number, to: number): Promise<string[]> {
    const vals = values('bi', from, to);
    await producer.send({ topic: TOPIC, acks: -1, messages: vals.map((value, i) => ({ value, partition: i % PARTITIONS })) });
    return vals;
  }

  it('has the peer tools', () => assertToolsPresent(gate.missing));

  it('each bad request gets its error code and the group keeps consuming, without a rebalance', { timeout: 120_000 }, async () => {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    // Two members joining one after the other: the group is past its first generation, so a stale one exists.
    for (let i = 0; i < 2; i++) {
      const c = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
      c.on(c.events.GROUP_JOIN, () => void joins++);
      await c.connect();
      await c.subscribe({ topic: TOPIC, fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });
      consumers.push(c);
      await waitFor(async () => (await describe()).state === 'Stable' && (await describe()).members.length === i + 1, { timeoutMs: 30_000, what: `${i + 1} member(s) Stable` });
    }
    const first = await produce(0, 1000);
    await waitFor(() => received.length >= first.length, { timeoutMs: 30_000, what: `the first 1000 records (got ${received.length})` });
    const group = await describe();
    expect(group).toMatchObject({ state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
    expect(group.members).toHaveLength(2);
    const memberId = group.members[0]!;
    // The current generation: the one a Heartbeat of a real member is accepted with (others: ILLEGAL_GENERATION).
    let generation = 0;
    for (let g = 1; g <= 50 && generation === 0; g++) {
      const code = decodeErrorCodeV0(await send(GROUP_API.Heartbeat, 0, heartbeatV0(GROUP, g, memberId)));
      if (code === 0) generation = g;
      else expect(code, `Heartbeat generation ${g}`).toBe(ILLEGAL_GENERATION);
    }
    expect(generation).toBeGreaterThanOrEqual(2);
    const joinsBefore = joins;
    // Once the members have committed everything they read, the group's offsets must not move until new records.
    const committedTotal = async (): Promise<number> =>
      (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    await waitFor(async () => (await committedTotal()) === first.length, { timeoutMs: 30_000, what: 'the members to commit the first 1000' });
    const committedBefore = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const subscription = subscriptionV0([TOPIC]);

    // JoinGroup with a protocol type the group does not use, and with an assignor no member supports.
    const wrongType = decodeJoinGroupV1(await send(GROUP_API.JoinGroup, 1, joinGroupV1(GROUP, '', 'not-a-consumer', [['RoundRobinAssigner', subscription]])));
    expect(wrongType.errorCode).toBe(INCONSISTENT_GROUP_PROTOCOL);
    const wrongAssignor = decodeJoinGroupV1(await send(GROUP_API.JoinGroup, 1, joinGroupV1(GROUP, '', 'consumer', [['no-such-assignor', subscription]])));
    expect(wrongAssignor.errorCode).toBe(INCONSISTENT_GROUP_PROTOCOL);

    // SyncGroup from the previous generation (a real member id): ILLEGAL_GENERATION; from a stranger: UNKNOWN_MEMBER_ID.
    expect(decodeErrorCodeV0(await send(GROUP_API.SyncGroup, 0, syncGroupV0(GROUP, generation - 1, memberId)))).toBe(ILLEGAL_GENERATION);
    expect(decodeErrorCodeV0(await send(GROUP_API.SyncGroup, 0, syncGroupV0(GROUP, generation, 'stranger')))).toBe(UNKNOWN_MEMBER_ID);

    // Commits to partitions that do not exist: UNKNOWN_TOPIC_OR_PARTITION per partition, nothing stored.
    const missing: Array<[string, number, number]> = [[TOPIC, PARTITIONS, 5], [TOPIC, 99, 5], [TOPIC, -1, 5], ['bi-no-such-topic', 0, 5]];
    const commit = decodeOffsetCommitV2(await send(GROUP_API.OffsetCommit, 2, offsetCommitV2(GROUP, generation, memberId, missing)));
    expect(commit).toEqual(missing.map(([t, p]) => [t, p, UNKNOWN_TOPIC_OR_PARTITION]));
    // Kafka checks the partitions before the member (KafkaApis filters unknown ones out before the coordinator).
    const strangerCommit = decodeOffsetCommitV2(await send(GROUP_API.OffsetCommit, 2, offsetCommitV2(GROUP, generation, 'stranger', [...missing, [TOPIC, 0, 5]])));
    expect(strangerCommit.sort()).toEqual([...missing.map(([t, p]): [string, number, number] => [t, p, UNKNOWN_TOPIC_OR_PARTITION]), [TOPIC, 0, UNKNOWN_MEMBER_ID]].sort());

    // Member metadata over the limit: INVALID_REQUEST (as a new member and under a member's own id).
    const oversized = Buffer.alloc(MAX_MEMBER_METADATA_BYTES + 1, 1);
    expect(decodeJoinGroupV1(await send(GROUP_API.JoinGroup, 1, joinGroupV1(GROUP, '', 'consumer', [['RoundRobinAssigner', oversized]]))).errorCode).toBe(INVALID_REQUEST);
    expect(decodeJoinGroupV1(await send(GROUP_API.JoinGroup, 1, joinGroupV1(GROUP, memberId, 'consumer', [['RoundRobinAssigner', oversized]]))).errorCode).toBe(INVALID_REQUEST);

    // A librdkafka member offering range,roundrobin cannot join a RoundRobinAssigner group.
    const refused = pyMember('confluent-mismatch', { client: 'confluent', bootstrap: node.bootstrap, topic: TOPIC, group: GROUP, timeoutSeconds: 60 });
    await waitFor(() => pyLines(refused).some((l) => (l.e === 'err' || l.e === 'cerr') && /INCONSISTENT_GROUP_PROTOCOL/.test(l.why ?? '')), {
      timeoutMs: 30_000,
      what: 'confluent member refused with INCONSISTENT_GROUP_PROTOCOL',
    });
    expect(await refused.stop()).toBe(0);
    expect(pyLines(refused).filter((l) => l.e === 'm')).toEqual([]);

    // The group is untouched: same members, still Stable, same generation, no rejoin, no offsets stored.
    const after = await describe();
    expect(after).toEqual(group);
    expect(decodeErrorCodeV0(await send(GROUP_API.Heartbeat, 0, heartbeatV0(GROUP, generation, memberId)))).toBe(0);
    expect(joins).toBe(joinsBefore);
    expect(await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })).toEqual(committedBefore);
    // ... and keeps consuming: every new record exactly once.
    const second = await produce(1000, 2000);
    await waitFor(() => received.length >= first.length + second.length, { timeoutMs: 30_000, what: `the next 1000 records (got ${received.length})` });
    expect([...received].sort()).toEqual([...first, ...second].sort());
    expect(joins).toBe(joinsBefore);
  });
});
