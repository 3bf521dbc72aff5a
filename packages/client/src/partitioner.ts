import { assert } from '@fluxo/common';

const SEED = 0x9747b28c | 0;
const M = 0x5bd1e995;
const R = 24;

/**
 * Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): a signed 32-bit hash. Keys hash to the same
 * partition as the Java client, librdkafka's murmur2_random and kafkajs' DefaultPartitioner.
 */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: not Math.abs, so that Integer.MIN_VALUE maps to 0 like the Java client. */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** Partition of a keyed record: toPositive(murmur2(key)) % partitionCount, over all partitions (Java rule). */
export function partitionForKey(key: Buffer, partitionCount: number): number {
  assert(partitionCount > 0, 'partitionCount must be positive');
  return toPositive(murmur2(key)) % partitionCount;
}

export interface PartitionerInput {
  topic: string;
  key: Buffer | null;
  partitionCount: number;
  /** Partitions that currently have a leader; null keys only go there. */
  availablePartitions: readonly number[];
}

export interface Partitioner {
  partition(input: PartitionerInput): number;
  /** The accumulator closed a batch for this partition: a sticky partitioner may move on. */
  onBatchClosed?(topic: string, partition: number): void;
}

/**
 * Kafka's default: murmur2 on the key; records without a key stick to one partition until its batch closes,
 * then move to another available partition (KIP-480 sticky partitioning: fewer, fuller batches).
 */
export class DefaultPartitioner implements Partitioner {
  private readonly sticky = new Map<string, number>();
  /** The partition whose batch just closed: the next sticky choice avoids it when it can. */
  private readonly previous = new Map<string, number>();

  partition(input: PartitionerInput): number {
    if (input.key !== null) return partitionForKey(input.key, input.partitionCount);
    const current = this.sticky.get(input.topic);
    const usable = (p: number): boolean => p < input.partitionCount && (input.availablePartitions.length === 0 || input.availablePartitions.includes(p));
    if (current !== undefined && usable(current)) return current;
    const next = this.pick(input.availablePartitions, input.partitionCount, this.previous.get(input.topic) ?? -1);
    this.sticky.set(input.topic, next);
    return next;
  }

  onBatchClosed(topic: string, partition: number): void {
    if (this.sticky.get(topic) !== partition) return;
    this.sticky.delete(topic);
    this.previous.set(topic, partition);
  }

  private pick(available: readonly number[], partitionCount: number, avoid: number): number {
    const choices = available.length > 0 ? available : Array.from({ length: partitionCount }, (_, i) => i);
    if (choices.length === 1) return choices[0]!;
    for (;;) {
      const candidate = choices[Math.floor(Math.random() * choices.length)]!;
      if (candidate !== avoid) return candidate;
    }
  }
}

/** Round robin over available partitions for records without a key (kafkajs' behaviour); keys as default. */
export class RoundRobinPartitioner implements Partitioner {
  private readonly counters = new Map<string, number>();

  partition(input: PartitionerInput): number {
    if (input.key !== null) return partitionForKey(input.key, input.partitionCount);
    const n = (this.counters.get(input.topic) ?? Math.floor(Math.random() * 0x7fffffff)) + 1;
    this.counters.set(input.topic, n & 0x7fffffff);
    const choices = input.availablePartitions.length > 0 ? input.availablePartitions : null;
    return choices ? choices[n % choices.length]! : n % input.partitionCount;
  }
}
