import { tpKey } from '../topic-partition.js';
import type { GroupAssignment, GroupAssignmentInput, PartitionAssignor } from './assignor.js';
import { previousOwnership, stickyAssign } from './sticky.js';

/**
 * Kafka's CooperativeStickyAssignor: the sticky assignment, minus every partition that changes owner. The
 * previous owner sees it missing, revokes it (committing first) and rejoins; the follow-up rebalance hands
 * the now free partition to its new member. Partitions that stay put are never paused.
 */
export class CooperativeStickyAssignor implements PartitionAssignor {
  readonly name = 'cooperative-sticky';
  readonly supportedProtocols = ['cooperative', 'eager'] as const;

  assign(input: GroupAssignmentInput): GroupAssignment {
    const ownership = previousOwnership(input);
    const target = stickyAssign(input, ownership);
    for (const [memberId, partitions] of target) {
      target.set(
        memberId,
        partitions.filter((tp) => {
          // Held back while any other member still claims it (its owner must revoke it first).
          const claimants = ownership.claimants.get(tpKey(tp.topic, tp.partition));
          return claimants === undefined || claimants.every((c) => c === memberId);
        }),
      );
    }
    return target;
  }
}
