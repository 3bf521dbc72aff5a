/**
 * A deliberately small, independent Kafka wire encoder/decoder for raw-socket tests (bad input, fuzz).
 * It covers only the few non-flexible request versions the tests send, so that the broker is checked
 * against a second implementation rather than against its own codec.
 */
import net from 'node:net';
import { crc32c } from '@node-rs/crc32';

export const API = { Produce: 0, Fetch: 1, ListOffsets: 2, Metadata: 3, ApiVersions: 18 } as const;

class Out {
  private parts: Buffer[] = [];
  int8(v: number): this { const b = Buffer.alloc(1); b.writeInt8(v); this.parts.push(b); return this; }
  int16(v: number): this { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  int32(v: number): this { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this; }
  uint32(v: number): this { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); this.parts.push(b); return this; }
  int64(v: number): this { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); this.parts.push(b); return this; }
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    return this.int16(b.length).raw(b);
  }
  bytes(b: Buffer | null): this { if (b === null) return this.int32(-1); return this.int32(b.length).raw(b); }
  varint(v: number): this {
    let z = ((v << 1) ^ (v >> 31)) >>> 0;
    const out: number[] = [];
    while (z > 0x7f) { out.push((z & 0x7f) | 0x80); z >>>= 7; }
    out.push(z);
    return this.raw(Buffer.from(out));
  }
  varBytes(b: Buffer | null): this { if (b === null) return this.varint(-1); return this.varint(b.length).raw(b); }
  raw(b: Buffer): this { this.parts.push(b); return this; }
  done(): Buffer { return Buffer.concat(this.parts); }
}

class In {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  int8(): number { const v = this.buf.readInt8(this.pos); this.pos += 1; return v; }
  int16(): number { const v = this.buf.readInt16BE(this.pos); this.pos += 2; return v; }
  int32(): number { const v = this.buf.readInt32BE(this.pos); this.pos += 4; return v; }
  int64(): number { const v = Number(this.buf.readBigInt64BE(this.pos)); this.pos += 8; return v; }
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  array<T>(item: () => T): T[] | null {
    const n = this.int32();
    if (n < 0) return null;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }
}

/** Size-prefixed request with header v1 (all versions used here are non-flexible). */
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, body: Buffer, clientId: string | null = 'fluxo-raw-test'): Buffer {
  const payload = new Out().int16(apiKey).int16(apiVersion).int32(correlationId).string(clientId).raw(body).done();
  return new Out().int32(payload.length).raw(payload).done();
}

export interface SimpleRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Array<[string, Buffer | null]>;
}

/** An uncompressed magic-2 record batch with a correct CRC-32C (offsets assigned by the broker). */
export function recordBatch(records: readonly SimpleRecord[], baseTimestamp = Date.now()): Buffer {
  const body = new Out();
  records.forEach((r, i) => {
    const rec = new Out().int8(0).varint(0).varint(i).varBytes(r.key).varBytes(r.value).varint(r.headers?.length ?? 0);
    for (const [hk, hv] of r.headers ?? []) rec.varBytes(Buffer.from(hk, 'utf8')).varBytes(hv);
    const recBuf = rec.done();
    body.varint(recBuf.length).raw(recBuf);
  });
  const afterCrc = new Out()
    .int16(0) // attributes: no compression, CreateTime
    .int32(records.length - 1)
    .int64(baseTimestamp)
    .int64(baseTimestamp)
    .int64(-1) // producerId
    .int16(-1) // producerEpoch
    .int32(-1) // baseSequence
    .int32(records.length)
    .raw(body.done())
    .done();
  const crc = crc32c(afterCrc);
  const batchLength = 4 + 1 + 4 + afterCrc.length; // partitionLeaderEpoch + magic + crc + rest
  return new Out().int64(0).int32(batchLength).int32(-1).int8(2).uint32(crc).raw(afterCrc).done();
}

export function produceV3Body(topic: string, partition: number, records: Buffer, acks = -1, timeoutMs = 30_000): Buffer {
  return new Out().string(null).int16(acks).int32(timeoutMs).int32(1).string(topic).int32(1).int32(partition).bytes(records).done();
}

export function fetchV4Body(topic: string, partition: number, fetchOffset: number, maxWaitMs = 0): Buffer {
  return new Out()
    .int32(-1).int32(maxWaitMs).int32(1).int32(1024 * 1024).int8(0)
    .int32(1).string(topic).int32(1).int32(partition).int64(fetchOffset).int32(1024 * 1024)
    .done();
}

/** Metadata v1: a null topic list means all topics. */
export function metadataV1Body(topics: string[] | null): Buffer {
  const o = new Out();
  if (topics === null) return o.int32(-1).done();
  o.int32(topics.length);
  for (const t of topics) o.string(t);
  return o.done();
}

export interface ProducePartitionResult { topic: string; partition: number; errorCode: number; baseOffset: number }
export function decodeProduceV3(frame: Buffer): { correlationId: number; partitions: ProducePartitionResult[] } {
  const r = new In(frame);
  const correlationId = r.int32();
  const partitions: ProducePartitionResult[] = [];
  r.array(() => {
    const topic = r.string() ?? '';
    r.array(() => {
      const partition = r.int32();
      const errorCode = r.int16();
      const baseOffset = r.int64();
      r.int64(); // log_append_time
      partitions.push({ topic, partition, errorCode, baseOffset });
    });
  });
  return { correlationId, partitions };
}

export interface FetchPartitionResult { topic: string; partition: number; errorCode: number; highWatermark: number; records: Buffer | null }
export function decodeFetchV4(frame: Buffer): { correlationId: number; partitions: FetchPartitionResult[] } {
  const r = new In(frame);
  const correlationId = r.int32();
  r.int32(); // throttle
  const partitions: FetchPartitionResult[] = [];
  r.array(() => {
    const topic = r.string() ?? '';
    r.array(() => {
      const partition = r.int32();
      const errorCode = r.int16();
      const highWatermark = r.int64();
      r.int64(); // last stable offset
      r.array(() => [r.int64(), r.int64()]);
      const records = r.bytes();
      partitions.push({ topic, partition, errorCode, highWatermark, records });
    });
  });
  return { correlationId, partitions };
}

export function decodeApiVersionsV0(frame: Buffer): { correlationId: number; errorCode: number; apis: Array<{ apiKey: number; min: number; max: number }> } {
  const r = new In(frame);
  const correlationId = r.int32();
  const errorCode = r.int16();
  const apis = r.array(() => ({ apiKey: r.int16(), min: r.int16(), max: r.int16() })) ?? [];
  return { correlationId, errorCode, apis };
}

export function decodeMetadataV1Topics(frame: Buffer): { correlationId: number; topics: Array<{ errorCode: number; name: string }> } {
  const r = new In(frame);
  const correlationId = r.int32();
  r.array(() => [r.int32(), r.string(), r.int32(), r.string()]); // brokers: id, host, port, rack
  r.int32(); // controller id
  const topics =
    r.array(() => {
      const errorCode = r.int16();
      const name = r.string() ?? '';
      r.int8(); // is_internal
      r.array(() => [r.int16(), r.int32(), r.int32(), r.array(() => r.int32()), r.array(() => r.int32())]);
      return { errorCode, name };
    }) ?? [];
  return { correlationId, topics };
}

/** A raw client connection that collects whole response frames (size prefix removed). */
export class RawConnection {
  private readonly socket: net.Socket;
  private buffered = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  connectError: Error | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        this.frames.push(this.buffered.subarray(4, 4 + size));
        this.buffered = this.buffered.subarray(4 + size);
      }
      this.wake();
    });
    socket.on('error', () => {
      /* ECONNRESET etc.: the broker may reset connections it drops; 'close' follows */
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(host: string, port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  write(buf: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || this.socket.destroyed) return resolve();
      this.socket.write(buf, () => resolve());
    });
  }

  /** Half-close our side (FIN) after sending everything. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Next response frame, or 'closed' if the broker closed the connection, or 'timeout'. */
  async next(timeoutMs: number): Promise<Buffer | 'closed' | 'timeout'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames.shift();
      if (frame) return frame;
      if (this.closed) return 'closed';
      const remaining = deadline - Date.now();
      if (remaining <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the broker closes the connection (true) or the timeout passes (false). */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      const r = await this.next(deadline - Date.now());
      if (r === 'timeout') break;
    }
    return this.closed;
  }

  async request(frameBytes: Buffer, timeoutMs = 30_000): Promise<Buffer> {
    await this.write(frameBytes);
    const r = await this.next(timeoutMs);
    if (r === 'closed') throw new Error('broker closed the connection instead of answering');
    if (r === 'timeout') throw new Error(`no response within ${timeoutMs} ms`);
    return r;
  }
}
