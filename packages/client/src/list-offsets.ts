import { ErrorCode, KafkaProtocolError, errorName } from '@fluxo/common';
import { apis } from '@fluxo/protocol';
import { topicError, type Cluster } from './cluster.js';

/** ListOffsets special timestamps (Kafka ListOffsetsRequest.EARLIEST_TIMESTAMP / LATEST_TIMESTAMP). */
export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;

export type OffsetSpec = 'earliest' | 'latest' | number;

export function specTimestamp(spec: OffsetSpec): number {
  if (spec === 'earliest') return EARLIEST_TIMESTAMP;
  if (spec === 'latest') return LATEST_TIMESTAMP;
  if (!Number.isSafeInteger(spec) || spec < 0) {
    throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `offset spec must be 'earliest', 'latest' or a timestamp in ms, not ${String(spec)}`);
  }
  return spec;
}

export type IsolationLevel = 'read_uncommitted' | 'read_committed';

export function isolationLevelCode(level: IsolationLevel): number {
  return level === 'read_committed' ? 1 : 0;
}

export interface OffsetQuery {
  topic: string;
  partition: number;
  /** -2 earliest, -1 latest, else a timestamp in ms. */
  timestamp: number;
}

export interface OffsetAnswer {
  topic: string;
  partition: number;
  /** -1 when no record has a timestamp at or after the one asked for. */
  offset: number;
  timestamp: number;
}

/**
 * ListOffsets for many partitions, each asked of its leader, with retries (metadata refresh on leader
 * changes). Results come back in the order of `queries`.
 */
export async function listOffsets(cluster: Cluster, queries: OffsetQuery[], isolationLevel: IsolationLevel = 'read_uncommitted'): Promise<OffsetAnswer[]> {
  if (queries.length === 0) return [];
  return cluster.retry(async () => {
    for (const topic of new Set(queries.map((q) => q.topic))) await cluster.topicMetadata(topic);
    const byLeader = new Map<number, OffsetQuery[]>();
    for (const q of queries) {
      const leader = cluster.leaderFor(q.topic, q.partition);
      if (leader < 0) {
        if (!cluster.cachedTopic(q.topic)?.partitions.some((p) => p.partition === q.partition)) {
          throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${q.topic}-${q.partition} does not exist (UNKNOWN_TOPIC_OR_PARTITION)`);
        }
        throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `no leader for ${q.topic}-${q.partition} (LEADER_NOT_AVAILABLE)`);
      }
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push(q);
    }
    const answers = new Map<string, OffsetAnswer>();
    await Promise.all(
      [...byLeader].map(async ([leader, list]) => {
        const connection = await cluster.connectionTo(leader);
        const byTopic = new Map<string, OffsetQuery[]>();
        for (const q of list) {
          let l = byTopic.get(q.topic);
          if (!l) byTopic.set(q.topic, (l = []));
          l.push(q);
        }
        const response = await connection.send(apis.ListOffsets, {
          replicaId: -1,
          isolationLevel: isolationLevelCode(isolationLevel),
          topics: [...byTopic].map(([name, qs]) => ({
            name,
            partitions: qs.map((q) => ({ partitionIndex: q.partition, currentLeaderEpoch: -1, timestamp: q.timestamp, maxNumOffsets: 1 })),
          })),
          timeoutMs: cluster.requestTimeoutMs,
        });
        for (const t of response.topics) {
          for (const p of t.partitions) {
            if (p.errorCode !== ErrorCode.NONE) {
              if (p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw topicError(t.name, p.errorCode);
              throw new KafkaProtocolError(p.errorCode, `ListOffsets for ${t.name}-${p.partitionIndex} failed (${errorName(p.errorCode)})`);
            }
            answers.set(`${t.name}\u0000${p.partitionIndex}`, {
              topic: t.name,
              partition: p.partitionIndex,
              offset: p.offset ?? p.oldStyleOffsets?.[0] ?? -1,
              timestamp: p.timestamp ?? -1,
            });
          }
        }
      }),
    );
    return queries.map((q) => {
      const a = answers.get(`${q.topic}\u0000${q.partition}`);
      if (!a) throw new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `no ListOffsets answer for ${q.topic}-${q.partition}`);
      return a;
    });
  });
}
