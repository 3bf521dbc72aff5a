import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistry, imageToJson, silentLogger } from '@fluxo/common';
import { Controller } from '../controller.js';
import { ControllerClient } from '../controller-client.js';
import { resolveControllerConfig } from '../quorum-config.js';
import { MetadataFollower } from './metadata-follower.js';

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve(fn()).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('MetadataFollower', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('follows the committed metadata, keeps its copy in LevelDB across restarts, and resyncs from a full image', async () => {
    const base = await mkdtemp(join(tmpdir(), 'fluxo-follower-'));
    dirs.push(base);
    const port = await freePort();
    const config = resolveControllerConfig({
      nodeId: 1,
      voters: new Map([[1, { nodeId: 1, host: '127.0.0.1', port }]]),
      dataDir: join(base, 'controller'),
      port,
      tickMs: 20,
      brokerSessionTimeoutMs: 60_000,
      watchRetainBatches: 3,
    });
    const controller = new Controller(config, silentLogger(), createRegistry(), (err) => {
      throw err;
    });
    await controller.start();
    const client = new ControllerClient(`127.0.0.1:${port}`);
    // Retried until the single node is the active controller (elected and caught up with its log).
    const epoch = await until('registration', () => client.registerBroker(5, 'i', null, [{ listener: 'PLAINTEXT', host: 'h', port: 1 }]));
    await client.brokerHeartbeat(5, epoch);
    await client.createTopic('a', 2, 1);

    const location = join(base, 'copy');
    let follower = await MetadataFollower.open({ location, controllers: [`127.0.0.1:${port}`], logger: silentLogger(), retryBackoffMs: 50 });
    const changes: (string | null)[] = [];
    follower.subscribe((records) => changes.push(records === null ? null : records.map((r) => r.type).join(',')));
    follower.start();
    const target = () => controller.node.metadataImage();
    await until('the follower to catch up', () => (follower.image().topics.has('a') ? true : undefined));
    expect(imageToJson(follower.image()).topics).toEqual(imageToJson(target()).topics);
    expect(changes.length).toBeGreaterThan(0);
    await follower.close();

    // Meanwhile more than watchRetainBatches batches commit: the restarted follower gets a full image.
    for (const name of ['b', 'c', 'd', 'e']) await client.createTopic(name, 1, 1);
    follower = await MetadataFollower.open({ location, controllers: [`127.0.0.1:${port}`], logger: silentLogger(), retryBackoffMs: 50 });
    expect([...follower.image().topics.keys()].sort()).toEqual(['a']); // its own copy, before connecting
    const stale = follower.appliedIndex;
    expect(stale).toBeGreaterThan(0);
    const replaced: number[] = [];
    follower.subscribe((records, _image, index) => {
      if (records === null) replaced.push(index);
    });
    follower.start();
    await until('the follower to catch up again', () => (follower.image().topics.size === 5 ? true : undefined));
    expect(replaced.length).toBe(1);
    expect(imageToJson(follower.image()).topics).toEqual(imageToJson(target()).topics);
    expect(imageToJson(follower.image()).brokers).toEqual(imageToJson(target()).brokers);
    await client.createTopic('f', 1, 1);
    await until('a live batch', () => (follower.image().topics.has('f') ? true : undefined));
    await follower.close();

    const reopened = await MetadataFollower.open({ location, controllers: [`127.0.0.1:${port}`], logger: silentLogger() });
    expect([...reopened.image().topics.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    await reopened.close();
    client.close();
    await controller.stop();
  });
});
