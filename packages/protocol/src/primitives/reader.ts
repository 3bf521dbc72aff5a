import { DecodeError } from '@fluxo/common';

const TWO_POW_32 = 4294967296;

/**
 * Cursor over a Buffer for the Kafka wire types. Every read is bounds-checked against `end` first, so bad
 * input raises DecodeError (never RangeError). Lengths read from the wire are checked against the bytes that
 * remain before anything is allocated, so a hostile length cannot make us allocate gigabytes.
 * `readBytes`/`readRecords` return zero-copy subarrays that share memory with the input.
 */
export class Reader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length,
  ) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new DecodeError(`reader bounds [${offset}, ${end}) outside buffer of ${buf.length} bytes`);
    }
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** Throws DecodeError unless `n` more bytes are available. */
  private need(n: number, what: string): void {
    if (this.end - this.offset < n) {
      throw new DecodeError(`truncated ${what}: need ${n} bytes at offset ${this.offset}, ${this.end - this.offset} left`);
    }
  }

  skip(n: number): void {
    if (n < 0) throw new DecodeError(`negative skip ${n}`);
    this.need(n, 'skip');
    this.offset += n;
  }

  readInt8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.offset++);
  }

  readUInt8(): number {
    this.need(1, 'uint8');
    return this.buf[this.offset++]!;
  }

  readBool(): boolean {
    this.need(1, 'bool');
    return this.buf[this.offset++] !== 0;
  }

  readInt16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  readUInt16(): number {
    this.need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  readInt32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  readUInt32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /** int64 as a JS number: exact within ±2^53 (offsets, timestamps, producer ids), rounded beyond. */
  readInt64(): number {
    this.need(8, 'int64');
    const hi = this.buf.readInt32BE(this.offset);
    const lo = this.buf.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return hi * TWO_POW_32 + lo;
  }

  readFloat64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }

  /** Unsigned LEB128 varint of at most 32 bits (lengths, tags). */
  readUVarInt(): number {
    const buf = this.buf;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.offset >= this.end) throw new DecodeError(`truncated varint at offset ${this.offset}`);
      const b = buf[this.offset++]!;
      if (shift === 28 && b > 0x0f) throw new DecodeError('unsigned varint does not fit in 32 bits');
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw new DecodeError('unsigned varint longer than 5 bytes');
  }

  /** Zigzag-encoded signed 32-bit varint (record fields). */
  readVarInt(): number {
    const u = this.readUVarInt();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Zigzag-encoded signed 64-bit varint; exact within ±2^53 (rounded beyond, like every int64 here). */
  readVarLong(): number {
    const buf = this.buf;
    const start = this.offset;
    let value = 0;
    // Fast path: up to 7 bytes (49 bits) stays exact in a double.
    for (let shift = 0; shift < 49; shift += 7) {
      if (this.offset >= this.end) throw new DecodeError(`truncated varlong at offset ${this.offset}`);
      const b = buf[this.offset++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    }
    this.offset = start;
    let big = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.offset >= this.end) throw new DecodeError(`truncated varlong at offset ${this.offset}`);
      const b = buf[this.offset++]!;
      if (shift === 63n && b > 0x01) throw new DecodeError('varlong does not fit in 64 bits');
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return Number((big >> 1n) ^ -(big & 1n));
    }
    throw new DecodeError('varlong longer than 10 bytes');
  }

  private readUtf8(length: number, what: string): string {
    this.need(length, what);
    const start = this.offset;
    this.offset += length;
    return this.buf.toString('utf8', start, start + length);
  }

  /** int16 length + UTF-8; length -1 (null) is an error for a non-nullable string. */
  readString(): string {
    const len = this.readInt16();
    if (len < 0) throw new DecodeError('non-nullable string is null');
    return this.readUtf8(len, 'string');
  }

  readNullableString(): string | null {
    const len = this.readInt16();
    if (len < 0) {
      if (len !== -1) throw new DecodeError(`invalid string length ${len}`);
      return null;
    }
    return this.readUtf8(len, 'string');
  }

  /** uvarint (length + 1) + UTF-8. */
  readCompactString(): string {
    const n = this.readUVarInt();
    if (n === 0) throw new DecodeError('non-nullable compact string is null');
    return this.readUtf8(n - 1, 'compact string');
  }

  readCompactNullableString(): string | null {
    const n = this.readUVarInt();
    if (n === 0) return null;
    return this.readUtf8(n - 1, 'compact string');
  }

  /** Raw zero-copy slice of the next `length` bytes. */
  readSlice(length: number): Buffer {
    if (length < 0) throw new DecodeError(`negative length ${length}`);
    this.need(length, 'bytes');
    const start = this.offset;
    this.offset += length;
    return this.buf.subarray(start, start + length);
  }

  /** int32 length + bytes (zero-copy). */
  readBytes(): Buffer {
    const len = this.readInt32();
    if (len < 0) throw new DecodeError('non-nullable bytes are null');
    return this.readSlice(len);
  }

  readNullableBytes(): Buffer | null {
    const len = this.readInt32();
    if (len < 0) {
      if (len !== -1) throw new DecodeError(`invalid bytes length ${len}`);
      return null;
    }
    return this.readSlice(len);
  }

  readCompactBytes(): Buffer {
    const n = this.readUVarInt();
    if (n === 0) throw new DecodeError('non-nullable compact bytes are null');
    return this.readSlice(n - 1);
  }

  readCompactNullableBytes(): Buffer | null {
    const n = this.readUVarInt();
    if (n === 0) return null;
    return this.readSlice(n - 1);
  }

  /**
   * int32 array length (classic encoding), -1 = null. Checked against the remaining bytes (every element
   * takes at least one byte) so a hostile count cannot drive a huge allocation or loop.
   */
  readArrayLength(): number {
    const n = this.readInt32();
    if (n < -1) throw new DecodeError(`invalid array length ${n}`);
    if (n > this.end - this.offset) {
      throw new DecodeError(`array length ${n} exceeds the ${this.end - this.offset} bytes left`);
    }
    return n;
  }

  /** uvarint (length + 1) array length (compact encoding), -1 = null; bounded like readArrayLength. */
  readCompactArrayLength(): number {
    const n = this.readUVarInt() - 1;
    if (n > this.end - this.offset) {
      throw new DecodeError(`array length ${n} exceeds the ${this.end - this.offset} bytes left`);
    }
    return n;
  }

  /** Non-nullable classic array of elements read by `readElement`. */
  readArray<T>(readElement: (r: Reader) => T): T[] {
    const n = this.readArrayLength();
    if (n < 0) throw new DecodeError('non-nullable array is null');
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = readElement(this);
    return out;
  }

  readNullableArray<T>(readElement: (r: Reader) => T): T[] | null {
    const n = this.readArrayLength();
    if (n < 0) return null;
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = readElement(this);
    return out;
  }

  readCompactArray<T>(readElement: (r: Reader) => T): T[] {
    const n = this.readCompactArrayLength();
    if (n < 0) throw new DecodeError('non-nullable compact array is null');
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = readElement(this);
    return out;
  }

  readCompactNullableArray<T>(readElement: (r: Reader) => T): T[] | null {
    const n = this.readCompactArrayLength();
    if (n < 0) return null;
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = readElement(this);
    return out;
  }

  /** 16 raw bytes rendered in Kafka's Uuid text form (base64url, no padding, 22 chars). */
  readUuid(): string {
    this.need(16, 'uuid');
    const start = this.offset;
    this.offset += 16;
    return this.buf.toString('base64url', start, start + 16);
  }

  /**
   * A tagged-fields section: uvarint count, then (uvarint tag, uvarint size, bytes) per field. Known tags are
   * handed to `onTag` with the reader positioned at the field's data; it must consume exactly `size` bytes.
   * Unknown tags (onTag returns false, or no handler) are skipped.
   */
  readTaggedFields(onTag?: (tag: number, r: Reader, sizeBytes: number) => boolean): void {
    const count = this.readUVarInt();
    if (count > this.end - this.offset) throw new DecodeError(`tagged field count ${count} exceeds remaining bytes`);
    for (let i = 0; i < count; i++) {
      const tag = this.readUVarInt();
      const size = this.readUVarInt();
      this.need(size, 'tagged field');
      const start = this.offset;
      if (onTag !== undefined && onTag(tag, this, size)) {
        if (this.offset !== start + size) {
          throw new DecodeError(`tagged field ${tag}: declared ${size} bytes, read ${this.offset - start}`);
        }
      } else {
        this.offset = start + size;
      }
    }
  }
}
