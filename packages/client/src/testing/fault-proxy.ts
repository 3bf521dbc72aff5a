// Test-only: a TCP proxy in front of a real broker that can lose Produce requests or their responses, the
// faults idempotence exists for (a timeout or a dropped connection after the broker wrote the batch).
import { createServer, connect, type Server, type Socket } from 'node:net';

const PRODUCE = 0;

/** Splits a byte stream into size-prefixed Kafka frames (each returned with its 4-byte prefix). */
class FrameSplitter {
  private buffered: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Buffer[] = [];
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) break;
      frames.push(this.buffered.subarray(0, 4 + size));
      this.buffered = this.buffered.subarray(4 + size);
    }
    return frames;
  }
}

export class FaultProxy {
  /** Produce responses still to lose: the broker handled the request, the client never hears back. */
  dropProduceResponses = 0;
  /** Produce requests still to lose: the broker never sees them, the client waits for its request timeout. */
  dropProduceRequests = 0;
  /** Every Produce request frame that reached the broker (size prefix included), in order. */
  readonly produceRequests: Buffer[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static start(target: () => { host: string; port: number }): Promise<FaultProxy> {
    return new Promise((resolve) => {
      let proxy: FaultProxy;
      const server = createServer((client) => proxy.accept(client, target()));
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        proxy = new FaultProxy(server, typeof address === 'object' && address !== null ? address.port : 0);
        resolve(proxy);
      });
    });
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    const upstream = connect(target);
    this.sockets.add(client).add(upstream);
    const apiKeys = new Map<number, number>();
    const requests = new FrameSplitter();
    const responses = new FrameSplitter();
    const cut = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      for (const frame of requests.push(chunk)) {
        const apiKey = frame.readInt16BE(4);
        apiKeys.set(frame.readInt32BE(8), apiKey);
        if (apiKey === PRODUCE && this.dropProduceRequests > 0) {
          this.dropProduceRequests--;
          continue;
        }
        if (apiKey === PRODUCE) this.produceRequests.push(Buffer.from(frame));
        upstream.write(frame);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const frame of responses.push(chunk)) {
        const correlationId = frame.readInt32BE(4);
        if (apiKeys.get(correlationId) === PRODUCE && this.dropProduceResponses > 0) {
          this.dropProduceResponses--;
          cut();
          return;
        }
        apiKeys.delete(correlationId);
        client.write(frame);
      }
    });
    for (const s of [client, upstream]) {
      s.on('error', cut);
      s.on('close', () => {
        this.sockets.delete(s);
        cut();
      });
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
