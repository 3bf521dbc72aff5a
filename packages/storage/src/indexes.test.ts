import { describe, expect, it } from 'vitest';
import { CorruptDataError } from '@fluxo/common';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';

describe('OffsetIndex', () => {
  it('finds the last entry at or below an offset and round-trips through its file format', () => {
    const idx = new OffsetIndex(2);
    for (let i = 1; i <= 100; i++) idx.append(i * 10, i * 1000);
    expect(idx.lookup(0)).toBe(0);
    expect(idx.lookup(9)).toBe(0);
    expect(idx.lookup(10)).toBe(1000);
    expect(idx.lookup(15)).toBe(1000);
    expect(idx.lookup(1000)).toBe(100_000);
    expect(idx.lookup(5000)).toBe(100_000);
    const copy = OffsetIndex.fromBuffer(idx.toBuffer(), 200_000);
    expect(copy.entries).toBe(100);
    expect(copy.lookup(555)).toBe(55_000);
    idx.truncateFromOffset(500);
    expect(idx.lookup(5000)).toBe(49_000);
  });

  it('refuses entries that break ordering and files that lie', () => {
    const idx = new OffsetIndex();
    idx.append(10, 100);
    expect(() => idx.append(10, 200)).toThrow();
    expect(() => idx.append(11, 100)).toThrow();
    expect(() => OffsetIndex.fromBuffer(Buffer.alloc(7), 100)).toThrow(CorruptDataError);
    expect(() => OffsetIndex.fromBuffer(idx.toBuffer(), 50)).toThrow(CorruptDataError); // position past the log
  });
});

describe('TimeIndex', () => {
  it('keeps only increasing timestamps and finds where a search may start', () => {
    const idx = new TimeIndex(2);
    idx.maybeAppend(100, 0);
    idx.maybeAppend(90, 5); // not newer: ignored
    idx.maybeAppend(200, 10);
    idx.maybeAppend(300, 20);
    expect(idx.entries).toBe(3);
    expect(idx.lookup(50)).toBe(0);
    expect(idx.lookup(199)).toBe(0);
    expect(idx.lookup(200)).toBe(10);
    expect(idx.lookup(1000)).toBe(20);
    const copy = TimeIndex.fromBuffer(idx.toBuffer());
    expect(copy.lastEntry()).toEqual({ timestamp: 300, relativeOffset: 20 });
    expect(() => TimeIndex.fromBuffer(Buffer.alloc(13))).toThrow(CorruptDataError);
  });
});
