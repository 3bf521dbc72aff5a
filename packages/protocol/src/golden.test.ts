// Golden bytes: frames built by hand from the protocol spec, and message bodies encoded by kafka-python's
// own protocol classes (an independent implementation) decoded here and re-encoded byte for byte.
import { describe, expect, it } from 'vitest';
import { ApiKey } from './api-keys.js';
import { apis } from './apis.js';
import { decodeRequestFrame, decodeResponseFrameBody, encodeRequestFrame, encodeResponseFrame, encodeResponseFrameBuffers } from './frames.js';
import { apiVersionsResponseVersion, decodeRequestHeader, requestHeaderVersion, responseHeaderVersion } from './headers.js';
import type { ApiVersionsResponse, FetchResponse, MetadataResponse } from './messages/index.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';
import { Compression } from './compression/index.js';
import { encodeRecordBatch } from './record-batch/index.js';
import { decodeAssignmentBytes, decodeSubscriptionBytes, encodeAssignmentBytes, encodeSubscriptionBytes } from './consumer-protocol.js';
import { runPython } from './testing/python.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const str16 = (s: string): string => s.length.toString(16).padStart(4, '0') + Buffer.from(s).toString('hex');
const cstr = (s: string): string => (s.length + 1).toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');

describe('hand-built golden frames', () => {
  it('ApiVersions v3 request as librdkafka sends it (header v2, compact body)', () => {
    const body = cstr('librdkafka') + cstr('2.0.2') + '00';
    const afterSize = '0012 0003 00000001' + str16('rdkafka') + '00' + body;
    const frame = h(((afterSize.replace(/\s+/g, '').length / 2).toString(16).padStart(8, '0')) + afterSize);
    const built = encodeRequestFrame(
      { apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' },
      { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' },
    );
    expect(built.toString('hex')).toBe(frame.toString('hex'));
    const { header, body: decoded } = decodeRequestFrame(frame.subarray(4));
    expect(header).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
    expect(decoded).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
  });

  it('Metadata v1 request (header v1, classic body)', () => {
    const afterSize = '0003 0001 0000002a' + str16('kafka-python') + '00000002' + str16('t1') + str16('payments');
    const built = encodeRequestFrame(
      { apiKey: ApiKey.Metadata, apiVersion: 1, correlationId: 42, clientId: 'kafka-python' },
      { topics: [{ name: 't1' }, { name: 'payments' }] },
    );
    expect(built.subarray(4).toString('hex')).toBe(h(afterSize).toString('hex'));
    expect(built.readInt32BE(0)).toBe(built.length - 4);
    const nullTopics = encodeRequestFrame({ apiKey: 3, apiVersion: 1, correlationId: 1, clientId: null }, { topics: null });
    expect(nullTopics.subarray(4).toString('hex')).toBe('000300010000000' + '1ffff' + 'ffffffff');
  });

  it('ApiVersions response header is v0 even for flexible v3, body is compact', () => {
    expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0);
    expect(responseHeaderVersion(ApiKey.Metadata, 9)).toBe(1);
    expect(responseHeaderVersion(ApiKey.Metadata, 8)).toBe(0);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 2)).toBe(1);
    expect(requestHeaderVersion(999, 0)).toBe(1);
    const frame = encodeResponseFrame(ApiKey.ApiVersions, 3, 7, {
      errorCode: 0,
      apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 7 }],
      throttleTimeMs: 0,
    } satisfies ApiVersionsResponse);
    // size | corr | errorCode | compact array(1) [key min max tagged] | throttle | tagged(0)
    expect(frame.subarray(4).toString('hex')).toBe('00000007' + '0000' + '02' + '0000' + '0003' + '0007' + '00' + '00000000' + '00');
    const decoded = decodeResponseFrameBody<ApiVersionsResponse>(18, 3, frame.subarray(4));
    expect(decoded.apiKeys).toEqual([{ apiKey: 0, minVersion: 3, maxVersion: 7 }]);
  });

  it('unsupported ApiVersions versions are answered in v0', () => {
    expect(apiVersionsResponseVersion(5)).toBe(0);
    expect(apiVersionsResponseVersion(3)).toBe(3);
    // A future ApiVersions v5 request header still parses (v2: tagged fields after the client id).
    const r = new Reader(h('0012 0005 00000009' + str16('future') + '00' + 'ff'));
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 18, apiVersion: 5, correlationId: 9, clientId: 'future' });
    const v0 = encodeResponseFrame(18, 0, 9, { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }] });
    expect(v0.subarray(4).toString('hex')).toBe('00000009' + '0023' + '00000001' + '0012' + '0000' + '0003');
  });

  it('fetch response buffers reference the record bytes (no copy)', () => {
    const records = encodeRecordBatch({ compression: Compression.None, records: [{ key: null, value: Buffer.alloc(10_000, 1) }] });
    const body: FetchResponse = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [{ topic: 't', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 1, lastStableOffset: 1, logStartOffset: 0, abortedTransactions: null, records }] }],
    };
    for (const v of [4, 11, 12]) {
      const parts = encodeResponseFrameBuffers(ApiKey.Fetch, v, 3, body);
      expect(parts.some((p) => p === records)).toBe(true);
      const frame = Buffer.concat(parts);
      expect(frame.readInt32BE(0)).toBe(frame.length - 4);
      expect(frame.equals(encodeResponseFrame(ApiKey.Fetch, v, 3, body))).toBe(true);
      const back = decodeResponseFrameBody<FetchResponse>(ApiKey.Fetch, v, frame.subarray(4));
      expect(back.responses[0]!.partitions[0]!.records!.equals(records)).toBe(true);
    }
  });

  it('produce request decode shares memory with the frame (zero-copy records)', () => {
    const records = encodeRecordBatch({ compression: Compression.None, records: [{ key: null, value: Buffer.from('x') }] });
    const frame = encodeRequestFrame({ apiKey: 0, apiVersion: 9, correlationId: 1, clientId: 'c' }, {
      transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
    });
    const { body } = decodeRequestFrame(frame.subarray(4)) as { body: { topicData: { partitionData: { records: Buffer }[] }[] } };
    const got = body.topicData[0]!.partitionData[0]!.records;
    expect(got.equals(records)).toBe(true);
    expect(got.buffer).toBe(frame.buffer);
  });
});

// kafka-python vectors: [api name, 'req'|'res', version, python constructor expression]
const PY = String.raw`
import json
from kafka.protocol.metadata import MetadataRequest, MetadataResponse
from kafka.protocol.produce import ProduceRequest, ProduceResponse
from kafka.protocol.fetch import FetchRequest, FetchResponse
from kafka.protocol.offset import OffsetRequest, OffsetResponse
from kafka.protocol.group import JoinGroupRequest, JoinGroupResponse, SyncGroupRequest, HeartbeatRequest, LeaveGroupRequest
from kafka.protocol.commit import OffsetCommitRequest, OffsetFetchRequest, OffsetFetchResponse, GroupCoordinatorRequest, GroupCoordinatorResponse
from kafka.protocol.admin import ApiVersionRequest, ApiVersionResponse, CreateTopicsRequest, DescribeGroupsResponse
batch = bytes.fromhex(BATCH)
vectors = {
  'metadata-req-0': MetadataRequest[0](['t1', 'payments']),
  'metadata-req-1-null': MetadataRequest[1](None),
  'metadata-req-4': MetadataRequest[4](['a'], True),
  'metadata-res-1': MetadataResponse[1]([(1, 'broker1', 9092, None), (2, 'b2', 9093, 'rack-a')], 1,
                                        [(0, 't', False, [(0, 0, 1, [1, 2], [1])])]),
  'produce-req-3': ProduceRequest[3](None, -1, 30000, [('t', [(0, batch)])]),
  'produce-res-7': ProduceResponse[7]([('t', [(0, 0, 100, -1, 0)])], 0),
  'fetch-req-4': FetchRequest[4](-1, 500, 1, 52428800, 1, [('t', [(0, 100, 1048576)])]),
  'fetch-res-4': FetchResponse[4](0, [('t', [(0, 0, 10, 10, [(5, 3)], batch)])]),
  'listoffsets-req-1': OffsetRequest[1](-1, [('t', [(0, -1)])]),
  'listoffsets-res-1': OffsetResponse[1]([('t', [(0, 0, 1600000000000, 42)])]),
  'joingroup-req-2': JoinGroupRequest[2]('g', 10000, 300000, '', 'consumer', [('range', b'meta')]),
  'joingroup-res-2': JoinGroupResponse[2](0, 0, 3, 'range', 'm-1', 'm-1', [('m-1', b'x')]),
  'syncgroup-req-1': SyncGroupRequest[1]('g', 3, 'm-1', [('m-1', b'assign')]),
  'heartbeat-req-1': HeartbeatRequest[1]('g', 3, 'm-1'),
  'leavegroup-req-1': LeaveGroupRequest[1]('g', 'm-1'),
  'offsetcommit-req-2': OffsetCommitRequest[2]('g', 3, 'm-1', -1, [('t', [(0, 5, 'md')])]),
  'offsetfetch-req-1': OffsetFetchRequest[1]('g', [('t', [0, 1])]),
  'offsetfetch-res-1': OffsetFetchResponse[1]([('t', [(0, 5, '', 0)])]),
  'findcoordinator-req-0': GroupCoordinatorRequest[0]('g'),
  'findcoordinator-res-0': GroupCoordinatorResponse[0](0, 1, 'h', 9092),
  'apiversions-req-0': ApiVersionRequest[0](),
  'apiversions-res-0': ApiVersionResponse[0](0, [(0, 3, 7), (1, 4, 11)]),
  'createtopics-req-0': CreateTopicsRequest[0]([('t', 3, 1, [], [('cleanup.policy', 'compact')])], 30000),
}
print(json.dumps({k: bytes(v.encode()).hex() for k, v in vectors.items()}))
`;

type Vector = [key: string, api: keyof typeof apis, kind: 'req' | 'res', version: number, expected: Record<string, unknown>];

describe('kafka-python protocol vectors', () => {
  const batch = encodeRecordBatch({ baseOffset: 0, baseTimestamp: 1, compression: Compression.None, records: [{ key: null, value: Buffer.from('v'), timestamp: 1 }] });
  const vectors: Vector[] = [
    ['metadata-req-0', 'Metadata', 'req', 0, { topics: [{ name: 't1' }, { name: 'payments' }] }],
    ['metadata-req-1-null', 'Metadata', 'req', 1, { topics: null }],
    ['metadata-req-4', 'Metadata', 'req', 4, { topics: [{ name: 'a' }], allowAutoTopicCreation: true }],
    ['metadata-res-1', 'Metadata', 'res', 1, {
      brokers: [{ nodeId: 1, host: 'broker1', port: 9092, rack: null }, { nodeId: 2, host: 'b2', port: 9093, rack: 'rack-a' }],
      controllerId: 1,
      topics: [{ errorCode: 0, name: 't', isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1, 2], isrNodes: [1] }] }],
    } satisfies Partial<MetadataResponse>],
    ['produce-req-3', 'Produce', 'req', 3, { transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [{ name: 't', partitionData: [{ index: 0, records: batch }] }] }],
    ['produce-res-7', 'Produce', 'res', 7, { responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 100, logAppendTimeMs: -1, logStartOffset: 0 }] }], throttleTimeMs: 0 }],
    ['fetch-req-4', 'Fetch', 'req', 4, { replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 52428800, isolationLevel: 1, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 100, partitionMaxBytes: 1048576 }] }] }],
    ['fetch-res-4', 'Fetch', 'res', 4, { throttleTimeMs: 0, responses: [{ topic: 't', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 10, lastStableOffset: 10, abortedTransactions: [{ producerId: 5, firstOffset: 3 }], records: batch }] }] }],
    ['listoffsets-req-1', 'ListOffsets', 'req', 1, { replicaId: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -1 }] }] }],
    ['listoffsets-res-1', 'ListOffsets', 'res', 1, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: 1600000000000, offset: 42 }] }] }],
    ['joingroup-req-2', 'JoinGroup', 'req', 2, { groupId: 'g', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 300000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from('meta') }] }],
    ['joingroup-res-2', 'JoinGroup', 'res', 2, { throttleTimeMs: 0, errorCode: 0, generationId: 3, protocolName: 'range', leader: 'm-1', memberId: 'm-1', members: [{ memberId: 'm-1', metadata: Buffer.from('x') }] }],
    ['syncgroup-req-1', 'SyncGroup', 'req', 1, { groupId: 'g', generationId: 3, memberId: 'm-1', assignments: [{ memberId: 'm-1', assignment: Buffer.from('assign') }] }],
    ['heartbeat-req-1', 'Heartbeat', 'req', 1, { groupId: 'g', generationId: 3, memberId: 'm-1' }],
    ['leavegroup-req-1', 'LeaveGroup', 'req', 1, { groupId: 'g', memberId: 'm-1' }],
    ['offsetcommit-req-2', 'OffsetCommit', 'req', 2, { groupId: 'g', generationIdOrMemberEpoch: 3, memberId: 'm-1', retentionTimeMs: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: 'md' }] }] }],
    ['offsetfetch-req-1', 'OffsetFetch', 'req', 1, { groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }] }],
    ['offsetfetch-res-1', 'OffsetFetch', 'res', 1, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, metadata: '', errorCode: 0 }] }] }],
    ['findcoordinator-req-0', 'FindCoordinator', 'req', 0, { key: 'g' }],
    ['findcoordinator-res-0', 'FindCoordinator', 'res', 0, { errorCode: 0, nodeId: 1, host: 'h', port: 9092 }],
    ['apiversions-req-0', 'ApiVersions', 'req', 0, {}],
    ['apiversions-res-0', 'ApiVersions', 'res', 0, { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 7 }, { apiKey: 1, minVersion: 4, maxVersion: 11 }] }],
    ['createtopics-req-0', 'CreateTopics', 'req', 0, { topics: [{ name: 't', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] }], timeoutMs: 30000 }],
  ];
  const hexes = runPython<Record<string, string>>(PY.replace('BATCH', JSON.stringify(batch.toString('hex'))));

  it.each(vectors)('%s decodes and re-encodes byte-identically', (key, api, kind, version, expected) => {
    const bytes = Buffer.from(hexes[key]!, 'hex');
    const codec = apis[api];
    const r = new Reader(bytes);
    const decoded = (kind === 'req' ? codec.decodeRequest(version, r) : codec.decodeResponse(version, r)) as Record<string, unknown>;
    expect(r.remaining).toBe(0);
    expect(decoded).toMatchObject(expected);
    const w = new Writer();
    if (kind === 'req') (codec.encodeRequest as (v: number, b: unknown, w: Writer) => void)(version, expected, w);
    else (codec.encodeResponse as (v: number, b: unknown, w: Writer) => void)(version, expected, w);
    expect(w.toBuffer().toString('hex')).toBe(bytes.toString('hex'));
  });
});

describe('consumer protocol payloads', () => {
  it('reads kafka-python subscription/assignment bytes and writes identical ones', () => {
    const py = String.raw`
import json
from kafka.coordinator.protocol import ConsumerProtocolMemberMetadata, ConsumerProtocolMemberAssignment
m = ConsumerProtocolMemberMetadata(0, ['t1', 't2'], b'ud')
a = ConsumerProtocolMemberAssignment(0, [('t1', [0, 2])], b'')
print(json.dumps({'m': m.encode().hex(), 'a': a.encode().hex()}))
`;
    const out = runPython<{ m: string; a: string }>(py);
    const sub = decodeSubscriptionBytes(Buffer.from(out.m, 'hex'));
    expect(sub.version).toBe(0);
    expect(sub.subscription).toMatchObject({ topics: ['t1', 't2'], userData: Buffer.from('ud') });
    expect(encodeSubscriptionBytes(0, sub.subscription).toString('hex')).toBe(out.m);
    const asg = decodeAssignmentBytes(Buffer.from(out.a, 'hex'));
    expect(asg.assignment).toMatchObject({ assignedPartitions: [{ topic: 't1', partitions: [0, 2] }], userData: Buffer.alloc(0) });
    expect(encodeAssignmentBytes(0, asg.assignment).toString('hex')).toBe(out.a);
  });

  it('reads a newer subscription version with the newest known schema', () => {
    const bytes = encodeSubscriptionBytes(3, { topics: ['a'], userData: null, ownedPartitions: [], generationId: 4, rackId: 'r1' });
    bytes.writeInt16BE(9, 0);
    expect(decodeSubscriptionBytes(Buffer.concat([bytes, Buffer.from([1, 2])])).subscription).toMatchObject({ topics: ['a'], generationId: 4, rackId: 'r1' });
  });
});
