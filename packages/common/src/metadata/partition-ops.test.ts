import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../error-codes.js';
import { EMPTY_IMAGE, applyBatch, type MetadataImage } from './metadata-image.js';
import { ElectionType, completeReassignment, dueReassignmentCompletions, electLeader, preferredElectionsDue, startReassignment, type PartitionOpResult } from './partition-ops.js';
import type { MetadataRecord } from './records.js';

const reg = (nodeId: number): MetadataRecord => ({ type: 'BrokerRegistered', nodeId, host: 'h', port: nodeId, rack: null, incarnationId: `i${nodeId}`, endpoints: [] });

function cluster(): MetadataImage {
  let img = applyBatch(EMPTY_IMAGE, 1, [reg(1), reg(2), reg(3), reg(4)]);
  img = applyBatch(img, 2, [1, 2, 3, 4].map((n) => ({ type: 'BrokerUnfenced' as const, nodeId: n, brokerEpoch: 1 })));
  return applyBatch(img, 3, [{ type: 'TopicCreated', name: 't', topicId: 'T', partitionCount: 2, configs: {}, partitions: [{ partition: 0, replicas: [1, 2, 3] }, { partition: 1, replicas: [2, 3, 1] }] }]);
}

function commit(img: MetadataImage, r: PartitionOpResult): MetadataImage {
  if (!('record' in r)) throw new Error(`refused: ${r.errorCode} ${r.errorMessage}`);
  return applyBatch(img, img.appliedIndex + 1, [r.record]);
}
const code = (r: PartitionOpResult): number => ('errorCode' in r ? r.errorCode : 0);
const p0 = (img: MetadataImage) => img.topics.get('t')!.partitions[0]!;

describe('electLeader', () => {
  it('preferred: not needed when the preferred leads; moves leadership back when it is in the ISR and alive', () => {
    let img = cluster();
    expect(code(electLeader(img, 't', 0, ElectionType.PREFERRED))).toBe(ErrorCode.ELECTION_NOT_NEEDED);
    img = applyBatch(img, 10, [{ type: 'PartitionChanged', topicId: 'T', partition: 0, partitionEpoch: 0, leader: 2, isr: [1, 2, 3] }]);
    img = commit(img, electLeader(img, 't', 0, ElectionType.PREFERRED));
    expect(p0(img)).toMatchObject({ leader: 1, leaderEpoch: 2 });
    img = applyBatch(img, 20, [{ type: 'PartitionChanged', topicId: 'T', partition: 0, partitionEpoch: 2, leader: 2, isr: [2, 3] }]);
    expect(code(electLeader(img, 't', 0, ElectionType.PREFERRED))).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
    expect(code(electLeader(img, 'nope', 0, ElectionType.PREFERRED))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('unclean: only for a leaderless partition; prefers an alive ISR member, else any alive replica with a reset ISR', () => {
    let img = cluster();
    expect(code(electLeader(img, 't', 0, ElectionType.UNCLEAN))).toBe(ErrorCode.ELECTION_NOT_NEEDED);
    img = applyBatch(img, 10, [{ type: 'BrokerFenced', nodeId: 1, brokerEpoch: 1 }, { type: 'PartitionChanged', topicId: 'T', partition: 0, partitionEpoch: 0, leader: -1, isr: [1] }]);
    img = commit(img, electLeader(img, 't', 0, ElectionType.UNCLEAN));
    expect(p0(img)).toMatchObject({ leader: 2, isr: [2] });
  });
});

describe('reassignment', () => {
  it('starts with adding/removing, completes once the adding replica is in the ISR, and hands leadership over', () => {
    let img = cluster();
    img = commit(img, startReassignment(img, 't', 0, [4, 2, 3]));
    expect(p0(img)).toMatchObject({ replicas: [4, 2, 3, 1], addingReplicas: [4], removingReplicas: [1], leader: 1, isr: [1, 2, 3] });
    expect(completeReassignment(img, img.topics.get('t')!, p0(img))).toBeNull(); // 4 not in the ISR yet
    expect(dueReassignmentCompletions(img)).toEqual([]);
    // The leader adds the caught-up follower to the ISR (AlterPartition).
    img = applyBatch(img, 30, [{ type: 'PartitionChanged', topicId: 'T', partition: 0, partitionEpoch: p0(img).partitionEpoch, leader: 1, isr: [1, 2, 3, 4] }]);
    const [done] = dueReassignmentCompletions(img);
    img = applyBatch(img, 31, [done!]);
    expect(p0(img)).toMatchObject({ replicas: [4, 2, 3], isr: [2, 3, 4], leader: 4 });
    expect(p0(img).addingReplicas).toBeUndefined();
  });

  it('cancel restores the original replicas; a same-members target only reorders; bad targets are refused', () => {
    let img = cluster();
    expect(code(startReassignment(img, 't', 0, null))).toBe(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    img = commit(img, startReassignment(img, 't', 0, [4, 2, 3]));
    img = commit(img, startReassignment(img, 't', 0, null));
    // Kafka's revert: the replicas minus those being added, in their current order.
    expect(p0(img)).toMatchObject({ replicas: [2, 3, 1], leader: 1 });
    expect(p0(img).addingReplicas).toBeUndefined();
    img = commit(img, startReassignment(img, 't', 0, [1, 2, 3]));
    expect(p0(img)).toMatchObject({ replicas: [1, 2, 3], leader: 1 });
    expect(code(startReassignment(img, 't', 0, [1, 1]))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(code(startReassignment(img, 't', 0, [9]))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  });
});

describe('preferredElectionsDue', () => {
  it('moves leadership back only past the imbalance threshold', () => {
    let img = cluster();
    expect(preferredElectionsDue(img, 10)).toEqual([]);
    // Broker 1 prefers one partition and leads none: 100% imbalance.
    img = applyBatch(img, 10, [{ type: 'PartitionChanged', topicId: 'T', partition: 0, partitionEpoch: 0, leader: 2, isr: [1, 2, 3] }]);
    const due = preferredElectionsDue(img, 10);
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({ partition: 0, leader: 1 });
    expect(preferredElectionsDue(img, 100)).toEqual([]);
  });
});
