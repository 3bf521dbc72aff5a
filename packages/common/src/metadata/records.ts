/**
 * The cluster-metadata record schema (KRaft's __cluster_metadata in spirit), one definition for every
 * writer and reader: the controller's Raft metadata log and the broker's single-node MetadataStore both
 * commit these records and fold them into a MetadataImage with applyBatch. A single node writes the same
 * records a controller would (itself as the only replica, leader and ISR member of every partition).
 */
export interface BrokerEndpoint {
  readonly listener: string;
  readonly host: string;
  readonly port: number;
}

/** A partition as created: replicas in preference order; the first is the preferred leader. */
export interface PartitionAssignment {
  readonly partition: number;
  readonly replicas: readonly number[];
}

export type MetadataRecord =
  /** Broker epoch = log index of this record (like KRaft: the offset of the registration record). Starts fenced. */
  | {
      readonly type: 'BrokerRegistered';
      readonly nodeId: number;
      readonly host: string;
      readonly port: number;
      readonly rack: string | null;
      readonly incarnationId: string;
      readonly endpoints: readonly BrokerEndpoint[];
    }
  | { readonly type: 'BrokerFenced'; readonly nodeId: number; readonly brokerEpoch: number }
  | { readonly type: 'BrokerUnfenced'; readonly nodeId: number; readonly brokerEpoch: number }
  | {
      readonly type: 'TopicCreated';
      readonly name: string;
      readonly topicId: string;
      readonly partitionCount: number;
      /** Topic-level overrides only (keys of TOPIC_CONFIG). */
      readonly configs: Readonly<Record<string, string>>;
      /** One per partition 0..partitionCount-1; ISR = replicas, leader = first replica, leader epoch 0. */
      readonly partitions: readonly PartitionAssignment[];
    }
  | { readonly type: 'PartitionsAdded'; readonly topicId: string; readonly partitionCount: number; readonly partitions: readonly PartitionAssignment[] }
  /** `null` removes the override. */
  | { readonly type: 'ConfigChanged'; readonly topicId: string; readonly changes: Readonly<Record<string, string | null>> }
  | { readonly type: 'TopicDeleted'; readonly topicId: string }
  /**
   * New leader (-1: none) and ISR of one partition. Applies only if the partition epoch is still
   * `partitionEpoch` (the state the controller decided on); bumps the leader epoch when the leader changes.
   */
  | {
      readonly type: 'PartitionChanged';
      readonly topicId: string;
      readonly partition: number;
      readonly partitionEpoch: number;
      readonly leader: number;
      readonly isr: readonly number[];
    }
  /**
   * A block of producer ids for idempotent producers (Kafka's ProducerIdsRecord, written on AllocateProducerIds):
   * broker `brokerId` owns [nextProducerId - PRODUCER_ID_BLOCK_SIZE, nextProducerId). The broker proposes it from
   * its copy of the image (next free id + one block); it applies only when it moves the next free id forward by
   * whole blocks, so a proposal computed from a stale copy is refused (and retried) instead of handing out ids twice.
   */
  | { readonly type: 'ProducerIdsAllocated'; readonly brokerId: number; readonly brokerEpoch: number; readonly nextProducerId: number }
  /**
   * A replica set change (Kafka's KIP-455 reassignment), written only by the controller. Starting one sets
   * replicas = target + the replicas being removed, with `adding`/`removing` naming the difference; completing
   * (every adding replica in the ISR) or cancelling sets the final replicas with empty adding/removing. Applies
   * only at `partitionEpoch`; bumps the leader epoch when the leader changes.
   */
  | {
      readonly type: 'PartitionReassigned';
      readonly topicId: string;
      readonly partition: number;
      readonly partitionEpoch: number;
      readonly replicas: readonly number[];
      readonly isr: readonly number[];
      readonly leader: number;
      readonly adding: readonly number[];
      readonly removing: readonly number[];
    };

/** Producer ids per ProducerIdsAllocated block (Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE). */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

export type MetadataRecordType = MetadataRecord['type'];

export const NO_LEADER = -1;

export interface BrokerState {
  readonly nodeId: number;
  readonly brokerEpoch: number;
  readonly incarnationId: string;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  readonly endpoints: readonly BrokerEndpoint[];
  readonly fenced: boolean;
}

export interface PartitionState {
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  /** Bumped by every change of this partition (leader, ISR or replicas). */
  readonly partitionEpoch: number;
  /** An ongoing reassignment (KIP-455): replicas being added / removed; absent or empty when none. */
  readonly addingReplicas?: readonly number[];
  readonly removingReplicas?: readonly number[];
}

export interface TopicState {
  readonly name: string;
  readonly topicId: string;
  readonly partitionCount: number;
  readonly configs: Readonly<Record<string, string>>;
  readonly partitions: readonly PartitionState[];
}
