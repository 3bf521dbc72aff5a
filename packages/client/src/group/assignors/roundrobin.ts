import { compareMembers, emptyAssignment, type GroupAssignment, type GroupAssignmentInput, type PartitionAssignor } from './assignor.js';

/**
 * Kafka's RoundRobinAssignor: every partition of every subscribed topic, sorted by (topic, partition), dealt
 * in turn to the sorted members, skipping members not subscribed to the partition's topic.
 */
export class RoundRobinAssignor implements PartitionAssignor {
  readonly name = 'roundrobin';
  readonly supportedProtocols = ['eager'] as const;

  assign(input: GroupAssignmentInput): GroupAssignment {
    const assignment = emptyAssignment(input.members);
    const sorted = [...input.members].sort(compareMembers);
    if (sorted.length === 0) return assignment;
    const subscriptions = sorted.map((m) => new Set(m.topics));
    const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort();
    let next = 0;
    for (const topic of topics) {
      const count = input.partitionsPerTopic.get(topic);
      if (count === undefined) continue;
      for (let partition = 0; partition < count; partition++) {
        // Some member subscribes to the topic (it came from a subscription), so this ends.
        while (!subscriptions[next]!.has(topic)) next = (next + 1) % sorted.length;
        assignment.get(sorted[next]!.memberId)!.push({ topic, partition });
        next = (next + 1) % sorted.length;
      }
    }
    return assignment;
  }
}
