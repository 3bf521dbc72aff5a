import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, type KafkaProtocolError } from '@fluxo/common';
import { decodeRecordBatch, wholeBatches } from '@fluxo/protocol';
import type { Partition } from '../cluster/partition.js';
import { batchOf } from '../testing/requests.js';
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

async function start(nodeId: number, set: Record<string, string> = {}): Promise<TestBroker> {
  const b = await TestBroker.start({ nodeId, dataDir: dirs.dir(nodeId), metadata, set });
  running.set(nodeId, b);
  return b;
}

async function stop(nodeId: number): Promise<void> {
  await running.get(nodeId)!.stop();
  running.delete(nodeId);
}

/** Every record below `upTo` (default: the high watermark) as offset/epoch/value, decoded with CRC checks. */
async function records(p: Partition, upTo = p.highWatermark): Promise<{ offset: number; epoch: number; value: string }[]> {
  const out: { offset: number; epoch: number; value: string }[] = [];
  let offset = p.logStartOffset;
  while (offset < upTo) {
    const { records: bytes } = await p.log.read(offset, 1 << 20, upTo);
    if (bytes.length === 0) break;
    for (const b of wholeBatches(bytes)) {
      const batch = decodeRecordBatch(b, { verifyCrc: true });
      for (const r of batch.records) if (r.offset >= offset && r.offset < upTo) out.push({ offset: r.offset, epoch: batch.partitionLeaderEpoch, value: r.value!.toString() });
      offset = batch.baseOffset + batch.lastOffsetDelta + 1;
    }
  }
  return out;
}

const values = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function produce(p: Partition, vals: readonly string[], acks = -1, timeoutMs = 10_000) {
  return p.appendAsLeader(batchOf(vals), { requiredAcks: acks, timeoutMs });
}

describe('ISR replication between in-process brokers over gRPC', () => {
  it('followers catch up, the high watermark waits for the ISR, and every replica holds the same log', async () => {
    const b1 = await start(1);
    await start(2);
    await start(3);
    const topicId = await metadata.createTopic('orders', [[1, 2, 3]], { 'min.insync.replicas': '2' });
    const leader = await b1.hosted(topicId, 0);
    expect(leader.isLeader).toBe(true);
    await stop(2);
    await stop(3);
    // Alone (ISR still lists 2 and 3): acks=1 appends but the high watermark cannot move without the ISR.
    for (let i = 0; i < 50; i++) await produce(leader, values(`early${i}`, 4), 1);
    expect(leader.logEndOffset).toBe(200);
    expect(leader.highWatermark).toBe(0);

    const b2 = await start(2);
    const b3 = await start(3);
    await eventually(() => leader.highWatermark === 200, 'high watermark after the followers caught up');
    // acks=all now commits through the ISR.
    const res = await produce(leader, values('late', 10));
    expect(res.baseOffset).toBe(200);
    expect(leader.highWatermark).toBeGreaterThanOrEqual(210);
    for (const b of [b2, b3]) {
      const f = await b.hosted(topicId, 0);
      expect(f.role).toBe('follower');
      await eventually(() => f.highWatermark === 210, `node ${b.nodeId} high watermark`);
      expect(f.log.epochEntries()).toEqual(leader.log.epochEntries());
      expect(await records(f)).toEqual(await records(leader));
    }
    expect((await records(leader)).length).toBe(210);
    expect(await b1.registry.getSingleMetricAsString('fluxo_leader_partitions')).toMatch(/fluxo_leader_partitions 1/);
    expect(await b2.registry.getSingleMetricAsString('fluxo_replication_bytes_in_total')).toMatch(/total [1-9]/);
  });

  it('shrinks the ISR when a follower stops, refuses acks=all below min.insync.replicas, and expands it when the follower is back', async () => {
    await start(1);
    await start(2);
    await start(3);
    const topicId = await metadata.createTopic('payments', [[1, 2, 3]], { 'min.insync.replicas': '2' });
    const leader = await running.get(1)!.hosted(topicId, 0);
    await produce(leader, values('a', 5));
    expect(leader.highWatermark).toBe(5);

    // One follower down: acks=all still commits once the ISR drops it (replica.lag.time.max.ms), with two in sync.
    await stop(3);
    const pending = produce(leader, values('b', 5));
    await eventually(() => metadata.partitionState(topicId, 0).isr.join() === '1,2', 'ISR without node 3');
    expect((await pending).baseOffset).toBe(5);
    expect(leader.highWatermark).toBe(10);
    expect(await running.get(1)!.registry.getSingleMetricAsString('fluxo_under_replicated_partitions')).toMatch(/partitions 1/);

    // Two down: ISR [1] < min.insync.replicas 2 -> NOT_ENOUGH_REPLICAS before appending; acks=1 appends but the
    // high watermark stays (KIP-966).
    await stop(2);
    await eventually(() => metadata.partitionState(topicId, 0).isr.join() === '1', 'ISR of the leader alone');
    const refused = (await produce(leader, values('c', 1)).catch((e: unknown) => e)) as KafkaProtocolError;
    expect(refused.code).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    expect(leader.logEndOffset).toBe(10);
    await produce(leader, values('d', 3), 1);
    expect(leader.logEndOffset).toBe(13);
    expect(leader.highWatermark).toBe(10);
    expect(await running.get(1)!.registry.getSingleMetricAsString('fluxo_under_min_isr_partitions')).toMatch(/partitions 1/);

    // Back: they catch up, rejoin the ISR, the high watermark covers the acks=1 records, acks=all works again.
    await start(2);
    await start(3);
    await eventually(() => metadata.partitionState(topicId, 0).isr.length === 3, 'ISR back to three');
    expect(leader.highWatermark).toBe(13);
    await produce(leader, values('e', 2));
    for (const id of [2, 3]) {
      const f = await running.get(id)!.hosted(topicId, 0);
      await eventually(() => f.highWatermark === 15, `node ${id} caught up`);
      expect(await records(f)).toEqual(await records(leader));
    }
    const shrinks = await running.get(1)!.registry.getSingleMetricAsString('fluxo_isr_shrinks_total');
    const expands = await running.get(1)!.registry.getSingleMetricAsString('fluxo_isr_expands_total');
    expect(shrinks).toMatch(/total 2/);
    expect(expands).toMatch(/total 2/);
  });

  it('a divergent former leader truncates to the new leader\'s epoch boundary and converges', async () => {
    await start(1);
    await start(2);
    await start(3);
    const topicId = await metadata.createTopic('ledger', [[1, 2, 3]], { 'min.insync.replicas': '2' });
    const p1 = await running.get(1)!.hosted(topicId, 0);
    await produce(p1, values('committed', 20));
    expect(p1.highWatermark).toBe(20);
    // Followers gone: the leader writes a tail nobody else has (acks=1), then dies.
    await stop(2);
    await stop(3);
    await produce(p1, values('lost', 7), 1);
    expect(p1.logEndOffset).toBe(27);
    await stop(1);

    // Node 2 leads epoch 1 with node 3 (the controller's election among the ISR that has the committed data).
    await start(2);
    await start(3);
    await metadata.changePartition(topicId, 0, { leader: 2, isr: [2, 3] });
    const p2 = await running.get(2)!.hosted(topicId, 0);
    await eventually(() => p2.isLeader, 'node 2 leads');
    expect(p2.leaderEpoch).toBe(1);
    await produce(p2, values('new', 5));
    expect(p2.highWatermark).toBe(25);

    // Node 1 returns as a follower: OffsetForLeaderEpoch(0) -> 20 on the new leader; it truncates its 7 lost
    // records and fetches the new epoch's.
    const b1 = await start(1);
    const p1again = await b1.hosted(topicId, 0);
    expect(p1again.role).toBe('follower');
    await eventually(() => p1again.logEndOffset === 25 && p1again.highWatermark === 25, 'node 1 converged');
    const expected = await records(p2);
    expect(await records(p1again)).toEqual(expected);
    expect(expected.map((r) => r.value)).toEqual([...values('committed', 20), ...values('new', 5)]);
    expect(expected.slice(20).every((r) => r.epoch === 1)).toBe(true);
    expect(p1again.log.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 1, startOffset: 20 },
    ]);
    await eventually(() => metadata.partitionState(topicId, 0).isr.length === 3, 'node 1 back in the ISR');
  });

  it('a reassignment moves the data to a new replica, which joins the ISR, and the replica removed drops its log', async () => {
    for (const id of [1, 2, 3]) await start(id);
    const topicId = await metadata.createTopic('moving', [[1, 2]]);
    const p1 = await running.get(1)!.hosted(topicId, 0);
    for (let i = 0; i < 30; i++) await produce(p1, values(`m${i}`, 10));
    // The controller's KIP-455 steps: first replicas [1,2,3] adding 3 removing 1, ...
    const s0 = metadata.partitionState(topicId, 0);
    await metadata.commit([{ type: 'PartitionReassigned', topicId, partition: 0, partitionEpoch: s0.partitionEpoch, replicas: [2, 3, 1], isr: [1, 2], leader: 1, adding: [3], removing: [1] }]);
    const p3 = await running.get(3)!.hosted(topicId, 0);
    await eventually(() => metadata.partitionState(topicId, 0).isr.includes(3), 'node 3 caught up and in the ISR');
    expect(p3.logEndOffset).toBe(300);
    // ... then, with 3 in sync, the final replica set [2,3] led by 2.
    const s1 = metadata.partitionState(topicId, 0);
    await metadata.commit([{ type: 'PartitionReassigned', topicId, partition: 0, partitionEpoch: s1.partitionEpoch, replicas: [2, 3], isr: [2, 3], leader: 2, adding: [], removing: [] }]);
    await eventually(() => running.get(1)!.topics.partition(topicId, 0) === null, 'node 1 no longer hosts it');
    const p2 = await running.get(2)!.hosted(topicId, 0);
    await eventually(() => p2.isLeader, 'node 2 leads');
    await produce(p2, values('after', 5));
    await eventually(() => p3.highWatermark === 305, 'node 3 follows node 2');
    expect(await records(p3)).toEqual(await records(p2));
    expect((await records(p2)).length).toBe(305);
  });

  it('a throttled reassignment (leader.replication.throttled.rate) still completes; the copy waited for the throttle, in-sync followers did not', async () => {
    // 64 KiB/s on the leader; the partition holds ~300 KiB, so the new replica's copy has to wait for tokens.
    await start(1, { 'leader.replication.throttled.rate': String(64 * 1024) });
    for (const id of [2, 3]) await start(id);
    const topicId = await metadata.createTopic('throttled', [[1, 2]]);
    const p1 = await running.get(1)!.hosted(topicId, 0);
    const big = 'x'.repeat(1000);
    for (let i = 0; i < 30; i++) await produce(p1, values(`${big}-${i}`, 10));
    const throttledFetches = async (): Promise<number> => (await running.get(1)!.registry.getSingleMetricAsString('fluxo_replication_throttled_fetches_total')).split('\n').filter((l) => !l.startsWith('#')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    expect(await throttledFetches()).toBe(0); // node 2 is in sync: never throttled
    const s0 = metadata.partitionState(topicId, 0);
    await metadata.commit([{ type: 'PartitionReassigned', topicId, partition: 0, partitionEpoch: s0.partitionEpoch, replicas: [1, 2, 3], isr: [1, 2], leader: 1, adding: [3], removing: [] }]);
    const p3 = await running.get(3)!.hosted(topicId, 0);
    await eventually(() => metadata.partitionState(topicId, 0).isr.includes(3), 'node 3 caught up under the throttle', 60_000);
    expect(p3.logEndOffset).toBe(300);
    expect(await throttledFetches()).toBeGreaterThan(0);
    expect(await records(p3)).toEqual(await records(p1));
  }, 90_000);
});

