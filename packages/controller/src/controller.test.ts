import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, createRegistry, silentLogger, type Logger } from '@fluxo/common';
import { Controller } from './controller.js';
import { ControllerClient } from './controller-client.js';
import { resolveControllerConfig, type VoterAddress } from './quorum-config.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Collects log lines of a controller (to check what it said) without printing them. */
function recordingLogger(lines: string[]): Logger {
  const logger = silentLogger();
  for (const level of ['info', 'warn', 'error', 'fatal'] as const) {
    const original = logger[level].bind(logger);
    (logger as unknown as Record<string, unknown>)[level] = (a: unknown, b?: unknown) => {
      lines.push(typeof a === 'string' ? a : String(b));
      return original(a as string);
    };
  }
  return logger;
}

describe('Controller (in-process)', () => {
  const dirs: string[] = [];
  const running: Controller[] = [];
  afterAll(async () => {
    for (const c of running) await c.stop().catch(() => undefined);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function cluster(size: number, overrides: { snapshotIntervalEntries: number; snapshotRetainEntries: number }) {
    const base = await mkdtemp(join(tmpdir(), 'fluxo-ctl-'));
    dirs.push(base);
    const voters = new Map<number, VoterAddress>();
    for (let id = 1; id <= size; id++) voters.set(id, { nodeId: id, host: '127.0.0.1', port: await freePort() });
    const logs = new Map<number, string[]>();
    const make = (id: number): Controller => {
      const lines = logs.get(id) ?? [];
      logs.set(id, lines);
      const config = resolveControllerConfig({
        nodeId: id,
        voters,
        dataDir: join(base, `n${id}`),
        port: voters.get(id)!.port,
        tickMs: 50,
        electionTicks: 10,
        heartbeatTicks: 2,
        brokerSessionTimeoutMs: 60_000,
        ...overrides,
      });
      const c = new Controller(config, recordingLogger(lines), createRegistry(), (err) => {
        throw err;
      });
      running.push(c);
      return c;
    };
    const clients = new Map([...voters].map(([id, v]) => [id, new ControllerClient(`127.0.0.1:${v.port}`)]));
    const leader = async (): Promise<ControllerClient> =>
      until('a leader', async () => {
        for (const c of clients.values()) {
          const q = await c.describeQuorum().catch(() => null);
          if (q?.role === 'leader') return c;
        }
        return undefined;
      });
    /**
     * Runs `op` on the leader, retrying while leadership is still settling (elections on a loaded machine).
     * Null when a retried topic creation found its earlier attempt committed.
     */
    const onLeader = async <T>(op: (c: ControllerClient) => Promise<T>): Promise<T | null> => {
      const deadline = Date.now() + 15_000;
      for (let attempt = 0; ; attempt++) {
        try {
          return await op(await leader());
        } catch (err) {
          const code = (err as { code?: number }).code;
          if (attempt > 0 && code === ErrorCode.TOPIC_ALREADY_EXISTS) return null;
          if ((code !== ErrorCode.NOT_CONTROLLER && code !== ErrorCode.REQUEST_TIMED_OUT) || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    return { make, clients, leader, logs, onLeader };
  }

  it('snapshots every N entries, compacts, and restarts from the snapshot with the same image', async () => {
    const { make, clients, leader, logs, onLeader } = await cluster(1, { snapshotIntervalEntries: 5, snapshotRetainEntries: 1 });
    let node = make(1);
    await node.start();
    const epoch = (await onLeader((c) => c.registerBroker(7, 'inc', null, [{ listener: 'PLAINTEXT', host: 'h', port: 1 }])))!;
    await onLeader((c) => c.brokerHeartbeat(7, epoch));
    for (let i = 0; i < 8; i++) await onLeader((c) => c.createTopic(`t${i}`, 2, 1));
    const c = await leader();
    const before = await c.getMetadata();
    const q = await c.describeQuorum();
    expect(q.appliedIndex).toBeGreaterThanOrEqual(11);
    expect(logs.get(1)!.filter((l) => l === 'metadata snapshot taken, log compacted').length).toBeGreaterThanOrEqual(2);
    await node.stop();

    node = make(1);
    await node.start();
    const c2 = clients.get(1)!;
    const after = await until('replay to the same applied index', async () => {
      const m = await c2.getMetadata();
      return m.appliedIndex >= before.appliedIndex ? m : undefined;
    });
    expect(after.image).toEqual(before.image);
    await onLeader((x) => x.createTopic('after-restart', 1, 1));
    // Bad API input: Kafka error codes in the response, the node keeps serving.
    await expect(c2.createTopic('cfg', 1, 1, { 'retention.ms': 'soon' })).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG });
    await expect(c2.createTopic('cfg', 1, 1, { 'no.such.config': '1' })).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG });
    await expect(c2.createTopic('big', 100_000, 2)).rejects.toMatchObject({ code: ErrorCode.INVALID_PARTITIONS });
    await expect(c2.brokerHeartbeat(7, epoch + 1)).rejects.toMatchObject({ code: ErrorCode.STALE_BROKER_EPOCH });
    await expect(c2.brokerHeartbeat(99, 1)).rejects.toMatchObject({ code: ErrorCode.BROKER_ID_NOT_REGISTERED });
    await expect(c2.rawCall('/fluxo.controller.Controller/CreateTopic', Buffer.from([0x12, 0x7f]))).rejects.toMatchObject({ code: 3 /* INVALID_ARGUMENT */ });
    expect((await c2.describeQuorum()).role).toBe('leader');
    clients.forEach((x) => x.close());
    await node.stop();
  });

  it('a follower behind the compacted log catches up from the leader snapshot; watchers get batches or a full image', async () => {
    const { make, clients, leader, logs, onLeader } = await cluster(3, { snapshotIntervalEntries: 4, snapshotRetainEntries: 1 });
    const nodes = [make(1), make(2), make(3)];
    await Promise.all(nodes.map((n) => n.start()));
    const epoch = (await onLeader((c) => c.registerBroker(1, 'inc', 'r1', [{ listener: 'PLAINTEXT', host: 'h', port: 1 }])))!;
    await onLeader((c) => c.brokerHeartbeat(1, epoch));
    const lagging = (await (await leader()).describeQuorum()).nodeId === 3 ? 2 : 3;
    await nodes[lagging - 1]!.stop();
    for (let i = 0; i < 12; i++) await onLeader((c) => c.createTopic(`s${i}`, 1, 1));
    const leaderImage = await (await leader()).getMetadata();

    nodes[lagging - 1] = make(lagging);
    await nodes[lagging - 1]!.start();
    const follower = clients.get(lagging)!;
    const caughtUp = await until('the lagging follower to catch up', async () => {
      const m = await follower.getMetadata();
      return m.appliedIndex >= leaderImage.appliedIndex ? m : undefined;
    });
    expect(caughtUp.image).toEqual(leaderImage.image);
    expect(logs.get(lagging)!.some((l) => l === 'metadata snapshot installed from the leader')).toBe(true);

    // A watcher from index 0 is past the retained batches: it first gets the full image, then new batches.
    const events: { index: number; fullImage: boolean }[] = [];
    const cancel = follower.watchMetadata(0, (e) => events.push({ index: e.index, fullImage: e.fullImage }), () => undefined);
    await until('the full image', async () => (events.length > 0 ? true : undefined));
    expect(events[0]!.fullImage).toBe(true);
    const fullIndex = events[0]!.index;
    await onLeader((c) => c.createTopic('watched', 1, 1));
    await until('the new batch on the watch stream', async () => (events.some((e) => !e.fullImage && e.index > fullIndex) ? true : undefined));
    cancel();
    clients.forEach((x) => x.close());
    for (const n of nodes) await n.stop();
  });
});
