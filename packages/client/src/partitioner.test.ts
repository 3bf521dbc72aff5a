import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DefaultPartitioner, murmur2, partitionForKey, RoundRobinPartitioner, toPositive } from './partitioner.js';

const require = createRequire(import.meta.url);
// kafkajs' own murmur2 and DefaultPartitioner (Java-compatible) are the reference.
const kafkajs = require('kafkajs') as {
  Partitioners: { DefaultPartitioner: () => (args: { topic: string; partitionMetadata: { partitionId: number; leader: number }[]; message: { key?: Buffer | string | null; partition?: number } }) => number };
};
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;

function keys(): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 500; i++) out.push(Buffer.from(`key-${i}`));
  for (let len = 0; len < 40; len++) out.push(Buffer.from(Array.from({ length: len }, (_, i) => (i * 37 + len * 11) & 0xff)));
  out.push(Buffer.from('ü€漢字 emoji 🎉'), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x80]), Buffer.from('order-42'), Buffer.from('user:1001'));
  return out;
}

describe('murmur2', () => {
  it('matches the Java client (values from Kafka UtilsTest.testMurmur2)', () => {
    const cases: [Buffer, number][] = [
      [Buffer.from('21'), -973932308],
      [Buffer.from('foobar'), -790332482],
      [Buffer.from('a-little-bit-long-string'), -985981536],
      [Buffer.from('a-little-bit-longer-string'), -1486304829],
      [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
      [Buffer.from('abc'), 479470107],
    ];
    for (const [key, expected] of cases) expect(murmur2(key), key.toString()).toBe(expected);
  });

  it('matches kafkajs murmur2 on many keys of every tail length', () => {
    for (const key of keys()) expect(murmur2(key), key.toString('hex')).toBe(kafkajsMurmur2(key));
  });

  it('toPositive masks the sign bit like Utils.toPositive (not Math.abs)', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(5)).toBe(5);
  });
});

describe('DefaultPartitioner', () => {
  it('places keyed records on the same partition as kafkajs DefaultPartitioner for 1..64 partitions', () => {
    const reference = kafkajs.Partitioners.DefaultPartitioner();
    const ours = new DefaultPartitioner();
    for (const partitionCount of [1, 2, 3, 5, 8, 12, 16, 33, 64]) {
      const partitionMetadata = Array.from({ length: partitionCount }, (_, i) => ({ partitionId: i, leader: 1 }));
      const available = partitionMetadata.map((p) => p.partitionId);
      for (const key of keys()) {
        const expected = reference({ topic: 't', partitionMetadata, message: { key } });
        expect(ours.partition({ topic: 't', key, partitionCount, availablePartitions: available })).toBe(expected);
        expect(partitionForKey(key, partitionCount)).toBe(expected);
      }
    }
  });

  it('ignores leader availability for keyed records (Java rule), uses only available ones for null keys', () => {
    const p = new DefaultPartitioner();
    const key = Buffer.from('key-1');
    const expected = partitionForKey(key, 4);
    const available = [0, 1, 2, 3].filter((x) => x !== expected);
    expect(p.partition({ topic: 't', key, partitionCount: 4, availablePartitions: available })).toBe(expected);
    for (let i = 0; i < 50; i++) {
      p.onBatchClosed('t', p.partition({ topic: 't', key: null, partitionCount: 4, availablePartitions: [2] }));
      expect(p.partition({ topic: 't', key: null, partitionCount: 4, availablePartitions: [2] })).toBe(2);
    }
  });

  it('sticks to one partition for null keys until that partition closes a batch', () => {
    const p = new DefaultPartitioner();
    const input = { topic: 't', key: null, partitionCount: 8, availablePartitions: [0, 1, 2, 3, 4, 5, 6, 7] };
    const first = p.partition(input);
    for (let i = 0; i < 100; i++) expect(p.partition(input)).toBe(first);
    p.onBatchClosed('other-topic', first);
    expect(p.partition(input)).toBe(first);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const before = p.partition(input);
      p.onBatchClosed('t', before);
      const after = p.partition(input);
      expect(after).not.toBe(before);
      seen.add(after);
    }
    expect(seen.size).toBeGreaterThan(1);
    // A sticky partition that loses its leader is left at once.
    const stuck = p.partition(input);
    expect(p.partition({ ...input, availablePartitions: input.availablePartitions.filter((x) => x !== stuck) })).not.toBe(stuck);
  });
});

describe('RoundRobinPartitioner', () => {
  it('cycles through available partitions for null keys', () => {
    const p = new RoundRobinPartitioner();
    const input = { topic: 't', key: null, partitionCount: 3, availablePartitions: [0, 1, 2] };
    const seq = Array.from({ length: 6 }, () => p.partition(input));
    expect(new Set(seq)).toEqual(new Set([0, 1, 2]));
    expect(seq[0]).toBe(seq[3]);
  });
});
