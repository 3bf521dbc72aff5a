import { assert, randomUuid, type BrokerEndpoint, type PartitionAssignment } from '@fluxo/common';
import type { MetadataStore } from './metadata-store.js';

/**
 * Single-node mode: the node is its own controller. It registers itself (new incarnation, new broker epoch,
 * fenced like any registration) and unfences at once, where a controller would unfence on the first
 * heartbeat. Returns the broker epoch.
 */
export async function registerLocalBroker(
  store: Pick<MetadataStore, 'commit'>,
  self: { nodeId: number; host: string; port: number; rack: string | null; endpoints: readonly BrokerEndpoint[] },
): Promise<number> {
  const registered = await store.commit([
    {
      type: 'BrokerRegistered',
      nodeId: self.nodeId,
      host: self.host,
      port: self.port,
      rack: self.rack,
      incarnationId: randomUuid(),
      endpoints: self.endpoints.map((e) => ({ ...e })),
    },
  ]);
  const broker = registered.brokers.get(self.nodeId);
  assert(broker !== undefined, `node ${self.nodeId} missing right after its registration`);
  await store.commit([{ type: 'BrokerUnfenced', nodeId: self.nodeId, brokerEpoch: broker.brokerEpoch }]);
  return broker.brokerEpoch;
}

/** Partitions [from, to) placed on this node alone: it is their only replica and (leader epoch 0) leader. */
export function localAssignments(nodeId: number, from: number, to: number): PartitionAssignment[] {
  return Array.from({ length: to - from }, (_, i) => ({ partition: from + i, replicas: [nodeId] }));
}
