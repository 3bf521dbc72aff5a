import { describe, expect, it } from 'vitest';
import { FrameReader } from './frame-reader.js';

const frame = (payload: Buffer): Buffer => {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
};

describe('FrameReader', () => {
  it('splits frames across arbitrary chunk boundaries', () => {
    const payloads = [Buffer.from('hello'), Buffer.alloc(0), Buffer.from('x'.repeat(1000)), Buffer.from([1, 2, 3])];
    const stream = Buffer.concat(payloads.map(frame));
    for (const chunkSize of [1, 2, 3, 7, 100, stream.length]) {
      const reader = new FrameReader(1 << 20);
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += chunkSize) out.push(...reader.push(stream.subarray(i, i + chunkSize)));
      expect(out.map((b) => b.toString('hex'))).toEqual(payloads.map((b) => b.toString('hex')));
      expect(reader.pendingBytes).toBe(0);
    }
  });

  it('rejects a frame larger than the limit and a negative size', () => {
    expect(() => new FrameReader(10).push(frame(Buffer.alloc(11)))).toThrow(/outside/);
    expect(() => new FrameReader(10).push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/outside/);
  });
});
