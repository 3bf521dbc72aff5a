import { DecodeError } from '@fluxo/common';

/**
 * Splits a TCP byte stream into Kafka frames (int32 size prefix + payload). Keeps received chunks in a list
 * and only copies when a frame spans chunks, so large fetch responses are not re-concatenated per chunk.
 */
export class FrameReader {
  private readonly chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private frameSizeBytes = -1;

  constructor(private readonly maxFrameSizeBytes: number) {}

  /** Adds a chunk and returns every frame it completes (payload without the size prefix). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.frameSizeBytes < 0) {
        if (this.bufferedBytes < 4) break;
        const size = this.take(4).readInt32BE(0);
        if (size < 0 || size > this.maxFrameSizeBytes) {
          throw new DecodeError(`response frame of ${size} bytes is outside 0..${this.maxFrameSizeBytes}`);
        }
        this.frameSizeBytes = size;
      }
      if (this.bufferedBytes < this.frameSizeBytes) break;
      frames.push(this.take(this.frameSizeBytes));
      this.frameSizeBytes = -1;
    }
    return frames;
  }

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  private take(n: number): Buffer {
    this.bufferedBytes -= n;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    while (written < n) {
      const chunk = this.chunks[0]!;
      const count = Math.min(n - written, chunk.length);
      chunk.copy(out, written, 0, count);
      written += count;
      if (count === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(count);
    }
    return out;
  }
}
