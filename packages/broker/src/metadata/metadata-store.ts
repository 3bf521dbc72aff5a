import type { MetadataImage, MetadataRecord } from '@fluxo/common';

export type MetadataListener = (records: readonly MetadataRecord[], image: MetadataImage, previous: MetadataImage) => void;

/**
 * Durable cluster metadata: topics (id, partitions, config overrides), the cluster id and registered
 * nodes. Today backed by LevelDB on the single node; the controller-quorum issue backs it with the
 * controller's Raft metadata log. Both speak the shared record schema of @fluxo/common. Callers never
 * mutate state directly: they commit records.
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
}
