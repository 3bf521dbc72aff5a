import { ErrorCode, KafkaProtocolError, type QuorumReplicaState } from '@fluxo/common';
import { apis, type DescribeQuorumRequest, type DescribeQuorumResponse, type DescribeQuorumResponseReplicaState } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';

/** KRaft's metadata log: the one "topic partition" DescribeQuorum describes. */
const METADATA_TOPIC = '__cluster_metadata';

/**
 * DescribeQuorum v0-2 (kafka-metadata-quorum.sh describe --status/--replication): sent to any broker, which asks
 * the active controller. Offsets are Raft log indexes; the leader epoch is the Raft term.
 */
export const describeQuorumHandler = defineHandler<DescribeQuorumRequest, DescribeQuorumResponse>({
  codec: apis.DescribeQuorum,
  minVersion: 0,
  maxVersion: 2,
  exclusive: false,
  async handle(broker, _ctx, request) {
    let quorum;
    try {
      quorum = await broker.metadata.describeQuorum();
    } catch (err) {
      if (!(err instanceof KafkaProtocolError)) throw err;
      return { errorCode: err.code, errorMessage: err.message, topics: [], nodes: [] };
    }
    const now = broker.nowMs();
    const replica = (v: QuorumReplicaState): DescribeQuorumResponseReplicaState => {
      const lastFetch = v.lastContactMsAgo < 0 ? -1 : now - v.lastContactMsAgo;
      return { replicaId: v.nodeId, logEndOffset: v.logEndOffset, lastFetchTimestamp: lastFetch, lastCaughtUpTimestamp: v.lagEntries === 0 ? lastFetch : -1 };
    };
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: request.topics.map((t) => ({
        topicName: t.topicName,
        partitions: t.partitions.map((p) =>
          t.topicName === METADATA_TOPIC && p.partitionIndex === 0
            ? {
                partitionIndex: 0,
                errorCode: ErrorCode.NONE,
                errorMessage: null,
                leaderId: quorum.leaderId,
                leaderEpoch: quorum.leaderEpoch,
                highWatermark: quorum.highWatermark,
                currentVoters: quorum.voters.map(replica),
                observers: [],
              }
            : {
                partitionIndex: p.partitionIndex,
                errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                errorMessage: `only ${METADATA_TOPIC}-0 has a quorum`,
                leaderId: -1,
                leaderEpoch: -1,
                highWatermark: -1,
                currentVoters: [],
                observers: [],
              },
        ),
      })),
      nodes: [],
    };
  },
  errorResponse(_request, errorCode) {
    return { errorCode, errorMessage: null, topics: [], nodes: [] };
  },
});
