import { compareMembers, emptyAssignment, type GroupAssignment, type GroupAssignmentInput, type PartitionAssignor } from './assignor.js';

/**
 * Kafka's RangeAssignor: per topic, the sorted subscribers get consecutive ranges of partitions; the first
 * (partitions % subscribers) of them get one extra. Co-partitioned topics land on the same member.
 */
export class RangeAssignor implements PartitionAssignor {
  readonly name = 'range';
  readonly supportedProtocols = ['eager'] as const;

  assign(input: GroupAssignmentInput): GroupAssignment {
    const assignment = emptyAssignment(input.members);
    const sorted = [...input.members].sort(compareMembers);
    const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort();
    for (const topic of topics) {
      const count = input.partitionsPerTopic.get(topic);
      if (count === undefined) continue;
      const subscribers = sorted.filter((m) => m.topics.includes(topic));
      const perMember = Math.floor(count / subscribers.length);
      const extra = count % subscribers.length;
      subscribers.forEach((m, i) => {
        const start = perMember * i + Math.min(i, extra);
        const length = perMember + (i < extra ? 1 : 0);
        const list = assignment.get(m.memberId)!;
        for (let p = start; p < start + length; p++) list.push({ topic, partition: p });
      });
    }
    return assignment;
  }
}
