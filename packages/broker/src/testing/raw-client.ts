import { connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, silentLogger, type Logger, type Registry } from '@fluxo/common';
import { decodeResponseFrameBody, encodeRequestFrame, readResponseCorrelationId } from '@fluxo/protocol';
import { Broker } from '../broker.js';
import { resolveNodeConfig } from '../config/node-config.js';

/**
 * A minimal Kafka client for tests: one socket, frames in, frames out, responses matched by correlation id
 * in arrival order. Also sends raw bytes so tests can misbehave on purpose.
 */
export class RawClient {
  private buffered = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private readonly waiters: ((frame: Buffer | null) => void)[] = [];
  private nextCorrelationId = 1;
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        const w = this.waiters.shift();
        if (w) w(frame);
        else this.frames.push(frame);
      }
    });
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        for (const w of this.waiters.splice(0)) w(null);
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Encodes and writes a request; returns its correlation id. */
  send(apiKey: number, apiVersion: number, body: unknown, correlationId = this.nextCorrelationId++): number {
    this.socket.write(encodeRequestFrame({ apiKey, apiVersion, correlationId, clientId: 'raw-test' }, body));
    return correlationId;
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next response frame (without size prefix), or null when the connection closed first. */
  nextFrame(): Promise<Buffer | null> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Sends a request and decodes the next response (which must be its own). */
  async request<Res>(apiKey: number, apiVersion: number, body: unknown): Promise<Res> {
    const correlationId = this.send(apiKey, apiVersion, body);
    const frame = await this.nextFrame();
    if (frame === null) throw new Error(`connection closed before the response to correlation id ${correlationId}`);
    const got = readResponseCorrelationId(frame);
    if (got !== correlationId) throw new Error(`expected correlation id ${correlationId}, got ${got}`);
    return decodeResponseFrameBody<Res>(apiKey, apiVersion, frame);
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface TestNode {
  broker: Broker;
  port: number;
  dataDir: string;
  registry: Registry;
  logger: Logger;
  /** Stops the node (if running) and removes its data directory. */
  cleanup(): Promise<void>;
}

/** Starts a Broker on 127.0.0.1:0 with a fresh tmp data dir (or `dataDir` to reuse one). */
export async function startTestNode(opts: { dataDir?: string; set?: Record<string, string>; logger?: Logger } = {}): Promise<TestNode> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'fluxo-broker-')));
  const config = resolveNodeConfig({ dataDir, host: '127.0.0.1', port: 0, set: opts.set ?? {}, env: {} });
  const registry = createRegistry();
  const logger = opts.logger ?? silentLogger();
  const broker = new Broker({ config, logger, registry });
  await broker.start();
  let stopped = false;
  return {
    broker,
    port: broker.port,
    dataDir,
    registry,
    logger,
    async cleanup() {
      if (!stopped) {
        stopped = true;
        await broker.stop();
      }
      if (opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
