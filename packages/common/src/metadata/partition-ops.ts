import { ErrorCode } from '../error-codes.js';
import type { MetadataImage } from './metadata-image.js';
import { NO_LEADER, type MetadataRecord, type PartitionState, type TopicState } from './records.js';

/** Outcome for one partition: the record to commit, or a Kafka error code (with message). */
export type PartitionOpResult = { readonly record: MetadataRecord } | { readonly errorCode: number; readonly errorMessage: string };

/** One partition's outcome of ElectLeaders / AlterPartitionReassignments (errorCode 0 = done). */
export interface PartitionOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly errorMessage: string;
}

export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

function refuse(errorCode: number, errorMessage: string): PartitionOpResult {
  return { errorCode, errorMessage };
}

function locate(image: MetadataImage, topic: string, partition: number): { t: TopicState; p: PartitionState } | PartitionOpResult {
  const t = image.topics.get(topic);
  const p = t?.partitions[partition];
  if (t === undefined || p === undefined) return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The partition ${topic}-${partition} does not exist.`);
  return { t, p };
}

const unfenced = (image: MetadataImage, id: number): boolean => image.brokers.get(id)?.fenced === false;

/**
 * Runs one partition operation per target against one image: the records to commit as one batch, and every
 * target's outcome (ELECTION_NOT_NEEDED left out when `omitNotNeeded`, as Kafka does for all-partition elections).
 */
export function collectPartitionOps<T extends { topic: string; partition: number }>(
  targets: readonly T[],
  op: (target: T) => PartitionOpResult,
  omitNotNeeded: boolean,
): { records: MetadataRecord[]; outcomes: PartitionOutcome[] } {
  const records: MetadataRecord[] = [];
  const outcomes: PartitionOutcome[] = [];
  for (const tp of targets) {
    const r = op(tp);
    if ('record' in r) {
      records.push(r.record);
      outcomes.push({ topic: tp.topic, partition: tp.partition, errorCode: 0, errorMessage: '' });
    } else if (!(omitNotNeeded && r.errorCode === ErrorCode.ELECTION_NOT_NEEDED)) {
      outcomes.push({ topic: tp.topic, partition: tp.partition, errorCode: r.errorCode, errorMessage: r.errorMessage });
    }
  }
  return { records, outcomes };
}

/** Every partition of the image as an operation target. */
export function allPartitions(image: MetadataImage): { topic: string; partition: number }[] {
  return [...image.topics.values()].flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition })));
}

/**
 * Kafka's ElectLeaders for one partition. Preferred: the first replica becomes leader if it is in the ISR and
 * alive (ELECTION_NOT_NEEDED when it already leads). Unclean: only for a leaderless partition; an alive ISR
 * member if any, else any alive replica with the ISR reset to it (may lose acknowledged records: an operator's
 * explicit choice).
 */
export function electLeader(image: MetadataImage, topic: string, partition: number, electionType: number): PartitionOpResult {
  const found = locate(image, topic, partition);
  if (!('t' in found)) return found;
  const { t, p } = found;
  const change = (leader: number, isr: readonly number[]): PartitionOpResult => ({
    record: { type: 'PartitionChanged', topicId: t.topicId, partition, partitionEpoch: p.partitionEpoch, leader, isr },
  });
  if (electionType === ElectionType.PREFERRED) {
    const preferred = p.replicas[0] as number;
    if (p.leader === preferred) return refuse(ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.');
    if (!p.isr.includes(preferred) || !unfenced(image, preferred)) {
      return refuse(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `Failed to elect leader for partition ${topic}-${partition} under strategy PreferredReplicaPartitionLeaderElectionStrategy`);
    }
    return change(preferred, p.isr);
  }
  if (electionType === ElectionType.UNCLEAN) {
    if (p.leader !== NO_LEADER) return refuse(ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.');
    const inIsr = p.replicas.find((r) => p.isr.includes(r) && unfenced(image, r));
    if (inIsr !== undefined) return change(inIsr, p.isr);
    const any = p.replicas.find((r) => unfenced(image, r));
    if (any === undefined) return refuse(ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, `No alive replica of ${topic}-${partition} to elect.`);
    return change(any, [any]);
  }
  return refuse(ErrorCode.INVALID_REQUEST, `unknown election type ${electionType}`);
}

/**
 * Kafka's AlterPartitionReassignments for one partition (KIP-455). `target` null cancels an ongoing
 * reassignment (back to the original replicas). Otherwise the replicas become target + those being removed,
 * with adding/removing recording the move; the controller completes it (completeReassignment) once every
 * adding replica has joined the ISR. A target with the same members only reorders the replicas.
 */
export function startReassignment(image: MetadataImage, topic: string, partition: number, target: readonly number[] | null): PartitionOpResult {
  const found = locate(image, topic, partition);
  if (!('t' in found)) return found;
  const { t, p } = found;
  const adding0 = p.addingReplicas ?? [];
  const original = p.replicas.filter((r) => !adding0.includes(r));
  const reassigned = (replicas: readonly number[], isr: readonly number[], leader: number, adding: readonly number[], removing: readonly number[]): PartitionOpResult => ({
    record: { type: 'PartitionReassigned', topicId: t.topicId, partition, partitionEpoch: p.partitionEpoch, replicas, isr, leader, adding, removing },
  });
  if (target === null) {
    if (adding0.length === 0 && (p.removingReplicas ?? []).length === 0) return refuse(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `No ongoing reassignment for ${topic}-${partition}.`);
    const isr = p.isr.filter((r) => original.includes(r));
    const leader = original.includes(p.leader) ? p.leader : (original.find((r) => isr.includes(r) && unfenced(image, r)) ?? NO_LEADER);
    return reassigned(original, isr.length > 0 ? isr : [original[0] as number], leader, [], []);
  }
  if (target.length === 0 || new Set(target).size !== target.length) return refuse(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The replica list must be non-empty and without duplicates.');
  for (const r of target) if (!image.brokers.has(r)) return refuse(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unknown broker ${r} in the replica assignment.`);
  const adding = target.filter((r) => !original.includes(r));
  const removing = original.filter((r) => !target.includes(r));
  if (adding.length === 0 && removing.length === 0) {
    // Same members: a reorder (the preferred leader changes), nothing to copy.
    return reassigned([...target], p.isr.filter((r) => target.includes(r)), p.leader, [], []);
  }
  const replicas = [...target, ...removing];
  return reassigned(replicas, p.isr.filter((r) => replicas.includes(r)), p.leader, adding, removing);
}

/**
 * Completes a reassignment whose adding replicas have all joined the ISR: the replicas become the target, the
 * removed ones leave the ISR, and a leader being removed hands over to the first alive target replica in the ISR.
 */
export function completeReassignment(image: MetadataImage, t: TopicState, p: PartitionState): MetadataRecord | null {
  const adding = p.addingReplicas ?? [];
  const removing = p.removingReplicas ?? [];
  if (adding.length === 0 && removing.length === 0) return null;
  if (!adding.every((r) => p.isr.includes(r))) return null;
  const target = p.replicas.filter((r) => !removing.includes(r));
  const isr = p.isr.filter((r) => target.includes(r));
  if (isr.length === 0) return null;
  const leader = target.includes(p.leader) ? p.leader : (target.find((r) => isr.includes(r) && unfenced(image, r)) ?? NO_LEADER);
  return { type: 'PartitionReassigned', topicId: t.topicId, partition: p.partition, partitionEpoch: p.partitionEpoch, replicas: target, isr, leader, adding: [], removing: [] };
}

/** Every partition's completion record that is due now. */
export function dueReassignmentCompletions(image: MetadataImage): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const t of image.topics.values()) {
    for (const p of t.partitions) {
      const r = completeReassignment(image, t, p);
      if (r !== null) out.push(r);
    }
  }
  return out;
}

/**
 * Kafka's auto leader rebalance: preferred elections for the partitions whose preferred replica is alive, in the
 * ISR and not leading, on brokers whose share of such partitions exceeds `imbalancePercent` of what they prefer.
 */
export function preferredElectionsDue(image: MetadataImage, imbalancePercent: number): MetadataRecord[] {
  const preferredCount = new Map<number, number>();
  const notLeading = new Map<number, { t: TopicState; p: PartitionState }[]>();
  for (const t of image.topics.values()) {
    for (const p of t.partitions) {
      const preferred = p.replicas[0] as number;
      preferredCount.set(preferred, (preferredCount.get(preferred) ?? 0) + 1);
      if (p.leader !== preferred && p.isr.includes(preferred) && unfenced(image, preferred)) {
        const list = notLeading.get(preferred) ?? [];
        list.push({ t, p });
        notLeading.set(preferred, list);
      }
    }
  }
  const out: MetadataRecord[] = [];
  for (const [broker, list] of notLeading) {
    const ratio = (100 * list.length) / (preferredCount.get(broker) ?? 1);
    if (ratio <= imbalancePercent) continue;
    for (const { t, p } of list) out.push({ type: 'PartitionChanged', topicId: t.topicId, partition: p.partition, partitionEpoch: p.partitionEpoch, leader: broker, isr: p.isr });
  }
  return out;
}
