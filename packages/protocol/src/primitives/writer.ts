import { assert } from '@fluxo/common';

const TWO_POW_32 = 4294967296;
const TWO_POW_31 = 2147483648;
const TWO_POW_53 = 9007199254740992;
const TWO_POW_52 = 4503599627370496;

/** Raw buffers at least this large are referenced, not copied, by writeRaw (see toBuffers). */
export const ZERO_COPY_THRESHOLD_BYTES = 4096;

/**
 * Growable buffer builder for the Kafka wire types.
 *
 * The working Buffer grows geometrically. `writeRaw(buf)` of a large buffer (>= ZERO_COPY_THRESHOLD_BYTES,
 * e.g. record batches in a Fetch response) does not copy it: the bytes written so far are sealed as one
 * chunk and the caller's buffer becomes the next chunk. `toBuffers()` returns those chunks for writev
 * (zero copies of record data); `toBuffer()` returns one contiguous Buffer (record data copied exactly once,
 * and no copy at all when nothing was referenced). The caller must not mutate a referenced buffer until the
 * output has been consumed.
 */
export class Writer {
  private buf: Buffer;
  /** Write position inside `buf`. */
  private pos = 0;
  /** Start, inside `buf`, of the bytes not yet sealed into `chunks`. */
  private chunkStart = 0;
  private readonly chunks: Buffer[] = [];
  private sealedBytes = 0;

  constructor(initialCapacityBytes = 256) {
    assert(initialCapacityBytes > 0, 'writer capacity must be positive');
    this.buf = Buffer.allocUnsafe(initialCapacityBytes);
  }

  /** Total bytes written so far (also the absolute position of the next byte). */
  get length(): number {
    return this.sealedBytes + (this.pos - this.chunkStart);
  }

  get offset(): number {
    return this.length;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const live = this.pos - this.chunkStart;
    let capacity = Math.max(256, this.buf.length * 2);
    while (capacity < live + n) capacity *= 2;
    const next = Buffer.allocUnsafe(capacity);
    // Only the unsealed region moves: sealed chunks keep pointing at the old buffer.
    this.buf.copy(next, 0, this.chunkStart, this.pos);
    this.buf = next;
    this.pos = live;
    this.chunkStart = 0;
  }

  writeInt8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  writeUInt8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  writeBool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  writeInt16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  writeUInt16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  writeInt32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  writeUInt32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  /** int64 from a JS number (must be an integer within ±2^53). */
  writeInt64(v: number): this {
    assert(Number.isSafeInteger(v), `int64 value ${v} is not a safe integer`);
    this.ensure(8);
    const hi = Math.floor(v / TWO_POW_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_POW_32, this.pos + 4);
    this.pos += 8;
    return this;
  }

  writeFloat64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** Unsigned LEB128 varint; `v` is a non-negative integer (up to 2^53). */
  writeUVarInt(v: number): this {
    this.ensure(10);
    const buf = this.buf;
    if (v < TWO_POW_31) {
      while (v >= 0x80) {
        buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[this.pos++] = v;
      return this;
    }
    assert(v >= 0 && v <= TWO_POW_53 * 2, `uvarint value ${v} out of range`);
    while (v >= 0x80) {
      buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
    return this;
  }

  /** Zigzag signed 32-bit varint. */
  writeVarInt(v: number): this {
    assert(v >= -TWO_POW_31 && v < TWO_POW_31, `varint value ${v} out of int32 range`);
    return this.writeUVarInt(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Zigzag signed 64-bit varint (exact within ±2^53). */
  writeVarLong(v: number): this {
    assert(Number.isSafeInteger(v), `varlong value ${v} is not a safe integer`);
    if (v < TWO_POW_52 && v > -TWO_POW_52) return this.writeUVarInt(v >= 0 ? v * 2 : -v * 2 - 1);
    // The zigzag value would exceed 2^53: compute it exactly with BigInt (rare: only huge timestamps deltas).
    const b = BigInt(v);
    let z = BigInt.asUintN(64, (b << 1n) ^ (b >> 63n));
    this.ensure(10);
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.pos++] = Number(z);
    return this;
  }

  /** Writes UTF-8 with no length prefix and returns its byte length. */
  private writeUtf8(s: string, byteLength: number): void {
    this.ensure(byteLength);
    if (byteLength === s.length && byteLength < 64) {
      // Short ASCII (topic names, client ids): a plain loop beats the native call.
      const buf = this.buf;
      for (let i = 0; i < byteLength; i++) buf[this.pos + i] = s.charCodeAt(i);
    } else {
      this.buf.write(s, this.pos, byteLength, 'utf8');
    }
    this.pos += byteLength;
  }

  writeString(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    assert(n <= 0x7fff, `string of ${n} bytes exceeds int16 length`);
    this.writeInt16(n);
    this.writeUtf8(s, n);
    return this;
  }

  writeNullableString(s: string | null): this {
    if (s === null) return this.writeInt16(-1);
    return this.writeString(s);
  }

  writeCompactString(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.writeUVarInt(n + 1);
    this.writeUtf8(s, n);
    return this;
  }

  writeCompactNullableString(s: string | null): this {
    if (s === null) return this.writeUVarInt(0);
    return this.writeCompactString(s);
  }

  /**
   * Raw bytes with no length prefix. Large buffers are referenced instead of copied (see class comment).
   */
  writeRaw(data: Buffer): this {
    const n = data.length;
    if (n >= ZERO_COPY_THRESHOLD_BYTES) {
      if (this.pos > this.chunkStart) {
        this.chunks.push(this.buf.subarray(this.chunkStart, this.pos));
        this.sealedBytes += this.pos - this.chunkStart;
        this.chunkStart = this.pos;
      }
      this.chunks.push(data);
      this.sealedBytes += n;
      return this;
    }
    this.ensure(n);
    data.copy(this.buf, this.pos);
    this.pos += n;
    return this;
  }

  writeBytes(data: Buffer): this {
    this.writeInt32(data.length);
    return this.writeRaw(data);
  }

  writeNullableBytes(data: Buffer | null): this {
    if (data === null) return this.writeInt32(-1);
    return this.writeBytes(data);
  }

  writeCompactBytes(data: Buffer): this {
    this.writeUVarInt(data.length + 1);
    return this.writeRaw(data);
  }

  writeCompactNullableBytes(data: Buffer | null): this {
    if (data === null) return this.writeUVarInt(0);
    return this.writeCompactBytes(data);
  }

  /** Classic array length prefix (int32; -1 = null). */
  writeArrayLength(n: number): this {
    return this.writeInt32(n);
  }

  /** Compact array length prefix (uvarint n + 1; 0 = null). Pass -1 for null. */
  writeCompactArrayLength(n: number): this {
    return this.writeUVarInt(n + 1);
  }

  writeArray<T>(items: readonly T[], writeElement: (w: Writer, item: T) => void): this {
    this.writeInt32(items.length);
    for (const item of items) writeElement(this, item);
    return this;
  }

  writeCompactArray<T>(items: readonly T[], writeElement: (w: Writer, item: T) => void): this {
    this.writeUVarInt(items.length + 1);
    for (const item of items) writeElement(this, item);
    return this;
  }

  /** Kafka Uuid text form (22-char base64url) as 16 raw bytes. */
  writeUuid(uuid: string): this {
    this.ensure(16);
    const written = this.buf.write(uuid, this.pos, 16, 'base64url');
    assert(written === 16 && uuid.length === 22, `invalid uuid ${JSON.stringify(uuid)}`);
    this.pos += 16;
    return this;
  }

  /** An empty tagged-fields section (one zero byte). */
  writeEmptyTaggedFields(): this {
    this.ensure(1);
    this.buf[this.pos++] = 0;
    return this;
  }

  /** Overwrites 4 bytes at an absolute position already written (e.g. a size prefix reserved earlier). */
  patchInt32(position: number, v: number): void {
    assert(position >= 0 && position + 4 <= this.length, `patch position ${position} outside written bytes`);
    if (position >= this.sealedBytes) {
      this.buf.writeInt32BE(v, this.chunkStart + position - this.sealedBytes);
      return;
    }
    let chunkAbs = 0;
    for (const chunk of this.chunks) {
      if (position < chunkAbs + chunk.length) {
        assert(position + 4 <= chunkAbs + chunk.length, 'patched int32 straddles two chunks');
        chunk.writeInt32BE(v, position - chunkAbs);
        return;
      }
      chunkAbs += chunk.length;
    }
    assert(false, 'unreachable: patch position not found');
  }

  /** The output as a list of buffers for writev; record data written with writeRaw is not copied. */
  toBuffers(): Buffer[] {
    if (this.pos === this.chunkStart) return this.chunks.slice();
    return [...this.chunks, this.buf.subarray(this.chunkStart, this.pos)];
  }

  /** The output as one Buffer (a view of the working buffer when nothing large was referenced). */
  toBuffer(): Buffer {
    if (this.chunks.length === 0) return this.buf.subarray(this.chunkStart, this.pos);
    return Buffer.concat(this.toBuffers(), this.length);
  }
}
