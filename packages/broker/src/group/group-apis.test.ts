import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@fluxo/common';
import {
  ApiKey,
  encodeSubscriptionBytes,
  type ApiVersionsResponse,
  type DescribeGroupsResponse,
  type FindCoordinatorResponse,
  type HeartbeatResponse,
  type JoinGroupResponse,
  type LeaveGroupResponse,
  type ListGroupsResponse,
  type MetadataResponse,
  type OffsetCommitResponse,
  type OffsetDeleteResponse,
  type OffsetFetchResponse,
  type SyncGroupResponse,
} from '@fluxo/protocol';
import { RawClient, startTestNode, type TestNode } from '../testing/raw-client.js';
import { createTopic } from '../testing/requests.js';
import { MAX_MEMBER_METADATA_BYTES } from './group-config.js';

const OFFSETS_PARTITIONS = 7;

describe('group APIs on the wire', () => {
  let node: TestNode;
  let c: RawClient;
  beforeAll(async () => {
    node = await startTestNode({ set: { 'group.initial.rebalance.delay.ms': '100', 'offsets.topic.num.partitions': String(OFFSETS_PARTITIONS) } });
    c = await RawClient.connect(node.port);
    await createTopic(c, 'events', 3);
  });
  afterAll(async () => {
    c.close();
    await node.cleanup();
  });

  it('advertises the group API versions the clients use', async () => {
    const res = await c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 2, {});
    const range = (key: number): [number, number] | undefined => {
      const k = res.apiKeys.find((a) => a.apiKey === key);
      return k ? [k.minVersion, k.maxVersion] : undefined;
    };
    expect(range(ApiKey.FindCoordinator)).toEqual([0, 4]);
    expect(range(ApiKey.JoinGroup)).toEqual([0, 7]);
    expect(range(ApiKey.SyncGroup)).toEqual([0, 5]);
    expect(range(ApiKey.Heartbeat)).toEqual([0, 4]);
    expect(range(ApiKey.LeaveGroup)).toEqual([0, 4]);
    expect(range(ApiKey.OffsetCommit)).toEqual([2, 8]);
    expect(range(ApiKey.OffsetFetch)).toEqual([1, 7]);
    expect(range(ApiKey.DescribeGroups)).toEqual([0, 5]);
    expect(range(ApiKey.ListGroups)).toEqual([0, 4]);
    expect(range(ApiKey.DeleteGroups)).toEqual([0, 2]);
    expect(range(ApiKey.OffsetDelete)).toEqual([0, 0]);
  });

  it('FindCoordinator creates the compacted internal topic and names this node (v0, v3, v4 batch)', async () => {
    const v0 = await c.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 0, { key: 'g' });
    expect(v0).toMatchObject({ errorCode: 0, nodeId: 1, host: '127.0.0.1', port: node.port });
    const txn = await c.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 3, { key: 'tx', keyType: 1 });
    expect(txn).toMatchObject({ errorCode: 0, nodeId: 1 });
    const bad = await c.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 3, { key: 'x', keyType: 7 });
    expect(bad).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, nodeId: -1 });
    const v4 = await c.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect(v4.coordinators!.map((x) => [x.key, x.errorCode, x.nodeId])).toEqual([
      ['a', 0, 1],
      ['b', 0, 1],
    ]);
    const meta = await c.request<MetadataResponse>(ApiKey.Metadata, 9, { topics: [{ name: '__consumer_offsets' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(meta.topics[0]).toMatchObject({ name: '__consumer_offsets', errorCode: 0, isInternal: true });
    expect(meta.topics[0]!.partitions).toHaveLength(OFFSETS_PARTITIONS);
  });

  it('serves a kafka-python style member (JoinGroup v2, SyncGroup v1, Heartbeat v1, OffsetCommit v2, OffsetFetch v1, LeaveGroup v1)', async () => {
    const metadata = encodeSubscriptionBytes(0, { topics: ['events'], userData: Buffer.alloc(0) });
    const join = await c.request<JoinGroupResponse>(ApiKey.JoinGroup, 2, {
      groupId: 'py-group',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 30_000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata }],
    });
    expect(join).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'range' });
    expect(join.memberId).toMatch(/^raw-test-/);
    expect(join.leader).toBe(join.memberId);
    expect(join.members).toHaveLength(1);
    expect(Buffer.from(join.members[0]!.metadata).equals(metadata)).toBe(true);
    const sync = await c.request<SyncGroupResponse>(ApiKey.SyncGroup, 1, {
      groupId: 'py-group',
      generationId: 1,
      memberId: join.memberId,
      assignments: [{ memberId: join.memberId, assignment: Buffer.from('assigned') }],
    });
    expect(sync.errorCode).toBe(0);
    expect(Buffer.from(sync.assignment).toString()).toBe('assigned');
    expect((await c.request<HeartbeatResponse>(ApiKey.Heartbeat, 1, { groupId: 'py-group', generationId: 1, memberId: join.memberId })).errorCode).toBe(0);
    expect((await c.request<HeartbeatResponse>(ApiKey.Heartbeat, 1, { groupId: 'py-group', generationId: 7, memberId: join.memberId })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);

    const commit = await c.request<OffsetCommitResponse>(ApiKey.OffsetCommit, 2, {
      groupId: 'py-group',
      generationIdOrMemberEpoch: 1,
      memberId: join.memberId,
      retentionTimeMs: -1,
      topics: [
        { name: 'events', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: '' }, { partitionIndex: 9, committedOffset: 1, committedMetadata: '' }] },
        { name: 'nope', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] },
      ],
    });
    expect(commit.topics.map((t) => t.partitions.map((p) => p.errorCode))).toEqual([[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    const fetched = await c.request<OffsetFetchResponse>(ApiKey.OffsetFetch, 1, { groupId: 'py-group', topics: [{ name: 'events', partitionIndexes: [0, 1] }] });
    expect(fetched.topics![0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode])).toEqual([
      [0, 5, 0],
      [1, -1, 0],
    ]);
    const described = await c.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, 5, { groups: ['py-group', 'nobody'], includeAuthorizedOperations: true });
    expect(described.groups[0]).toMatchObject({ errorCode: 0, groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    expect(described.groups[0]!.members[0]).toMatchObject({ memberId: join.memberId, clientId: 'raw-test', clientHost: '/127.0.0.1' });
    expect(described.groups[1]).toMatchObject({ errorCode: 0, groupState: 'Dead', members: [] });
    const invalid = await c.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, 0, { groups: [''] });
    expect(invalid.groups[0]!.errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    const listed = await c.request<ListGroupsResponse>(ApiKey.ListGroups, 4, { statesFilter: ['Stable'] });
    expect(listed.groups.map((g) => [g.groupId, g.protocolType, g.groupState])).toEqual([['py-group', 'consumer', 'Stable']]);
    const offsetDelete = await c.request<OffsetDeleteResponse>(ApiKey.OffsetDelete, 0, { groupId: 'py-group', topics: [{ name: 'events', partitions: [{ partitionIndex: 0 }] }] });
    expect(offsetDelete.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);

    const leave = await c.request<LeaveGroupResponse>(ApiKey.LeaveGroup, 1, { groupId: 'py-group', memberId: join.memberId });
    expect(leave.errorCode).toBe(0);
    const again = await c.request<LeaveGroupResponse>(ApiKey.LeaveGroup, 1, { groupId: 'py-group', memberId: join.memberId });
    expect(again.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('answers bad JoinGroups with Kafka errors and keeps the connection', async () => {
    const join = (protocolType: string, metadata: Buffer, version = 7): Promise<JoinGroupResponse> =>
      c.request<JoinGroupResponse>(ApiKey.JoinGroup, version, {
        groupId: 'bad-group',
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: '',
        groupInstanceId: null,
        protocolType,
        protocols: [{ name: 'range', metadata }],
      });
    expect((await join('consumer', Buffer.alloc(MAX_MEMBER_METADATA_BYTES + 1))).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await join('', Buffer.from('x'))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const required = await join('consumer', Buffer.from('x'));
    expect(required.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(required.memberId).not.toBe('');
    const sync = await c.request<SyncGroupResponse>(ApiKey.SyncGroup, 5, { groupId: 'bad-group', generationId: 3, memberId: 'stranger', groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    expect(sync.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const fetched = await c.request<OffsetFetchResponse>(ApiKey.OffsetFetch, 7, { groupId: 'bad-group', topics: null, requireStable: true });
    expect(fetched).toMatchObject({ errorCode: 0, topics: [] });
  });
});
