import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, silentLogger } from '@fluxo/common';
import type { FetchResponse, ListOffsetsResponse, OffsetForLeaderEpochResponse, ProduceResponse } from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';
import type { ApiHandler, HandlerOutcome, RequestContext } from '../handlers/api-handler.js';
import { RACK_AWARE_REPLICA_SELECTOR, fetchHandler } from '../handlers/fetch.js';
import { createHandlerRegistry } from '../handlers/index.js';
import { listOffsetsHandler } from '../handlers/list-offsets.js';
import { offsetForLeaderEpochHandler } from '../handlers/offset-for-leader-epoch.js';
import { produceHandler } from '../handlers/produce.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { createBrokerMetrics } from '../metrics.js';
import { batchOf, fetchBody, produceBody, recordsOf } from '../testing/requests.js';
import { SharedMetadata, TestBroker, eventually, testDirs } from './testing/replica-set.js';

let dirs: Awaited<ReturnType<typeof testDirs>>;
let metadata: SharedMetadata;
const running = new Map<number, TestBroker>();

beforeEach(async () => {
  dirs = await testDirs();
  metadata = new SharedMetadata();
});
afterEach(async () => {
  for (const b of running.values()) await b.stop().catch(() => undefined);
  running.clear();
  await dirs.cleanup();
});

async function start(nodeId: number, opts: { rack?: string; set?: Record<string, string> } = {}): Promise<TestBroker> {
  const b = await TestBroker.start({ nodeId, dataDir: dirs.dir(nodeId), metadata, ...opts });
  running.set(nodeId, b);
  return b;
}

/** The handlers' view of a test broker (the parts produce/fetch/list-offsets/epochs use). */
function contextOf(b: TestBroker): BrokerContext {
  return {
    nodeId: b.nodeId,
    config: b.config,
    metadata: metadata as unknown as MetadataStore,
    topics: b.topics,
    admin: undefined as never,
    groups: undefined as never,
    handlers: createHandlerRegistry(),
    metrics: createBrokerMetrics(b.registry),
    logger: b.logger,
    advertised: () => ({ host: '127.0.0.1', port: 1, rack: null }),
    nowMs: () => Date.now(),
  };
}

async function call<Req, Res>(handler: ApiHandler<Req, Res>, b: TestBroker, version: number, request: unknown): Promise<Res> {
  const ctx: RequestContext = { apiVersion: version, correlationId: 1, clientId: 'test', connectionId: 'c1', logger: silentLogger(), signal: new AbortController().signal };
  const out: HandlerOutcome<Res> = await handler.handle(contextOf(b), ctx, request as Req);
  return out as Res;
}

const produce = async (b: TestBroker, topic: string, values: string[], acks = -1, timeoutMs = 10_000) => {
  const body = { ...(produceBody(topic, 0, batchOf(values), acks) as object), timeoutMs };
  const res = await call<unknown, ProduceResponse>(produceHandler as ApiHandler<unknown, ProduceResponse>, b, 7, body);
  return res.responses[0]!.partitionResponses[0]!;
};

const fetchFrom = async (b: TestBroker, topic: string, offset: number, version: number, extra: Record<string, unknown> = {}, partition: Record<string, unknown> = {}) => {
  const body = fetchBody(topic, 0, offset, { isolationLevel: 0 }) as { topics: { partitions: Record<string, unknown>[] }[] };
  Object.assign(body.topics[0]!.partitions[0]!, partition);
  const res = await call<unknown, FetchResponse>(fetchHandler as ApiHandler<unknown, FetchResponse>, b, version, { ...body, ...extra });
  return res.responses[0]!.partitions[0]!;
};

describe('produce, fetch, ListOffsets and OffsetForLeaderEpoch on replicated partitions', () => {
  it('produce: leader only, acks=all waits for the ISR (REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS, _AFTER_APPEND)', async () => {
    // A long lag time: the ISR changes only when the test changes it.
    const set = { 'replica.lag.time.max.ms': '600000' };
    const b1 = await start(1, { set });
    await start(2, { set });
    const b3 = await start(3, { set });
    const topicId = await metadata.createTopic('acks', [[1, 2, 3]], { 'min.insync.replicas': '2' });
    await b1.hosted(topicId, 0);
    await (await b3.hosted(topicId, 0)).log.flush();
    expect(await produce(b3, 'acks', ['to a follower'])).toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, baseOffset: -1 });
    expect(await produce(b1, 'acks', ['a', 'b'])).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 });

    // Node 3 stops but stays in the ISR: acks=all cannot commit within its timeout.
    await running.get(3)!.stop();
    running.delete(3);
    expect(await produce(b1, 'acks', ['c'], -1, 300)).toMatchObject({ errorCode: ErrorCode.REQUEST_TIMED_OUT });
    const leader = b1.partition(topicId, 0);
    expect(leader.logEndOffset).toBe(3);
    expect(leader.highWatermark).toBe(2);
    // acks=1 answers once it is durable on the leader.
    expect(await produce(b1, 'acks', ['d'], 1)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 3 });

    // A waiting acks=all produce learns at once when the ISR falls below min.insync.replicas.
    const waiting = produce(b1, 'acks', ['e'], -1, 30_000);
    await eventually(() => leader.logEndOffset === 5, 'appended on the leader');
    await metadata.changePartition(topicId, 0, { leader: 1, isr: [1] });
    expect(await waiting).toMatchObject({ errorCode: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND });
    // And the next one is refused before appending.
    expect(await produce(b1, 'acks', ['f'])).toMatchObject({ errorCode: ErrorCode.NOT_ENOUGH_REPLICAS });
    expect(leader.logEndOffset).toBe(5);
  });

  it('fetch: consumers read the leader up to the high watermark; v11 may read a follower up to its own; epochs are checked', async () => {
    const b1 = await start(1, { rack: 'a', set: { 'replica.selector.class': RACK_AWARE_REPLICA_SELECTOR } });
    const b2 = await start(2, { rack: 'b' });
    const topicId = await metadata.createTopic('reads', [[1, 2]]);
    await b1.hosted(topicId, 0);
    const follower = await b2.hosted(topicId, 0);
    for (let i = 0; i < 4; i++) expect((await produce(b1, 'reads', [`r${i}`])).errorCode).toBe(ErrorCode.NONE);
    await eventually(() => follower.highWatermark === 4, 'follower high watermark');

    const fromLeader = await fetchFrom(b1, 'reads', 0, 11, { rackId: 'a' });
    expect(fromLeader.errorCode).toBe(ErrorCode.NONE);
    expect(fromLeader.preferredReadReplica).toBe(-1);
    expect(recordsOf(fromLeader.records).map((r) => r.value)).toEqual(['r0', 'r1', 'r2', 'r3']);
    // KIP-392: a consumer in rack b is pointed at the in-sync replica there, without records.
    const redirected = await fetchFrom(b1, 'reads', 0, 11, { rackId: 'b' });
    expect(redirected).toMatchObject({ errorCode: ErrorCode.NONE, preferredReadReplica: 2, highWatermark: 4 });
    expect(redirected.records!.length).toBe(0);
    // ... which serves it up to its high watermark.
    const fromFollower = await fetchFrom(b2, 'reads', 1, 11, { rackId: 'b' });
    expect(fromFollower.errorCode).toBe(ErrorCode.NONE);
    expect(recordsOf(fromFollower.records).filter((r) => r.offset >= 1).map((r) => r.value)).toEqual(['r1', 'r2', 'r3']);
    // Older fetch versions (no client metadata) only from the leader.
    expect((await fetchFrom(b2, 'reads', 0, 10)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // Epoch checks (the leader is at epoch 0).
    expect((await fetchFrom(b1, 'reads', 0, 11, {}, { currentLeaderEpoch: 3 })).errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    await metadata.changePartition(topicId, 0, { leader: 2, isr: [1, 2] });
    await metadata.changePartition(topicId, 0, { leader: 1, isr: [1, 2] });
    await eventually(() => b1.partition(topicId, 0).leaderEpoch === 2, 'leader epoch 2');
    expect((await fetchFrom(b1, 'reads', 0, 11, {}, { currentLeaderEpoch: 1 })).errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    // v12 (KIP-320): a consumer claiming epoch-0 data up to offset 6 learns that epoch 0 ended at 4 here.
    await produce(b1, 'reads', ['r4', 'r5', 'r6']);
    const diverged = await fetchFrom(b1, 'reads', 6, 12, {}, { currentLeaderEpoch: 2, lastFetchedEpoch: 0 });
    expect(diverged).toMatchObject({ errorCode: ErrorCode.NONE, divergingEpoch: { epoch: 0, endOffset: 4 } });
    expect(diverged.records!.length).toBe(0);
    const consistent = await fetchFrom(b1, 'reads', 4, 12, {}, { currentLeaderEpoch: 2, lastFetchedEpoch: 0 });
    expect(recordsOf(consistent.records).map((r) => r.value)).toEqual(['r4', 'r5', 'r6']);
  });

  it('ListOffsets and OffsetForLeaderEpoch answer from the leader with real epochs', async () => {
    const b1 = await start(1);
    const b2 = await start(2);
    const topicId = await metadata.createTopic('epochs', [[1, 2]]);
    await b1.hosted(topicId, 0);
    await b2.hosted(topicId, 0);
    await produce(b1, 'epochs', ['x', 'y', 'z']);
    // Leadership to 2 (epoch 1): it writes two more.
    await metadata.changePartition(topicId, 0, { leader: 2, isr: [1, 2] });
    await eventually(() => b2.partition(topicId, 0).isLeader, 'node 2 leads');
    expect((await produce(b2, 'epochs', ['u', 'v'])).baseOffset).toBe(3);

    const list = (b: TestBroker, timestamp: number, currentLeaderEpoch = -1) =>
      call<unknown, ListOffsetsResponse>(listOffsetsHandler as ApiHandler<unknown, ListOffsetsResponse>, b, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: 'epochs', partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp }] }],
      }).then((r) => r.topics[0]!.partitions[0]!);
    expect(await list(b2, -1)).toMatchObject({ errorCode: ErrorCode.NONE, offset: 5, leaderEpoch: 1 });
    expect(await list(b2, -2)).toMatchObject({ errorCode: ErrorCode.NONE, offset: 0, leaderEpoch: 0 });
    expect((await list(b1, -1)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect((await list(b2, -1, 0)).errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);

    const epochs = (b: TestBroker, version: number, leaderEpoch: number) =>
      call<unknown, OffsetForLeaderEpochResponse>(offsetForLeaderEpochHandler as ApiHandler<unknown, OffsetForLeaderEpochResponse>, b, version, {
        replicaId: -1,
        topics: [{ topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch }] }, { topic: 'nope', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
      }).then((r) => r.topics.map((t) => t.partitions[0]!));
    expect(await epochs(b2, 4, 0)).toEqual([
      { errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: 0, endOffset: 3 },
      { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: 0, leaderEpoch: -1, endOffset: -1 },
    ]);
    expect((await epochs(b2, 2, 1))[0]).toEqual({ errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: 1, endOffset: 5 });
    expect((await epochs(b1, 3, 0))[0]!.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });
});
