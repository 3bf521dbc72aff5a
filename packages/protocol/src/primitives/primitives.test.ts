import { DecodeError } from '@fluxo/common';
import { describe, expect, it } from 'vitest';
import { ZERO_UUID } from './constants.js';
import { Reader } from './reader.js';
import { Writer, ZERO_COPY_THRESHOLD_BYTES } from './writer.js';

const hex = (b: Buffer): string => b.toString('hex');
const rd = (h: string): Reader => new Reader(Buffer.from(h, 'hex'));

describe('Writer/Reader fixed-width', () => {
  it('round-trips ints, int64 extremes within 2^53, floats and bools', () => {
    const w = new Writer(1);
    w.writeInt8(-128).writeInt16(-2).writeUInt16(65535).writeInt32(-2147483648).writeUInt32(4294967295);
    const int64s = [0, 1, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 4294967296, -4294967296, 1700000000000];
    for (const v of int64s) w.writeInt64(v);
    w.writeFloat64(3.25).writeBool(true).writeBool(false);
    const r = new Reader(w.toBuffer());
    expect([r.readInt8(), r.readInt16(), r.readUInt16(), r.readInt32(), r.readUInt32()]).toEqual([-128, -2, 65535, -2147483648, 4294967295]);
    for (const v of int64s) expect(r.readInt64()).toBe(v);
    expect([r.readFloat64(), r.readBool(), r.readBool()]).toEqual([3.25, true, false]);
    expect(r.remaining).toBe(0);
  });

  it('encodes int64 big-endian two-complement', () => {
    expect(hex(new Writer().writeInt64(-1).toBuffer())).toBe('ffffffffffffffff');
    expect(hex(new Writer().writeInt64(0x0102030405).toBuffer())).toBe('0000000102030405');
    expect(rd('ffffffffffffff38').readInt64()).toBe(-200);
  });
});

describe('varints', () => {
  // Vectors from the Kafka protocol guide / ByteUtilsTest (zigzag).
  const varints: [number, string][] = [
    [0, '00'], [-1, '01'], [1, '02'], [-2, '03'], [63, '7e'], [-64, '7f'], [64, '8001'], [300, 'd804'],
    [2147483647, 'feffffff0f'], [-2147483648, 'ffffffff0f'],
  ];
  it.each(varints)('varint %d <-> %s', (v, h) => {
    expect(hex(new Writer().writeVarInt(v).toBuffer())).toBe(h);
    expect(rd(h).readVarInt()).toBe(v);
  });

  const varlongs: [number, string][] = [
    [0, '00'], [-1, '01'], [1, '02'], [2 ** 40, '808080808040'], [-(2 ** 40), 'ffffffffff3f'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'], [Number.MIN_SAFE_INTEGER, 'fdffffffffffff1f'],
  ];
  it.each(varlongs)('varlong %d <-> %s', (v, h) => {
    expect(hex(new Writer().writeVarLong(v).toBuffer())).toBe(h);
    expect(rd(h).readVarLong()).toBe(v);
  });

  it('reads a 10-byte varlong (int64 min) without throwing', () => {
    expect(rd('ffffffffffffffffff01').readVarLong()).toBe(-(2 ** 63));
  });

  it('unsigned varints up to 2^32-1', () => {
    for (const v of [0, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 - 1]) {
      expect(new Reader(new Writer().writeUVarInt(v).toBuffer()).readUVarInt()).toBe(v);
    }
  });

  it('rejects overlong and truncated varints with DecodeError', () => {
    expect(() => rd('ffffffffff01').readUVarInt()).toThrow(DecodeError);
    expect(() => rd('ffffffff1f').readUVarInt()).toThrow(DecodeError); // > 32 bits
    expect(() => rd('8080').readVarInt()).toThrow(DecodeError);
    expect(() => rd('ffffffffffffffffff7f').readVarLong()).toThrow(DecodeError);
    expect(() => rd('ffffffffffffffffffff01').readVarLong()).toThrow(DecodeError);
  });
});

describe('strings, bytes, arrays, uuid', () => {
  it('classic and compact strings, nullable forms', () => {
    const w = new Writer(2);
    w.writeString('héllo').writeNullableString(null).writeCompactString('').writeCompactNullableString(null).writeCompactString('abc');
    expect(hex(w.toBuffer())).toBe('000668c3a96c6c6fffff0100' + '04616263');
    const r = new Reader(w.toBuffer());
    expect([r.readString(), r.readNullableString(), r.readCompactString(), r.readCompactNullableString(), r.readCompactString()]).toEqual(['héllo', null, '', null, 'abc']);
  });

  it('non-nullable reads of null are DecodeErrors', () => {
    expect(() => rd('ffff').readString()).toThrow(DecodeError);
    expect(() => rd('00').readCompactString()).toThrow(DecodeError);
    expect(() => rd('ffffffff').readBytes()).toThrow(DecodeError);
    expect(() => rd('00').readCompactBytes()).toThrow(DecodeError);
    expect(() => rd('fffe').readNullableString()).toThrow(DecodeError);
  });

  it('bytes are zero-copy views', () => {
    const buf = new Writer().writeBytes(Buffer.from('abcdef')).writeCompactNullableBytes(Buffer.from('xy')).toBuffer();
    const r = new Reader(buf);
    const b = r.readBytes();
    expect(b.toString()).toBe('abcdef');
    expect(b.buffer).toBe(buf.buffer);
    expect(r.readCompactNullableBytes()!.toString()).toBe('xy');
  });

  it('arrays bounded by the bytes left', () => {
    const w = new Writer();
    w.writeArray([1, 2, 3], (w, v) => w.writeInt32(v));
    w.writeCompactArray(['a', 'b'], (w, s) => w.writeCompactString(s));
    const r = new Reader(w.toBuffer());
    expect(r.readArray((r) => r.readInt32())).toEqual([1, 2, 3]);
    expect(r.readCompactArray((r) => r.readCompactString())).toEqual(['a', 'b']);
    expect(() => rd('7fffffff00').readArray((r) => r.readInt8())).toThrow(DecodeError);
    expect(() => rd('ffffffff0f').readCompactArray((r) => r.readInt8())).toThrow(DecodeError);
    expect(rd('ffffffff').readNullableArray((r) => r.readInt8())).toBeNull();
    expect(rd('00').readCompactNullableArray((r) => r.readInt8())).toBeNull();
    expect(() => rd('fffffffe').readNullableArray((r) => r.readInt8())).toThrow(DecodeError);
  });

  it('uuid uses the Kafka base64url text form', () => {
    const id = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    const text = id.toString('base64url');
    expect(text).toHaveLength(22);
    expect(hex(new Writer().writeUuid(text).toBuffer())).toBe(hex(id));
    expect(new Reader(id).readUuid()).toBe(text);
    expect(new Reader(Buffer.alloc(16)).readUuid()).toBe(ZERO_UUID);
    expect(() => new Writer().writeUuid('short')).toThrow();
  });
});

describe('tagged fields', () => {
  it('skips unknown tags and hands known ones to the callback', () => {
    // 2 tags: tag 5 (3 bytes, unknown), tag 0 (int32 42)
    const r = rd('02' + '0503aabbcc' + '00040000002a' + 'ee');
    let seen = -1;
    r.readTaggedFields((tag, r) => {
      if (tag !== 0) return false;
      seen = r.readInt32();
      return true;
    });
    expect(seen).toBe(42);
    expect(r.readUInt8()).toBe(0xee);
  });

  it('rejects a tag whose declared size does not match what was read', () => {
    const r = rd('0100040000002a');
    expect(() => r.readTaggedFields((_t, r) => (r.readInt16(), true))).toThrow(DecodeError);
    expect(() => rd('010005aabb').readTaggedFields()).toThrow(DecodeError);
  });
});

describe('Reader bounds', () => {
  it('every read past the end is a DecodeError, never a RangeError', () => {
    const reads: ((r: Reader) => unknown)[] = [
      (r) => r.readInt8(), (r) => r.readInt16(), (r) => r.readInt32(), (r) => r.readInt64(), (r) => r.readUInt32(),
      (r) => r.readFloat64(), (r) => r.readUuid(), (r) => r.readString(), (r) => r.readBytes(), (r) => r.readVarInt(),
      (r) => r.readCompactString(), (r) => r.readSlice(2), (r) => r.skip(5),
    ];
    for (const read of reads) {
      for (let len = 0; len < 3; len++) {
        const r = new Reader(Buffer.from([0, 0, 0, 0, 0, 5, 0, 0].slice(0, len + 1)), 1);
        try {
          read(r);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }
    }
    expect(() => new Reader(Buffer.alloc(4), 0, 2).readInt32()).toThrow(DecodeError);
  });
});

describe('Writer growth and zero-copy chunks', () => {
  it('grows geometrically from a tiny buffer', () => {
    const w = new Writer(1);
    for (let i = 0; i < 10000; i++) w.writeInt32(i);
    const r = new Reader(w.toBuffer());
    for (let i = 0; i < 10000; i++) expect(r.readInt32()).toBe(i);
  });

  it('references large buffers and patches the size prefix across chunks', () => {
    const big = Buffer.alloc(ZERO_COPY_THRESHOLD_BYTES, 7);
    const w = new Writer(8);
    w.writeInt32(0).writeInt16(1).writeBytes(big).writeInt16(2);
    for (let i = 0; i < 1000; i++) w.writeInt8(1); // forces a grow after sealing
    w.patchInt32(0, w.length - 4);
    const parts = w.toBuffers();
    expect(parts.some((p) => p === big)).toBe(true);
    const joined = w.toBuffer();
    expect(joined.length).toBe(w.length);
    expect(joined.equals(Buffer.concat(parts))).toBe(true);
    expect(joined.readInt32BE(0)).toBe(w.length - 4);
    const r = new Reader(joined, 4);
    expect(r.readInt16()).toBe(1);
    expect(r.readBytes().equals(big)).toBe(true);
    expect(r.readInt16()).toBe(2);
  });

  it('small raw writes are copied so the caller may reuse its buffer', () => {
    const small = Buffer.from('abc');
    const w = new Writer().writeRaw(small);
    small[0] = 0x7a;
    expect(w.toBuffer().toString()).toBe('abc');
  });
});
