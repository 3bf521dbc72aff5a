import { assert } from '@fluxo/common';
import { compareTopicPartitions, tpKey, type TopicPartition } from '../topic-partition.js';
import { compareMembers, type GroupAssignment, type GroupAssignmentInput, type MemberSubscription } from './assignor.js';

/** Who owned each partition before this rebalance, after dropping claims that are no longer valid. */
export interface PreviousOwnership {
  /** tpKey -> memberId of the single valid previous owner. */
  owners: Map<string, string>;
  /** tpKey -> every member that claims the partition (more than one only after a fault). */
  claimants: Map<string, string[]>;
}

/**
 * Valid previous owners: the member must still subscribe to the topic and the partition must exist. When two
 * members claim a partition, the one from the newer generation wins; a tie leaves it without owner.
 */
export function previousOwnership(input: GroupAssignmentInput): PreviousOwnership {
  const owners = new Map<string, string>();
  const claimants = new Map<string, string[]>();
  const bestGeneration = new Map<string, number>();
  const tied = new Set<string>();
  for (const m of input.members) {
    const subscribed = new Set(m.topics);
    for (const tp of m.ownedPartitions) {
      const count = input.partitionsPerTopic.get(tp.topic);
      const key = tpKey(tp.topic, tp.partition);
      let list = claimants.get(key);
      if (!list) claimants.set(key, (list = []));
      list.push(m.memberId);
      if (!subscribed.has(tp.topic) || count === undefined || tp.partition < 0 || tp.partition >= count) continue;
      const best = bestGeneration.get(key);
      if (best === undefined || m.generationId > best) {
        bestGeneration.set(key, m.generationId);
        owners.set(key, m.memberId);
        tied.delete(key);
      } else if (m.generationId === best) {
        tied.add(key);
      }
    }
  }
  for (const key of tied) owners.delete(key);
  return { owners, claimants };
}

/**
 * The sticky assignment (Kafka's AbstractStickyAssignor goals, in order): (1) balanced — no member could take
 * a partition from a member that has at least two more, among partitions it subscribes to; (2) sticky — as
 * few partitions as possible change owner. Valid owned partitions are kept, unowned ones go to the least
 * loaded subscriber, then single moves from the most to a least loaded eligible member run until balanced.
 * Every step breaks ties by member order and partition order, so every leader computes the same result.
 */
export function stickyAssign(input: GroupAssignmentInput, ownership: PreviousOwnership = previousOwnership(input)): GroupAssignment {
  const members: MemberSubscription[] = [...input.members].sort(compareMembers);
  const index = new Map(members.map((m, i) => [m.memberId, i]));
  const subscribers = new Map<string, number[]>();
  members.forEach((m, i) => {
    for (const topic of new Set(m.topics)) {
      if (!input.partitionsPerTopic.has(topic)) continue;
      let list = subscribers.get(topic);
      if (!list) subscribers.set(topic, (list = []));
      list.push(i);
    }
  });
  /** Per member: tpKey -> partition, kept sorted lazily when choosing what to move. */
  const held: Map<string, TopicPartition>[] = members.map(() => new Map());
  const all: TopicPartition[] = [];
  for (const topic of [...subscribers.keys()].sort()) {
    const count = input.partitionsPerTopic.get(topic)!;
    for (let partition = 0; partition < count; partition++) all.push({ topic, partition });
  }
  const unassigned: TopicPartition[] = [];
  for (const tp of all) {
    const owner = ownership.owners.get(tpKey(tp.topic, tp.partition));
    const i = owner === undefined ? undefined : index.get(owner);
    if (i === undefined) unassigned.push(tp);
    else held[i]!.set(tpKey(tp.topic, tp.partition), tp);
  }
  const leastLoaded = (candidates: readonly number[], below: number): number => {
    let best = -1;
    for (const c of candidates) {
      const size = held[c]!.size;
      if (size < below && (best < 0 || size < held[best]!.size)) best = c;
    }
    return best;
  };
  for (const tp of unassigned) {
    const i = leastLoaded(subscribers.get(tp.topic)!, Number.POSITIVE_INFINITY);
    assert(i >= 0, `no subscriber for ${tp.topic}`);
    held[i]!.set(tpKey(tp.topic, tp.partition), tp);
  }
  // Each move lowers the sum of squared loads, so this ends; the bound guards against a bug.
  const maxMoves = all.length * Math.max(1, members.length);
  for (let moves = 0; ; moves++) {
    assert(moves <= maxMoves, 'sticky assignor did not converge');
    if (!moveOne(members, held, subscribers, leastLoaded)) break;
  }
  const out: GroupAssignment = new Map();
  members.forEach((m, i) => out.set(m.memberId, [...held[i]!.values()].sort(compareTopicPartitions)));
  return out;
}

/** Moves one partition from the most loaded member that has a movable one; false when balanced. */
function moveOne(
  members: readonly MemberSubscription[],
  held: Map<string, TopicPartition>[],
  subscribers: ReadonlyMap<string, number[]>,
  leastLoaded: (candidates: readonly number[], below: number) => number,
): boolean {
  const order = members.map((_, i) => i).sort((a, b) => held[b]!.size - held[a]!.size || a - b);
  for (const from of order) {
    const size = held[from]!.size;
    if (size < 2) return false;
    // The highest partitions move first, so low partition numbers stay where they are.
    const partitions = [...held[from]!.values()].sort(compareTopicPartitions).reverse();
    for (const tp of partitions) {
      const to = leastLoaded(subscribers.get(tp.topic)!, size - 1);
      if (to < 0) continue;
      const key = tpKey(tp.topic, tp.partition);
      held[from]!.delete(key);
      held[to]!.set(key, tp);
      return true;
    }
  }
  return false;
}
