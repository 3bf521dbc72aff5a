import type { BrokerContext } from '../broker-context.js';
import type { Partition } from '../cluster/partition.js';

/**
 * Kafka's RackAwareReplicaSelector as the leader applies it (KIP-392): for a consumer in rack `rackId`, an
 * in-sync replica in that rack which has the fetch offset (the one furthest ahead), unless the leader itself is
 * in that rack. Returns its broker id, or -1 when the leader should serve the fetch.
 */
export function preferredReadReplica(broker: BrokerContext, partition: Partition, rackId: string, fetchOffset: number): number {
  const brokers = broker.metadata.image().brokers;
  if (brokers.get(broker.nodeId)?.rack === rackId) return -1;
  let best = -1;
  let bestEnd = -1;
  for (const [id, end] of partition.followerLogEndOffsets()) {
    if (!partition.isr.includes(id) || end < fetchOffset || fetchOffset < partition.logStartOffset) continue;
    const b = brokers.get(id);
    if (b === undefined || b.fenced || b.rack !== rackId) continue;
    if (end > bestEnd) {
      best = id;
      bestEnd = end;
    }
  }
  return best;
}
