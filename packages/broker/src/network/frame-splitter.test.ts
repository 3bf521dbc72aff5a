import { describe, expect, it } from 'vitest';
import { FrameSplitter } from './frame-splitter.js';

function frame(body: string): Buffer {
  const b = Buffer.alloc(4 + body.length);
  b.writeInt32BE(body.length, 0);
  b.write(body, 4);
  return b;
}

describe('FrameSplitter', () => {
  it('splits frames arriving in any chunking, zero-copy within a chunk', () => {
    const stream = Buffer.concat([frame('hello'), frame(''), frame('world!'), frame('x'.repeat(100))]);
    for (const step of [1, 2, 3, 7, 50, stream.length]) {
      const s = new FrameSplitter(1000);
      const got: string[] = [];
      for (let i = 0; i < stream.length; i += step) {
        for (const e of s.push(stream.subarray(i, i + step))) {
          expect(e.kind).toBe('frame');
          if (e.kind === 'frame') got.push(e.frame.toString());
        }
      }
      expect(got).toEqual(['hello', '', 'world!', 'x'.repeat(100)]);
      expect(s.pendingBytes).toBe(0);
    }
    const one = new FrameSplitter(1000).push(stream);
    expect(one[0]!.kind === 'frame' && one[0]!.frame.buffer).toBe(stream.buffer);
  });

  it('reports an oversized or negative size once and stops', () => {
    const s = new FrameSplitter(10);
    const big = frame('x'.repeat(11));
    expect(s.push(big.subarray(0, 2))).toEqual([]);
    expect(s.push(big.subarray(2))).toEqual([{ kind: 'oversized', sizeBytes: 11 }]);
    expect(s.push(frame('ok'))).toEqual([]);
    const neg = Buffer.alloc(4);
    neg.writeInt32BE(-5);
    expect(new FrameSplitter(10).push(neg)).toEqual([{ kind: 'oversized', sizeBytes: -5 }]);
  });
});
