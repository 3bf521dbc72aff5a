import type { BrokerRegistration, MetadataImage, MetadataRecord, PartitionOutcome, QuorumInfo } from '@fluxo/common';

export type MetadataListener = (records: readonly MetadataRecord[], image: MetadataImage, previous: MetadataImage) => void;

/**
 * Durable cluster metadata: topics (id, partitions, config overrides), the cluster id and registered
 * nodes. Two implementations speak the shared record schema of @fluxo/common: LevelDB on a single node that
 * is its own controller, and (cluster mode, wired by the CLI) a copy that follows the controller quorum's
 * metadata log and forwards commits to the active controller. Callers never mutate state directly: they
 * commit records.
 */
export interface MetadataStore {
  /** Loads (or on first start creates) the state. `clusterId`: configured cluster.id, checked against the stored one. */
  open(opts: { clusterId: string | null }): Promise<void>;
  close(): Promise<void>;
  /** The cluster id (stored beside the image, like Kafka's meta.properties). */
  clusterId(): string;
  /** Current image; replaced (never mutated) by each commit. */
  image(): MetadataImage;
  /**
   * Makes the records durable, then applies them atomically (all or none) and notifies listeners
   * synchronously before resolving. Rejects with KafkaProtocolError when a record conflicts with the state
   * (TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_ID, INVALID_PARTITIONS, ...); commits are applied one at a time in order.
   */
  commit(records: readonly MetadataRecord[]): Promise<MetadataImage>;
  /** Called after every applied commit; returns an unsubscribe function. */
  subscribe(listener: MetadataListener): () => void;
  /**
   * Registers this broker (new incarnation, new broker epoch) and keeps it registered until close();
   * resolves with the broker epoch once the broker is unfenced (it may then lead partitions).
   */
  registerBroker(self: BrokerRegistration): Promise<number>;
  /** Controlled shutdown (Kafka's): asks to be fenced so partition leadership moves away; bounded in time. */
  controlledShutdown(): Promise<void>;
  /** The metadata quorum (DescribeQuorum). */
  describeQuorum(): Promise<QuorumInfo>;
  /** Kafka's ElectLeaders (0 preferred, 1 unclean); null = every partition. Decided by the controller. */
  electLeaders(electionType: number, partitions: readonly { topic: string; partition: number }[] | null): Promise<PartitionOutcome[]>;
  /** Kafka's AlterPartitionReassignments; replicas null cancels. Decided by the controller. */
  alterReassignments(targets: readonly { topic: string; partition: number; replicas: readonly number[] | null }[]): Promise<PartitionOutcome[]>;
}
