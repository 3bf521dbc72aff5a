/**
 * Producer ids in cluster mode (`fluxo cluster up`: 1 controller + 2 brokers): each broker takes blocks of ids
 * through the controller's metadata log (ProducerIdsAllocated), so InitProducerId answers are unique across
 * brokers and across a broker's kill -9 and restart; an idempotent @fluxo/client producer writes through the
 * cluster exactly once.
 */
import { Connection, FluxoClient, type ConsumerRecord } from '@fluxo/client';
import { PRODUCER_ID_BLOCK_SIZE } from '@fluxo/common';
import { apis } from '@fluxo/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchCluster, waitFor, type LaunchedCluster } from '../harness/index.js';

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function producerIds(host: string, port: number, n: number): Promise<number[]> {
  const connection = new Connection({ host, port, clientId: 'idem-cluster' });
  await connection.connect();
  try {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = await connection.send(apis.InitProducerId, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
      expect(r.errorCode).toBe(0);
      expect(r.producerEpoch).toBe(0);
      ids.push(r.producerId);
    }
    return ids;
  } finally {
    await connection.close();
  }
}

describe('idempotence in cluster mode', () => {
  let cluster: LaunchedCluster;
  beforeAll(async () => {
    cluster = await launchCluster({ controllers: 1, brokers: 2 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('hands out producer ids from distinct blocks per broker, never again after a kill -9 and restart', { timeout: 120_000 }, async () => {
    const brokers = (await cluster.nodes()).filter((n) => n.roles === 'broker');
    expect(brokers).toHaveLength(2);
    const seen = new Set<number>();
    const blocksByBroker = new Map<number, Set<number>>();
    const take = async (b: (typeof brokers)[number], n: number): Promise<void> => {
      for (const id of await producerIds(b.host, b.port, n)) {
        expect(seen.has(id), `producer id ${id} handed out twice`).toBe(false);
        seen.add(id);
        const blocks = blocksByBroker.get(b.nodeId) ?? new Set<number>();
        blocks.add(Math.floor(id / PRODUCER_ID_BLOCK_SIZE));
        blocksByBroker.set(b.nodeId, blocks);
      }
    };
    for (const b of brokers) await take(b, 5);
    const [a, b] = [...blocksByBroker.values()];
    expect([...a!].some((block) => b!.has(block))).toBe(false);

    const victim = brokers[0]!;
    const pid = (await cluster.node(victim.nodeId)).pid;
    await cluster.kill9(victim.nodeId);
    // kill9 returns at the zombie stage; the data-dir lock counts a zombie as the owner until it is reaped.
    await waitFor(() => Promise.resolve(!processExists(pid)), { timeoutMs: 30_000, what: `process ${pid} to be reaped` });
    await cluster.up();
    const restarted = await cluster.node(victim.nodeId);
    await waitFor(async () => (await producerIds(restarted.host, restarted.port, 1).then(() => true, () => false)), { timeoutMs: 60_000, what: 'the restarted broker to answer InitProducerId' });
    await take(restarted, 5);
    await take(brokers[1]!, 5);
  });

  it('@fluxo/client idempotent: true writes through the cluster exactly once, in order', { timeout: 120_000 }, async () => {
    const client = new FluxoClient({ brokers: [cluster.bootstrap], clientId: 'idem-cluster', retry: { retries: 20, retryBackoffMs: 100, maxRetryBackoffMs: 1000 } });
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'idem-cluster', numPartitions: 2, replicationFactor: 1 }] });
    await admin.close();
    const producer = client.producer({ idempotent: true, lingerMs: 2 });
    await producer.connect();
    try {
      const sends = [];
      for (let i = 0; i < 2000; i += 20) sends.push(producer.send({ topic: 'idem-cluster', messages: Array.from({ length: 20 }, (_, j) => ({ value: `c-${i + j}`, partition: (i / 20) % 2 })) }));
      await Promise.all(sends);
    } finally {
      await producer.close();
    }
    for (const p of [0, 1]) {
      const consumer = client.consumer();
      await consumer.connect();
      const got: ConsumerRecord[] = [];
      try {
        consumer.assign([{ topic: 'idem-cluster', partition: p, offset: 'earliest' }]);
        const timer = setTimeout(() => void consumer.close(), 30_000);
        for await (const r of consumer.messages()) {
          got.push(r);
          if (got.length >= 1000) break;
        }
        clearTimeout(timer);
        expect(consumer.highWatermark('idem-cluster', p)).toBe(1000);
      } finally {
        await consumer.close();
      }
      const expected = Array.from({ length: 2000 }, (_, i) => `c-${i}`).filter((_, i) => Math.floor(i / 20) % 2 === p);
      expect(got.map((r) => r.value!.toString())).toEqual(expected);
    }
  });
});
