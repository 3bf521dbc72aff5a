import { describe, expect, it } from 'vitest';
import { Admin } from './admin.js';
import { Consumer } from './consumer.js';
import type { ConsumerRecord } from './fetcher.js';
import { Producer } from './producer.js';
import { startTestBroker } from './testing/in-process-broker.js';

describe('retries across a broker restart', () => {
  it('producer and consumer reconnect and continue where they were', async () => {
    let node = await startTestBroker();
    const { port, dataDir, bootstrap } = node;
    const retry = { retries: 30, retryBackoffMs: 50, maxRetryBackoffMs: 300 };
    const admin = new Admin({ brokers: bootstrap });
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'restart', numPartitions: 2 }] });
    await admin.close();

    const producer = new Producer({ brokers: bootstrap, retry, lingerMs: 0 });
    const consumer = new Consumer({ brokers: bootstrap, retry, fetchMaxWaitMs: 100 });
    try {
      await producer.connect();
      await consumer.connect();
      consumer.assign([0, 1].map((partition) => ({ topic: 'restart', partition, offset: 'earliest' as const })));
      const seen: ConsumerRecord[] = [];
      const reading = (async () => {
        for await (const r of consumer) {
          seen.push(r);
          if (seen.length === 40) break;
        }
      })();
      await producer.send({ topic: 'restart', messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `before-${i}` })) });
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(20);

      await node.halt();
      // Sends while the node is down wait in retries and go out once it is back.
      const during = producer.send({ topic: 'restart', messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `after-${i}` })) });
      await new Promise((resolve) => setTimeout(resolve, 300));
      node = await startTestBroker({ dataDir, port });
      const results = await during;
      expect(results).toHaveLength(20);
      await reading;
      expect(seen.map((r) => r.value!.toString()).sort()).toEqual(
        [...Array.from({ length: 20 }, (_, i) => `before-${i}`), ...Array.from({ length: 20 }, (_, i) => `after-${i}`)].sort(),
      );
      // Offsets continue from the durable log.
      for (const p of [0, 1]) {
        const offsets = seen.filter((r) => r.partition === p).map((r) => r.offset);
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }
    } finally {
      await producer.close().catch(() => undefined);
      await consumer.close();
      await node.stop();
    }
  });
});
