import { ErrorCode, NO_LEADER, type MetadataImage } from '@fluxo/common';

/** A coordinator as FindCoordinator names it, or why there is none. */
export type CoordinatorLocation =
  | { readonly found: true; readonly nodeId: number; readonly host: string; readonly port: number }
  | { readonly found: false; readonly errorCode: number; readonly message: string };

/** This broker as clients reach it (used when the image does not list it yet, e.g. during startup). */
export interface SelfAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/**
 * Kafka's FindCoordinator lookup: the coordinator of a key is the leader of partition `partition` of `topic`
 * (__consumer_offsets for groups), at its client endpoint (the first registered one: PLAINTEXT, as Metadata lists
 * brokers). COORDINATOR_NOT_AVAILABLE while the partition has no leader or the leader is not a live broker.
 */
export function locateCoordinator(image: MetadataImage, topic: string, partition: number, self: SelfAddress): CoordinatorLocation {
  const state = image.topics.get(topic)?.partitions[partition];
  if (state === undefined) return { found: false, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: `${topic}-${partition} does not exist` };
  if (state.leader === NO_LEADER) return { found: false, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: `${topic}-${partition} has no leader` };
  const broker = image.brokers.get(state.leader);
  if (state.leader === self.nodeId) {
    const endpoint = broker?.endpoints[0];
    return endpoint !== undefined ? { found: true, nodeId: self.nodeId, host: endpoint.host, port: endpoint.port } : { found: true, ...self };
  }
  if (broker === undefined || broker.fenced) {
    return { found: false, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: `the leader ${state.leader} of ${topic}-${partition} is not available` };
  }
  const endpoint = broker.endpoints[0] ?? { host: broker.host, port: broker.port };
  return { found: true, nodeId: broker.nodeId, host: endpoint.host, port: endpoint.port };
}
