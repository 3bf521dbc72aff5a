/**
 * Metadata changes as records, the way KRaft's metadata log carries them. Every topic/partition/config change
 * goes through MetadataStore.commit as records; the later controller-quorum issue replicates the same records
 * through a Raft log instead of writing them to LevelDB directly.
 */
export type MetadataRecord =
  | { readonly type: 'BrokerRegistered'; readonly nodeId: number; readonly host: string; readonly port: number; readonly rack: string | null }
  | {
      readonly type: 'TopicCreated';
      readonly name: string;
      readonly topicId: string;
      readonly partitionCount: number;
      /** Topic-level overrides only (keys of TOPIC_CONFIG); broker defaults fill the rest. */
      readonly configs: Readonly<Record<string, string>>;
    }
  | { readonly type: 'PartitionsAdded'; readonly topicId: string; readonly partitionCount: number }
  /** `null` removes the override (back to the broker default). */
  | { readonly type: 'ConfigChanged'; readonly topicId: string; readonly changes: Readonly<Record<string, string | null>> }
  | { readonly type: 'TopicDeleted'; readonly topicId: string };

export interface TopicImage {
  readonly name: string;
  readonly topicId: string;
  readonly partitionCount: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface BrokerImage {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** The state all committed records add up to. Immutable: a commit swaps in a new image. */
export interface MetadataImage {
  readonly clusterId: string;
  readonly topics: ReadonlyMap<string, TopicImage>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  readonly brokers: ReadonlyMap<number, BrokerImage>;
}
