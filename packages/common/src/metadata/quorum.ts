/** The metadata quorum as Kafka's DescribeQuorum reports it (kafka-metadata-quorum.sh describe --status). */
export interface QuorumInfo {
  /** -1 when no leader is known. */
  readonly leaderId: number;
  /** Raft term (Kafka: leader epoch of the metadata log). */
  readonly leaderEpoch: number;
  /** Commit index of the metadata log (Kafka: high watermark). */
  readonly highWatermark: number;
  readonly voters: readonly QuorumReplicaState[];
}

export interface QuorumReplicaState {
  readonly nodeId: number;
  /** Last log index the leader knows the replica has (-1: unknown). */
  readonly logEndOffset: number;
  /** Entries behind the leader's log end (-1: unknown). */
  readonly lagEntries: number;
  /** Milliseconds since the leader last heard from it (-1: never; 0 for the leader itself). */
  readonly lastContactMsAgo: number;
}

/** Self registration of a broker: its id, rack and listeners (the first endpoint is the client listener). */
export interface BrokerRegistration {
  readonly nodeId: number;
  readonly rack: string | null;
  readonly endpoints: readonly { readonly listener: string; readonly host: string; readonly port: number }[];
}
