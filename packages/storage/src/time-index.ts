import { assert, CorruptDataError } from '@fluxo/common';

/**
 * Sparse time index of one segment: (max timestamp so far, offset relative to the segment base of the first
 * batch that reached it). Timestamps only grow from entry to entry, so "last entry with timestamp <= t" bounds
 * where a search for t must start. In memory; written to `.timeindex` (12-byte entries: int64 timestamp, int32
 * relative offset) when the segment closes, with a final entry holding the segment's max timestamp.
 */
export const TIME_INDEX_ENTRY_BYTES = 12;

export class TimeIndex {
  private ts: Float64Array;
  private rel: Int32Array;
  private count = 0;

  constructor(capacity = 64) {
    this.ts = new Float64Array(capacity);
    this.rel = new Int32Array(capacity);
  }

  get entries(): number {
    return this.count;
  }

  get sizeBytes(): number {
    return this.count * TIME_INDEX_ENTRY_BYTES;
  }

  lastEntry(): { timestamp: number; relativeOffset: number } | null {
    if (this.count === 0) return null;
    return { timestamp: this.ts[this.count - 1]!, relativeOffset: this.rel[this.count - 1]! };
  }

  /** Appends when the timestamp is newer than the last entry's (otherwise the entry would add nothing). */
  maybeAppend(timestamp: number, relativeOffset: number): void {
    if (this.count > 0 && timestamp <= this.ts[this.count - 1]!) return;
    assert(relativeOffset >= 0 && relativeOffset <= 0x7fffffff, `time index relative offset out of range: ${relativeOffset}`);
    if (this.count > 0) assert(relativeOffset >= this.rel[this.count - 1]!, 'time index offsets must not decrease');
    if (this.count === this.ts.length) this.grow();
    this.ts[this.count] = timestamp;
    this.rel[this.count] = relativeOffset;
    this.count++;
  }

  /** Relative offset where a search for the first batch with maxTimestamp >= timestamp may start. */
  lookup(timestamp: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! <= timestamp) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? 0 : this.rel[found]!;
  }

  truncateFromOffset(relativeOffset: number): void {
    while (this.count > 0 && this.rel[this.count - 1]! >= relativeOffset) this.count--;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.count * TIME_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      buf.writeBigInt64BE(BigInt(this.ts[i]!), i * 12);
      buf.writeInt32BE(this.rel[i]!, i * 12 + 8);
    }
    return buf;
  }

  static fromBuffer(buf: Buffer): TimeIndex {
    if (buf.length % TIME_INDEX_ENTRY_BYTES !== 0) throw new CorruptDataError(`time index size ${buf.length} is not a multiple of 12`);
    const n = buf.length / TIME_INDEX_ENTRY_BYTES;
    const index = new TimeIndex(Math.max(64, n));
    for (let i = 0; i < n; i++) {
      const ts = Number(buf.readBigInt64BE(i * 12));
      const rel = buf.readInt32BE(i * 12 + 8);
      if (rel < 0 || (i > 0 && (ts <= index.ts[i - 1]! || rel < index.rel[i - 1]!))) {
        throw new CorruptDataError(`time index entry ${i} (${ts}, ${rel}) breaks ordering`);
      }
      index.ts[i] = ts;
      index.rel[i] = rel;
    }
    index.count = n;
    return index;
  }

  private grow(): void {
    const ts = new Float64Array(this.ts.length * 2);
    const rel = new Int32Array(this.rel.length * 2);
    ts.set(this.ts);
    rel.set(this.rel);
    this.ts = ts;
    this.rel = rel;
  }
}
