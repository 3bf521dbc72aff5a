import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createRegistry, silentLogger } from '@fluxo/common';
import type { Message } from '@fluxo/raft';
import { RaftTransport } from './raft-transport.js';

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function dropped(registry: ReturnType<typeof createRegistry>): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('fluxo_controller_raft_messages_dropped_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.reason), v.value]));
}

describe('RaftTransport', () => {
  it('bounds the per-peer queue and drops messages to an unreachable peer (raft retries)', async () => {
    const registry = createRegistry();
    const transport = new RaftTransport({
      selfId: 1,
      peers: new Map([
        [1, '127.0.0.1:1'],
        [2, `127.0.0.1:${await closedPort()}`],
      ]),
      limits: { maxQueuedMessagesPerPeer: 4, maxMessageBytes: 1 << 20, requestTimeoutMs: 500 },
      logger: silentLogger(),
      registry,
    });
    const heartbeats: Message[] = Array.from({ length: 20 }, (_, i) => ({ type: 'heartbeat', from: 1, to: 2, term: 1, commit: i }));
    transport.send(heartbeats);
    transport.send([{ type: 'heartbeat', from: 1, to: 7, term: 1, commit: 0 }]); // not a peer
    let counts: Record<string, number> = {};
    for (let i = 0; i < 200 && (counts.unreachable ?? 0) === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      counts = await dropped(registry);
    }
    // One batch went out (and failed); of the rest only the newest 4 stay queued.
    expect(counts.queueFull).toBeGreaterThanOrEqual(20 - 1 - 4 - 1);
    expect(counts.unreachable).toBeGreaterThanOrEqual(1);
    expect(counts.notAVoter).toBe(1);
    transport.close();
  });
});
