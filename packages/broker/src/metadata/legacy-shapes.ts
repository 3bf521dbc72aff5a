import { ZERO_UUID, type BrokerState, type TopicState } from '@fluxo/common';

/**
 * Stores written before the broker adopted the shared metadata schema (@fluxo/common) kept a thinner image:
 * topics without partition states, brokers without epoch, incarnation and endpoints. On load such entries
 * become what the shared records produce on a single node; the store then rewrites them in that shape.
 */
interface LegacyTopic {
  readonly name: string;
  readonly topicId: string;
  readonly partitionCount: number;
  readonly configs: Readonly<Record<string, string>>;
}

interface LegacyBroker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export type StoredTopic = TopicState | LegacyTopic;
export type StoredBroker = BrokerState | LegacyBroker;

export function isLegacyTopic(t: StoredTopic): t is LegacyTopic {
  return !('partitions' in t);
}

export function isLegacyBroker(b: StoredBroker): b is LegacyBroker {
  return !('brokerEpoch' in b);
}

/** Every partition on this node, which leads it at leader epoch 0: what TopicCreated on a single node yields. */
export function upgradeTopic(t: LegacyTopic, nodeId: number): TopicState {
  const partitions = Array.from({ length: t.partitionCount }, (_, partition) => ({
    partition,
    replicas: [nodeId],
    isr: [nodeId],
    leader: nodeId,
    leaderEpoch: 0,
    partitionEpoch: 0,
  }));
  return { ...t, partitions };
}

/** Fenced at epoch 0 (before any commit): the node registers again, with a new epoch, when it starts. */
export function upgradeBroker(b: LegacyBroker): BrokerState {
  return { ...b, brokerEpoch: 0, incarnationId: ZERO_UUID, endpoints: [{ listener: 'PLAINTEXT', host: b.host, port: b.port }], fenced: true };
}
