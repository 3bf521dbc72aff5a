import { assert } from '../assert.js';
import { ErrorCode } from '../error-codes.js';
import { KafkaProtocolError } from '../errors.js';
import type { PartitionAssignment } from './records.js';

export interface PlacementBroker {
  readonly id: number;
  readonly rack: string | null;
}

/** Where round-robin placement starts; random on the controller (spreads leaders), fixed in tests. */
export interface PlacementStart {
  readonly startIndex: number;
  readonly replicaShift: number;
}

/**
 * Kafka's replica assignment (AdminUtils.assignReplicasToBrokers, KIP-36): partition p's first replica
 * walks the broker list round robin; followers are shifted so replicas of consecutive partitions spread
 * out. With racks, the list alternates racks and each partition gets replicas in as many racks as
 * possible. Like Kafka, a mix of brokers with and without a rack is refused.
 */
export function assignReplicas(
  brokers: readonly PlacementBroker[],
  partitionCount: number,
  replicationFactor: number,
  opts: { firstPartition?: number; start?: PlacementStart; random?: (maxExclusive: number) => number } = {},
): PartitionAssignment[] {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new KafkaProtocolError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new KafkaProtocolError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
  }
  if (replicationFactor > brokers.length) {
    throw new KafkaProtocolError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Replication factor: ${replicationFactor} larger than available brokers: ${brokers.length}.`,
    );
  }
  const withRack = brokers.filter((b) => b.rack !== null).length;
  if (withRack !== 0 && withRack !== brokers.length) {
    throw new KafkaProtocolError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Not all brokers have rack information for replica rack aware assignment.');
  }
  const random = opts.random ?? ((n: number) => Math.floor(Math.random() * n));
  const list = withRack === 0 ? [...brokers].sort((a, b) => a.id - b.id) : rackAlternated(brokers);
  const n = list.length;
  const numRacks = withRack === 0 ? n : new Set(list.map((b) => b.rack)).size;
  const startIndex = opts.start?.startIndex ?? random(n);
  let shift = opts.start?.replicaShift ?? random(n);
  const first = opts.firstPartition ?? 0;
  const out: PartitionAssignment[] = [];
  for (let p = first; p < first + partitionCount; p++) {
    if (p > 0 && p % n === 0) shift += 1;
    const firstIndex = (p + startIndex) % n;
    const leader = list[firstIndex] as PlacementBroker;
    const replicas = [leader.id];
    const racks = new Set([leader.rack]);
    for (let k = 0; replicas.length < replicationFactor; k++) {
      assert(k < n * n + n, 'replica placement did not terminate');
      const candidate = list[replicaIndex(firstIndex, shift * (withRack === 0 ? 1 : numRacks), k, n)] as PlacementBroker;
      const rackOk = withRack === 0 || !racks.has(candidate.rack) || racks.size === numRacks;
      if (rackOk && !replicas.includes(candidate.id)) {
        replicas.push(candidate.id);
        racks.add(candidate.rack);
      }
    }
    out.push({ partition: p, replicas });
  }
  return out;
}

function replicaIndex(firstIndex: number, secondReplicaShift: number, k: number, n: number): number {
  if (n === 1) return firstIndex;
  const shift = 1 + ((secondReplicaShift + k) % (n - 1));
  return (firstIndex + shift) % n;
}

/** Brokers ordered so racks alternate: first broker of each rack (racks sorted), then the second of each... */
function rackAlternated(brokers: readonly PlacementBroker[]): PlacementBroker[] {
  const byRack = new Map<string, PlacementBroker[]>();
  for (const b of [...brokers].sort((x, y) => x.id - y.id)) {
    const rack = b.rack as string;
    const list = byRack.get(rack) ?? [];
    list.push(b);
    byRack.set(rack, list);
  }
  const racks = [...byRack.keys()].sort();
  const out: PlacementBroker[] = [];
  for (let i = 0; out.length < brokers.length; i++) {
    for (const rack of racks) {
      const b = (byRack.get(rack) as PlacementBroker[])[i];
      if (b !== undefined) out.push(b);
    }
  }
  return out;
}
