import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import type { PartitionAssignor } from './assignor.js';
import { CooperativeStickyAssignor } from './cooperative-sticky.js';
import { RangeAssignor } from './range.js';
import { RoundRobinAssignor } from './roundrobin.js';

export * from './assignor.js';
export { RangeAssignor } from './range.js';
export { RoundRobinAssignor } from './roundrobin.js';
export { CooperativeStickyAssignor } from './cooperative-sticky.js';
export { stickyAssign, previousOwnership } from './sticky.js';

/** Kafka's partition.assignment.strategy names (the JoinGroup protocol names Java and librdkafka use). */
export type AssignorName = 'range' | 'roundrobin' | 'cooperative-sticky';

export function resolveAssignor(assignor: AssignorName | PartitionAssignor): PartitionAssignor {
  if (typeof assignor !== 'string') return assignor;
  switch (assignor) {
    case 'range':
      return new RangeAssignor();
    case 'roundrobin':
      return new RoundRobinAssignor();
    case 'cooperative-sticky':
      return new CooperativeStickyAssignor();
    default:
      throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, `unknown partition assignor "${String(assignor)}" (known: range, roundrobin, cooperative-sticky)`);
  }
}
