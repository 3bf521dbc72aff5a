import { assert } from '@fluxo/common';

export type FrameEvent =
  | { readonly kind: 'frame'; readonly frame: Buffer }
  /** The 4-byte size prefix announced a frame larger than allowed (or negative): the connection must close. */
  | { readonly kind: 'oversized'; readonly sizeBytes: number };

/**
 * Splits a TCP byte stream into size-prefixed Kafka frames (the prefix is stripped). A frame that arrives in
 * one chunk is a zero-copy subarray of it; only frames spanning chunks are concatenated (once).
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private failed = false;

  constructor(private readonly maxFrameBytes: number) {
    assert(Number.isInteger(maxFrameBytes) && maxFrameBytes > 0, 'maxFrameBytes must be a positive integer');
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Feeds a chunk; returns the frames it completes (and at most one `oversized`, after which it stops). */
  push(chunk: Buffer): FrameEvent[] {
    if (this.failed) return [];
    const events: FrameEvent[] = [];
    if (this.chunks.length === 0) {
      // Fast path: parse straight out of the chunk without buffering.
      let offset = 0;
      while (chunk.length - offset >= 4) {
        const size = chunk.readInt32BE(offset);
        if (size < 0 || size > this.maxFrameBytes) {
          this.failed = true;
          events.push({ kind: 'oversized', sizeBytes: size });
          return events;
        }
        if (chunk.length - offset - 4 < size) break;
        events.push({ kind: 'frame', frame: chunk.subarray(offset + 4, offset + 4 + size) });
        offset += 4 + size;
      }
      if (offset < chunk.length) {
        this.chunks.push(chunk.subarray(offset));
        this.bufferedBytes = chunk.length - offset;
      }
      return events;
    }
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    for (;;) {
      if (this.bufferedBytes < 4) return events;
      const size = this.peekSize();
      if (size < 0 || size > this.maxFrameBytes) {
        this.failed = true;
        this.chunks = [];
        this.bufferedBytes = 0;
        events.push({ kind: 'oversized', sizeBytes: size });
        return events;
      }
      if (this.bufferedBytes < 4 + size) return events;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bufferedBytes);
      events.push({ kind: 'frame', frame: all.subarray(4, 4 + size) });
      const rest = all.subarray(4 + size);
      this.chunks = [];
      this.bufferedBytes = 0;
      if (rest.length > 0) return events.concat(this.push(rest));
      return events;
    }
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.bufferedBytes, 8)).subarray(0, 4);
    return head.readInt32BE(0);
  }
}
