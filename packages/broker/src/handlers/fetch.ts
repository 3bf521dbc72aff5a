import { ErrorCode } from '@fluxo/common';
import { apis, type FetchRequest, type FetchResponse, type FetchResponsePartitionData } from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';
import type { Partition } from '../cluster/partition.js';
import { waitForWake } from '../cluster/wait-for-wake.js';
import { defineHandler, type RequestContext } from './api-handler.js';
import { errorCodeOf } from './produce.js';
import { preferredReadReplica } from '../replication/replica-selector.js';

const READ_COMMITTED = 1;
/** Kafka's rack-aware replica selector class name (the value of replica.selector.class that turns KIP-392 on). */
export const RACK_AWARE_REPLICA_SELECTOR = 'org.apache.kafka.common.replica.RackAwareReplicaSelector';
const EMPTY = Buffer.alloc(0);
/** Fluxo's bound on a long poll (clients ask for 100 ms .. a few seconds). */
const MAX_WAIT_CAP_MS = 60_000;

interface Wanted {
  readonly topicIndex: number;
  readonly partitionIndex: number;
  readonly fetchOffset: number;
  readonly partitionMaxBytes: number;
  readonly currentLeaderEpoch: number;
  /** v12+ (KIP-320): epoch of the last batch the client fetched; -1 when absent. */
  readonly lastFetchedEpoch: number;
  readonly partition: Partition | undefined;
  /** Error known before reading (unknown topic / partition, not leader, epoch). */
  readonly errorCode: number;
  /** KIP-392: another replica in the consumer's rack serves this partition (-1: none; this node reads). */
  readonly preferredReadReplica: number;
  /** A follower replica may serve it (consumer with client metadata, v11+). */
  readonly followerReads: boolean;
}

function errorData(partitionIndex: number, errorCode: number, readCommitted: boolean): FetchResponsePartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    abortedTransactions: readCommitted ? [] : null,
    preferredReadReplica: -1,
    records: EMPTY,
  };
}

/**
 * Fetch (sessionless: always answers session id 0, so clients keep sending full fetch requests). Returns whole
 * batches below the high watermark as stored, referenced (not copied) into the response frame. Long poll:
 * waits until minBytes are available, maxWaitMs passed, or the connection closes, waking on high-watermark
 * advances of the partitions asked for.
 *
 * Consumers read from the leader (currentLeaderEpoch checked: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH).
 * From v11 (client metadata) a follower also serves them, up to its own high watermark (KIP-392), and with
 * replica.selector.class=RackAwareReplicaSelector the leader points a consumer with client.rack at an in-sync
 * replica in its rack (preferredReadReplica, no records).
 */
export const fetchHandler = defineHandler<FetchRequest, FetchResponse>({
  codec: apis.Fetch,
  minVersion: 4,
  maxVersion: 12,
  exclusive: false,
  async handle(broker, ctx, request) {
    const readCommitted = request.isolationLevel === READ_COMMITTED;
    // Kafka: consumers with client metadata (v11+) may fetch from followers; older ones only from the leader.
    const consumer = request.replicaId === undefined || request.replicaId < 0;
    const followerReads = consumer && ctx.apiVersion >= 11;
    const rackAware = followerReads && (request.rackId ?? '') !== '' && broker.config.stringOrNull('replica.selector.class') === RACK_AWARE_REPLICA_SELECTOR;
    const wanted: Wanted[] = [];
    const topicNames: string[] = [];
    for (const t of request.topics) {
      const name = t.topic ?? '';
      const topic = broker.topics.topic(name);
      const topicIndex = topicNames.length;
      topicNames.push(name);
      for (const p of t.partitions) {
        const partition = topic?.partition(p.partition);
        let errorCode: number = ErrorCode.NONE;
        let preferred = -1;
        if (topic === undefined || p.partition < 0 || p.partition >= topic.partitionCount) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else if (partition === undefined || partition.isClosed) errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        else {
          errorCode = partition.leaderEpochError(p.currentLeaderEpoch ?? -1);
          if (errorCode === ErrorCode.NONE && !partition.isLeader && !(followerReads && partition.role === 'follower')) errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
          if (errorCode === ErrorCode.NONE && partition.isLeader && rackAware) preferred = preferredReadReplica(broker, partition, request.rackId ?? '', p.fetchOffset);
        }
        wanted.push({
          topicIndex,
          partitionIndex: p.partition,
          fetchOffset: p.fetchOffset,
          partitionMaxBytes: p.partitionMaxBytes,
          currentLeaderEpoch: p.currentLeaderEpoch ?? -1,
          lastFetchedEpoch: p.lastFetchedEpoch ?? -1,
          partition,
          errorCode,
          preferredReadReplica: preferred,
          followerReads,
        });
      }
    }
    const maxWaitMs = Math.min(Math.max(request.maxWaitMs, 0), MAX_WAIT_CAP_MS);
    const deadline = broker.nowMs() + maxWaitMs;
    for (;;) {
      const round = await readRound(ctx, wanted, request.maxBytes ?? 0x7fffffff, readCommitted);
      const done = round.bytes >= request.minBytes || round.hasError || maxWaitMs === 0 || ctx.signal.aborted || broker.nowMs() >= deadline;
      if (done || !(await waitForData(broker, ctx, wanted, round.highWatermarks, deadline))) {
        return buildResponse(broker, topicNames, wanted, round.data);
      }
    }
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      errorCode,
      sessionId: 0,
      responses: request.topics.map((t) => ({
        topic: t.topic ?? '',
        topicId: t.topicId,
        partitions: t.partitions.map((p) => errorData(p.partition, errorCode, request.isolationLevel === READ_COMMITTED)),
      })),
    };
  },
});

interface Round {
  readonly data: FetchResponsePartitionData[];
  readonly bytes: number;
  readonly hasError: boolean;
  /** High watermark each partition had when read: a change before waiting means "read again now". */
  readonly highWatermarks: number[];
}

async function readRound(ctx: RequestContext, wanted: readonly Wanted[], maxBytes: number, readCommitted: boolean): Promise<Round> {
  const data: FetchResponsePartitionData[] = [];
  const highWatermarks: number[] = [];
  let bytes = 0;
  let hasError = false;
  for (const w of wanted) {
    const p = w.partition;
    if (w.errorCode !== ErrorCode.NONE || p === undefined || p.isClosed) {
      data.push(errorData(w.partitionIndex, w.errorCode !== ErrorCode.NONE ? w.errorCode : ErrorCode.NOT_LEADER_OR_FOLLOWER, readCommitted));
      highWatermarks.push(-1);
      hasError = true;
      continue;
    }
    const highWatermark = p.highWatermark;
    const stableOffset = readCommitted ? p.lastStableOffset : highWatermark;
    highWatermarks.push(highWatermark);
    const base = {
      partitionIndex: w.partitionIndex,
      highWatermark,
      lastStableOffset: p.lastStableOffset,
      logStartOffset: p.logStartOffset,
      abortedTransactions: readCommitted ? [] : null,
      preferredReadReplica: w.preferredReadReplica,
    };
    if (w.preferredReadReplica >= 0) {
      // KIP-392: no records; the consumer fetches from the preferred replica next.
      data.push({ ...base, errorCode: ErrorCode.NONE, records: EMPTY });
      hasError = true;
      continue;
    }
    if (!p.isLeader && !(w.followerReads && p.role === 'follower')) {
      // Leadership moved away during the long poll.
      data.push(errorData(w.partitionIndex, ErrorCode.NOT_LEADER_OR_FOLLOWER, readCommitted));
      hasError = true;
      continue;
    }
    if (w.lastFetchedEpoch >= 0) {
      // KIP-320: the client's log diverged from this one at its last epoch (a leader change truncated it here).
      const end = p.log.endOffsetForEpoch(w.lastFetchedEpoch);
      if (end.leaderEpoch >= 0 && end.endOffset >= 0 && w.fetchOffset >= p.logStartOffset && (end.leaderEpoch < w.lastFetchedEpoch || end.endOffset < w.fetchOffset)) {
        data.push({ ...base, errorCode: ErrorCode.NONE, divergingEpoch: { epoch: end.leaderEpoch, endOffset: end.endOffset }, records: EMPTY });
        hasError = true;
        continue;
      }
    }
    if (w.fetchOffset < p.logStartOffset || w.fetchOffset > p.log.logEndOffset) {
      data.push({ ...base, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: EMPTY });
      hasError = true;
      continue;
    }
    // Nothing committed to read yet (the common long-poll case): no storage read at all.
    const remaining = maxBytes - bytes;
    if (w.fetchOffset >= stableOffset || (remaining <= 0 && bytes > 0)) {
      data.push({ ...base, errorCode: ErrorCode.NONE, records: EMPTY });
      continue;
    }
    const limit = Math.max(1, Math.min(w.partitionMaxBytes, remaining));
    try {
      const read = await p.log.read(w.fetchOffset, limit, stableOffset);
      let records = read.records;
      // KIP-74: only the first partition with data may exceed the limits (one whole batch); later ones must fit.
      if (bytes > 0 && records.length > limit) records = EMPTY;
      bytes += records.length;
      data.push({ ...base, logStartOffset: p.logStartOffset, errorCode: ErrorCode.NONE, records });
    } catch (err) {
      const errorCode = errorCodeOf(err);
      if (errorCode !== ErrorCode.OFFSET_OUT_OF_RANGE) ctx.logger.error({ err, topic: p.topic, partition: p.index }, 'fetch read failed');
      data.push({ ...base, errorCode, records: EMPTY });
      hasError = true;
    }
  }
  return { data, bytes, hasError, highWatermarks };
}

/** Waits for a high-watermark advance on any wanted partition; false when the deadline passed or aborted. */
function waitForData(broker: BrokerContext, ctx: RequestContext, wanted: readonly Wanted[], seen: readonly number[], deadline: number): Promise<boolean> {
  for (let i = 0; i < wanted.length; i++) {
    const p = wanted[i]!.partition;
    if (p !== undefined && (p.highWatermark !== seen[i] || p.isClosed)) return Promise.resolve(true);
  }
  const partitions = new Set<Partition>();
  for (const w of wanted) if (w.partition !== undefined) partitions.add(w.partition);
  return waitForWake([...partitions].map((p) => (wake: () => void) => p.onAdvance(wake)), deadline - broker.nowMs(), ctx.signal);
}

function buildResponse(broker: BrokerContext, topicNames: readonly string[], wanted: readonly Wanted[], data: readonly FetchResponsePartitionData[]): FetchResponse {
  const responses: FetchResponse['responses'] = topicNames.map((topic) => ({ topic, partitions: [] }));
  for (let i = 0; i < wanted.length; i++) {
    const d = data[i]!;
    const topicIndex = wanted[i]!.topicIndex;
    responses[topicIndex]!.partitions.push(d);
    if (d.records !== null && d.records.length > 0) broker.metrics.bytesOut.inc({ topic: topicNames[topicIndex]! }, d.records.length);
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses };
}
