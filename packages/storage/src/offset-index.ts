import { assert, CorruptDataError } from '@fluxo/common';

/**
 * Sparse offset index of one segment: (offset relative to the segment base, byte position of the batch that
 * starts at that offset). Kept in memory (two growable Int32Arrays) and written to the `.index` file as 8-byte
 * big-endian entries when the segment closes: the active segment's index is rebuilt by recovery after a crash.
 */
export const OFFSET_INDEX_ENTRY_BYTES = 8;

export class OffsetIndex {
  private rel: Int32Array;
  private pos: Int32Array;
  private count = 0;

  constructor(capacity = 64) {
    this.rel = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
  }

  get entries(): number {
    return this.count;
  }

  get sizeBytes(): number {
    return this.count * OFFSET_INDEX_ENTRY_BYTES;
  }

  lastRelativeOffset(): number {
    return this.count === 0 ? -1 : this.rel[this.count - 1]!;
  }

  append(relativeOffset: number, position: number): void {
    assert(relativeOffset >= 0 && relativeOffset <= 0x7fffffff, `index relative offset out of range: ${relativeOffset}`);
    assert(position >= 0 && position <= 0x7fffffff, `index position out of range: ${position}`);
    if (this.count > 0) {
      assert(relativeOffset > this.rel[this.count - 1]!, 'offset index entries must have increasing offsets');
      assert(position > this.pos[this.count - 1]!, 'offset index entries must have increasing positions');
    }
    if (this.count === this.rel.length) this.grow();
    this.rel[this.count] = relativeOffset;
    this.pos[this.count] = position;
    this.count++;
  }

  /** Position of the last indexed batch whose base offset is <= relativeOffset (0 when none is). */
  lookup(relativeOffset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rel[mid]! <= relativeOffset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? 0 : this.pos[found]!;
  }

  /** Drops entries for batches at or after relativeOffset (truncation). */
  truncateFromOffset(relativeOffset: number): void {
    while (this.count > 0 && this.rel[this.count - 1]! >= relativeOffset) this.count--;
  }

  /** Drops entries at or beyond a byte position (torn-tail truncation). */
  truncateFromPosition(position: number): void {
    while (this.count > 0 && this.pos[this.count - 1]! >= position) this.count--;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.count * OFFSET_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      buf.writeInt32BE(this.rel[i]!, i * 8);
      buf.writeInt32BE(this.pos[i]!, i * 8 + 4);
    }
    return buf;
  }

  /** Parses an index file, checking every invariant; a bad file is corrupt (the caller rebuilds it). */
  static fromBuffer(buf: Buffer, logSizeBytes: number): OffsetIndex {
    if (buf.length % OFFSET_INDEX_ENTRY_BYTES !== 0) throw new CorruptDataError(`offset index size ${buf.length} is not a multiple of 8`);
    const n = buf.length / OFFSET_INDEX_ENTRY_BYTES;
    const index = new OffsetIndex(Math.max(64, n));
    let lastRel = -1;
    let lastPos = -1;
    for (let i = 0; i < n; i++) {
      const rel = buf.readInt32BE(i * 8);
      const pos = buf.readInt32BE(i * 8 + 4);
      if (rel <= lastRel || pos <= lastPos || pos >= logSizeBytes || rel < 0) {
        throw new CorruptDataError(`offset index entry ${i} (${rel}, ${pos}) breaks ordering or lies past the log`);
      }
      index.rel[i] = rel;
      index.pos[i] = pos;
      lastRel = rel;
      lastPos = pos;
    }
    index.count = n;
    return index;
  }

  private grow(): void {
    const rel = new Int32Array(this.rel.length * 2);
    const pos = new Int32Array(this.pos.length * 2);
    rel.set(this.rel);
    pos.set(this.pos);
    this.rel = rel;
    this.pos = pos;
  }
}
