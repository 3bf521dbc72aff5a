import { ApiKey, Compression, encodeRecordBatch, wholeBatches, decodeRecordBatch } from '@fluxo/protocol';
import type { CreateTopicsResponse, FetchResponse, ListOffsetsResponse, ProduceResponse } from '@fluxo/protocol';
import type { RawClient } from './raw-client.js';

/** One uncompressed v2 batch of string values. */
export function batchOf(values: readonly string[], opts: { compression?: number; timestamp?: number } = {}): Buffer {
  return encodeRecordBatch({
    compression: opts.compression ?? Compression.None,
    records: values.map((v) => ({ key: null, value: Buffer.from(v), ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}) })),
  });
}

export async function createTopic(client: RawClient, name: string, numPartitions = 1, configs: Record<string, string> = {}): Promise<CreateTopicsResponse> {
  return client.request<CreateTopicsResponse>(ApiKey.CreateTopics, 5, {
    topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
    timeoutMs: 5000,
    validateOnly: false,
  });
}

export function produceBody(topic: string, partition: number, records: Buffer | null, acks = -1): unknown {
  return { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] };
}

export async function produce(client: RawClient, topic: string, partition: number, records: Buffer, acks = -1, version = 7): Promise<ProduceResponse> {
  return client.request<ProduceResponse>(ApiKey.Produce, version, produceBody(topic, partition, records, acks));
}

export function fetchBody(topic: string, partition: number, fetchOffset: number, opts: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number; isolationLevel?: number } = {}): unknown {
  return {
    replicaId: -1,
    maxWaitMs: opts.maxWaitMs ?? 0,
    minBytes: opts.minBytes ?? 1,
    maxBytes: opts.maxBytes ?? 50 * 1024 * 1024,
    isolationLevel: opts.isolationLevel ?? 1,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1, partitionMaxBytes: opts.partitionMaxBytes ?? 1024 * 1024 }] }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

export async function fetch(client: RawClient, topic: string, partition: number, fetchOffset: number, opts: Parameters<typeof fetchBody>[3] = {}, version = 11): Promise<FetchResponse> {
  return client.request<FetchResponse>(ApiKey.Fetch, version, fetchBody(topic, partition, fetchOffset, opts));
}

/** Values (utf8) and offsets of every record in a fetch response partition's records. */
export function recordsOf(records: Buffer | null): { offset: number; value: string | null; timestamp: number }[] {
  if (records === null) return [];
  const out: { offset: number; value: string | null; timestamp: number }[] = [];
  for (const b of wholeBatches(records)) for (const r of decodeRecordBatch(b, { verifyCrc: true }).records) out.push({ offset: r.offset, value: r.value?.toString() ?? null, timestamp: r.timestamp });
  return out;
}

export async function listOffset(client: RawClient, topic: string, partition: number, timestamp: number, version = 7): Promise<{ errorCode: number; offset: number; timestamp: number }> {
  const res = await client.request<ListOffsetsResponse>(ApiKey.ListOffsets, version, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
  });
  const p = res.topics[0]!.partitions[0]!;
  return { errorCode: p.errorCode, offset: p.offset ?? -1, timestamp: p.timestamp ?? -1 };
}
