import { DecodeError } from '@fluxo/common';
import { describe, expect, it } from 'vitest';
import { Compression, compress, compressionByName, compressionName, decompress } from './index.js';

describe('compression', () => {
  const data = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(500));

  it.each([Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd])('codec %i round-trips', (codec) => {
    const c = compress(codec, data);
    if (codec !== Compression.None) expect(c.length).toBeLessThan(data.length);
    expect(decompress(codec, c).equals(data)).toBe(true);
    expect(decompress(codec, compress(codec, Buffer.alloc(0))).length).toBe(0);
  });

  it.each([Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd])('codec %i: garbage is a DecodeError', (codec) => {
    for (const junk of [Buffer.from('definitely not compressed'), Buffer.alloc(0), Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1])]) {
      expect(() => decompress(codec, junk)).toThrow(DecodeError);
    }
  });

  it('unknown codec ids are DecodeErrors (UNSUPPORTED_COMPRESSION_TYPE)', () => {
    try {
      decompress(5, data);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).code).toBe(76);
    }
  });

  it('gzip output larger than the limit is refused', () => {
    expect(() => decompress(Compression.Gzip, compress(Compression.Gzip, Buffer.alloc(1 << 20)), 1024)).toThrow(DecodeError);
  });

  it('maps Kafka compression.type names', () => {
    expect(compressionByName('zstd')).toBe(4);
    expect(compressionByName('producer')).toBeUndefined();
    expect(compressionName(2)).toBe('snappy');
  });
});

describe('decompression limits', () => {
  it('zstd: a frame header claiming more than the limit is refused before allocation', () => {
    const big = compress(Compression.Zstd, Buffer.alloc(1 << 20));
    expect(() => decompress(Compression.Zstd, big, 1024)).toThrow(DecodeError);
    expect(decompress(Compression.Zstd, big).length).toBe(1 << 20);
    // Frame header: magic, FHD = single segment + 8-byte content size (2^40), then junk.
    const lying = Buffer.concat([Buffer.from('28b52ffde0', 'hex'), Buffer.from('0000000000010000', 'hex'), Buffer.from([1, 0, 0])]);
    expect(() => decompress(Compression.Zstd, lying)).toThrow(DecodeError);
  });

  it('zstd without content size (streaming) is bounded too', async () => {
    const { CompressStream } = await import('zstd-napi');
    const s = new CompressStream();
    const parts: Buffer[] = [];
    s.on('data', (b: Buffer) => parts.push(b));
    await new Promise<void>((resolve) => {
      s.end(Buffer.alloc(1 << 20), () => resolve());
    });
    await new Promise((r) => setImmediate(r));
    const streamed = Buffer.concat(parts);
    expect(decompress(Compression.Zstd, streamed).length).toBe(1 << 20);
    expect(() => decompress(Compression.Zstd, streamed, 1000)).toThrow(DecodeError);
  });

  it('snappy: a block announcing more than the limit is refused', () => {
    const big = compress(Compression.Snappy, Buffer.alloc(1 << 20));
    expect(() => decompress(Compression.Snappy, big, 1024)).toThrow(DecodeError);
    expect(() => decompress(Compression.Snappy, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0]))).toThrow(DecodeError);
  });
});
