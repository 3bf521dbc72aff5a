import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@fluxo/common';
import { batchOf } from '../testing/requests.js';
import { replicationAddress } from './fetcher-manager.js';
import { FetchRequestCodec } from './messages.js';
import { RawReplicationClient, fetchPartition } from './testing/raw-replication-client.js';
import { SharedMetadata, TestBroker, eventually, testDirs } from './testing/replica-set.js';

let dirs: Awaited<ReturnType<typeof testDirs>>;
let metadata: SharedMetadata;
const running: TestBroker[] = [];
const clients: RawReplicationClient[] = [];

beforeEach(async () => {
  dirs = await testDirs();
  metadata = new SharedMetadata();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const b of running.splice(0)) await b.stop().catch(() => undefined);
  await dirs.cleanup();
});

function client(nodeId: number): RawReplicationClient {
  const c = new RawReplicationClient(replicationAddress(metadata.image(), nodeId)!);
  clients.push(c);
  return c;
}

describe('replication refuses bad requests with Kafka error codes and changes nothing', () => {
  it('refuses unknown, stale and fenced brokers, unknown partitions, wrong epochs, non-leaders and garbage', async () => {
    for (const id of [1, 2, 3, 4]) running.push(await TestBroker.start({ nodeId: id, dataDir: dirs.dir(id), metadata }));
    const [b1, b2, b3] = running as [TestBroker, TestBroker, TestBroker, TestBroker];
    const topicId = await metadata.createTopic('guarded', [[1, 2, 3]]);
    const leader = await b1.hosted(topicId, 0);
    await leader.appendAsLeader(batchOf(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']), { requiredAcks: -1, timeoutMs: 10_000 });
    // Leadership to 2 and back: node 1 now leads epoch 2, and epoch 1 (node 2's) ended at offset 10.
    await metadata.changePartition(topicId, 0, { leader: 2, isr: [1, 2, 3] });
    await eventually(async () => (await b2.hosted(topicId, 0)).isLeader, 'node 2 leads');
    await metadata.changePartition(topicId, 0, { leader: 1, isr: [1, 2, 3] });
    await eventually(() => leader.isLeader && leader.leaderEpoch === 2, 'node 1 leads epoch 2');
    await eventually(() => leader.highWatermark === 10 && [...leader.followerLogEndOffsets().values()].every((o) => o === 10), 'followers in step');

    const before = { logEndOffset: leader.logEndOffset, highWatermark: leader.highWatermark, followers: [...leader.followerLogEndOffsets()], isr: [...leader.isr] };
    const c1 = client(1);
    const ok = { replicaId: 2, brokerEpoch: b2.brokerEpoch };
    const p = (over: Parameters<typeof fetchPartition>[2] = {}) => fetchPartition(topicId, 0, { currentLeaderEpoch: 2, fetchOffset: 3, ...over });

    // The requesting broker.
    expect((await c1.fetch({ replicaId: 99, brokerEpoch: 1, partitions: [p()] })).errorCode).toBe(ErrorCode.BROKER_ID_NOT_REGISTERED);
    expect((await c1.fetch({ replicaId: 2, brokerEpoch: b2.brokerEpoch + 1000, partitions: [p()] })).errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
    expect((await c1.epochs({ replicaId: 99, brokerEpoch: 1, partitions: [] })).errorCode).toBe(ErrorCode.BROKER_ID_NOT_REGISTERED);

    // The partitions.
    const codes = async (partitions: ReturnType<typeof p>[], replicaId = ok.replicaId, brokerEpoch = ok.brokerEpoch, to = c1) => {
      const res = await to.fetch({ replicaId, brokerEpoch, partitions });
      expect(res.errorCode).toBe(ErrorCode.NONE);
      return res.partitions.map((d) => d.errorCode);
    };
    expect(await codes([fetchPartition('AAAAAAAAAAAAAAAAAAAAAA', 0), p({ partition: 7 } as never)])).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(await codes([p({ currentLeaderEpoch: 1 })])).toEqual([ErrorCode.FENCED_LEADER_EPOCH]);
    expect(await codes([p({ currentLeaderEpoch: 9 })])).toEqual([ErrorCode.UNKNOWN_LEADER_EPOCH]);
    expect(await codes([p({ fetchOffset: 500 })])).toEqual([ErrorCode.OFFSET_OUT_OF_RANGE]);
    // A registered broker that is not a replica of the partition.
    expect(await codes([p()], 4, running[3]!.brokerEpoch)).toEqual([ErrorCode.NOT_LEADER_OR_FOLLOWER]);
    // A follower asked as if it led.
    expect(await codes([p({ currentLeaderEpoch: 2 })], 1, b1.brokerEpoch, client(2))).toEqual([ErrorCode.NOT_LEADER_OR_FOLLOWER]);
    // A replica whose last epoch (1) ended at 10 on the leader but claims offset 12 in it: told where it diverges.
    const diverging = await c1.fetch({ ...ok, partitions: [p({ fetchOffset: 10, lastFetchedEpoch: 1 })] });
    expect(diverging.partitions[0]!.divergingEpoch).toEqual({ epoch: 0, endOffset: 10 });
    expect(diverging.partitions[0]!.records.length).toBe(0);
    // Epoch lookups for a partition this leader does not lead / with a stale epoch.
    const epochs = await c1.epochs({ ...ok, partitions: [{ topicId, partition: 0, currentLeaderEpoch: 1, leaderEpoch: 0 }, { topicId, partition: 0, currentLeaderEpoch: 2, leaderEpoch: 1 }] });
    expect(epochs.partitions.map((r) => [r.errorCode, r.leaderEpoch, r.endOffset])).toEqual([
      [ErrorCode.FENCED_LEADER_EPOCH, -1, -1],
      [ErrorCode.NONE, 0, 10],
    ]);
    // Garbage on the stream: the stream is closed with INVALID_ARGUMENT.
    const garbage = (await c1.fetchRaw(Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01])).catch((e: unknown) => e)) as { code: number };
    expect(garbage.code).toBe(3); // grpc.status.INVALID_ARGUMENT
    // Nothing changed: log, high watermark, follower positions, ISR.
    expect({ logEndOffset: leader.logEndOffset, highWatermark: leader.highWatermark, followers: [...leader.followerLogEndOffsets()], isr: [...leader.isr] }).toEqual(before);

    // A fenced broker may not replicate, and leaves the ISR (KIP-841).
    await metadata.commit([{ type: 'BrokerFenced', nodeId: 3, brokerEpoch: b3.brokerEpoch }]);
    expect((await c1.fetch({ replicaId: 3, brokerEpoch: b3.brokerEpoch, partitions: [p()] })).errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
    await eventually(() => metadata.partitionState(topicId, 0).isr.join() === '1,2', 'fenced broker out of the ISR');
    expect(leader.logEndOffset).toBe(10);
  });

  it('a malformed request is rejected without touching the stream of a healthy follower', async () => {
    for (const id of [1, 2]) running.push(await TestBroker.start({ nodeId: id, dataDir: dirs.dir(id), metadata }));
    const topicId = await metadata.createTopic('solid', [[1, 2]]);
    const leader = await running[0]!.hosted(topicId, 0);
    const bad = FetchRequestCodec.encode({ requestId: 1, replicaId: 2, brokerEpoch: running[1]!.brokerEpoch, maxWaitMs: 0, minBytes: 1, maxBytes: 1, partitions: [fetchPartition(topicId, 0, { topicId: 'x'.repeat(200) })] });
    const err = (await client(1).fetchRaw(bad).catch((e: unknown) => e)) as { code: number };
    expect(err.code).toBe(3);
    const res = await leader.appendAsLeader(batchOf(['still', 'fine']), { requiredAcks: -1, timeoutMs: 10_000 });
    expect(res.lastOffset).toBe(1);
    await eventually(async () => (await running[1]!.hosted(topicId, 0)).highWatermark === 2, 'follower still replicating');
  });
});
