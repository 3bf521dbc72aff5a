import * as grpc from '@grpc/grpc-js';
import { DecodeError, ErrorCode, errorName, type Logger, type MetadataImage } from '@fluxo/common';
import type { Partition } from '../cluster/partition.js';
import {
  EpochRequestCodec,
  EpochResponseCodec,
  FetchRequestCodec,
  FetchResponseCodec,
  REPLICATION_EPOCH_PATH,
  REPLICATION_FETCH_PATH,
  type EpochPartitionResult,
  type FetchPartitionData,
  type FetchPartitionRequest,
  type FetchRequestMessage,
  type FetchResponseMessage,
} from './messages.js';
import type { ReplicationMetrics } from './replication-metrics.js';
import type { ReassignmentThrottle } from './reassignment-throttle.js';
import { waitForWake } from '../cluster/wait-for-wake.js';
import { ThrottledLog } from './throttled-log.js';

const identity = (b: Buffer): Buffer => b;
const EMPTY = Buffer.alloc(0);

/** gRPC message bound both ways: a response holds up to MAX_RESPONSE_BYTES plus one oversized batch. */
export const MAX_GRPC_MESSAGE_BYTES = 256 * 1024 * 1024;
/** Fluxo's bound on one fetch response, whatever the follower asks for. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Longest a follower fetch may be held. */
const MAX_WAIT_CAP_MS = 30_000;
/** Fetch requests queued on one stream beyond the one being served (a well-behaved follower sends one at a time). */
const MAX_QUEUED_REQUESTS_PER_STREAM = 2;
/** Concurrent Fetch streams (one per follower broker is the norm). */
const MAX_STREAMS = 1024;
const REFUSAL_LOG_INTERVAL_MS = 10_000;
const TRANSIENT_REFUSALS: ReadonlySet<number> = new Set([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_LEADER_EPOCH]);

export const REPLICATION_SERVICE: grpc.ServiceDefinition = {
  Fetch: {
    path: REPLICATION_FETCH_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
  OffsetForLeaderEpoch: {
    path: REPLICATION_EPOCH_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** Ends a server stream with a gRPC status (destroy() would drop it: the client would only see a reset). */
function failStream(call: grpc.ServerDuplexStream<Buffer, Buffer>, code: grpc.status, message: string): void {
  call.emit('error', Object.assign(new Error(message), { code }));
}

export function replicationChannelOptions(): grpc.ChannelOptions {
  return {
    'grpc.max_send_message_length': MAX_GRPC_MESSAGE_BYTES,
    'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
    // A restarted leader must be reachable again quickly, not after grpc's default 1..120 s backoff.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.min_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
  };
}

/** Finds hosted partitions: undefined when the topic or partition does not exist, null when not hosted here. */
export interface PartitionLookup {
  partition(topicId: string, index: number): Partition | null | undefined;
}

export interface ReplicationServerOptions {
  readonly nodeId: number;
  readonly partitions: PartitionLookup;
  image(): MetadataImage;
  readonly logger: Logger;
  readonly metrics: ReplicationMetrics;
  nowMs(): number;
  /** Bulk copies to replicas being added by a reassignment draw from this (leader.replication.throttled.rate). */
  readonly throttle: ReassignmentThrottle;
}

interface Entry {
  readonly req: FetchPartitionRequest;
  readonly partition: Partition | null;
  /** Epoch the fetch was checked against (a leadership change while waiting makes the read stale). */
  readonly leaderEpoch: number;
  readonly check: { errorCode: number } | { diverging: { epoch: number; endOffset: number } } | null;
}

/**
 * The leader side of replication: serves follower Fetch streams and OffsetForLeaderEpoch. A follower is checked
 * against this node's metadata (registered, same broker epoch, not fenced), each partition against the replica
 * state (leader here, epochs, replica membership, divergence); a refusal carries the Kafka error code, is
 * logged (throttled) and changes nothing. A fetch with nothing to send is held until data or a high-watermark
 * advance arrives, or its wait ends.
 */
export class ReplicationServer {
  private readonly server: grpc.Server;
  private readonly streams = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
  private readonly refusals: ThrottledLog;
  private closing = false;

  constructor(private readonly opts: ReplicationServerOptions) {
    this.server = new grpc.Server(replicationChannelOptions());
    this.server.addService(REPLICATION_SERVICE, { Fetch: this.fetchStream, OffsetForLeaderEpoch: this.offsetForLeaderEpoch });
    this.refusals = new ThrottledLog(opts.logger, REFUSAL_LOG_INTERVAL_MS, opts.nowMs);
  }

  listen(host: string, port: number): Promise<number> {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const s of this.streams) s.end();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ----------------------------------------------------------------------------------------------- fetch

  private readonly fetchStream = (call: grpc.ServerDuplexStream<Buffer, Buffer>): void => {
    if (this.closing || this.streams.size >= MAX_STREAMS) {
      failStream(call, grpc.status.RESOURCE_EXHAUSTED, 'too many replication streams');
      return;
    }
    this.streams.add(call);
    const abort = new AbortController();
    const queue: FetchRequestMessage[] = [];
    let busy = false;
    const finish = (): void => {
      abort.abort();
      this.streams.delete(call);
    };
    call.on('cancelled', finish);
    call.on('close', finish);
    call.on('error', finish);
    call.on('end', () => call.end());
    const pump = (): void => {
      if (busy || queue.length === 0 || abort.signal.aborted) return;
      busy = true;
      const req = queue.shift()!;
      this.handleFetch(req, abort.signal, call.getPeer())
        .then(
          (res) => {
            if (abort.signal.aborted) return;
            call.write(FetchResponseCodec.encode(res));
          },
          (err: unknown) => {
            this.opts.logger.error({ err, peer: call.getPeer() }, 'follower fetch failed');
            failStream(call, grpc.status.INTERNAL, 'internal error');
          },
        )
        .finally(() => {
          busy = false;
          pump();
        });
    };
    call.on('data', (bytes: Buffer) => {
      if (abort.signal.aborted) return;
      let req: FetchRequestMessage;
      try {
        req = FetchRequestCodec.decode(bytes);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        this.refusals.warn(`malformed:${call.getPeer()}`, { peer: call.getPeer(), details: err.message }, 'rejected malformed follower fetch; closing the stream');
        failStream(call, grpc.status.INVALID_ARGUMENT, err.message);
        return;
      }
      if (queue.length >= MAX_QUEUED_REQUESTS_PER_STREAM) {
        this.refusals.warn(`flood:${req.replicaId}`, { replica: req.replicaId, peer: call.getPeer() }, 'follower sent fetches without waiting for answers; closing the stream');
        failStream(call, grpc.status.RESOURCE_EXHAUSTED, 'too many outstanding fetch requests');
        return;
      }
      queue.push(req);
      pump();
    });
  };

  /** Refusal of the requesting broker itself: unknown, another incarnation, or fenced. */
  private brokerRefusal(replicaId: number, brokerEpoch: number): { errorCode: number; errorMessage: string } | null {
    if (replicaId === this.opts.nodeId) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `node ${replicaId} cannot replicate from itself` };
    const broker = this.opts.image().brokers.get(replicaId);
    if (broker === undefined) return { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, errorMessage: `broker ${replicaId} is not registered` };
    if (broker.brokerEpoch !== brokerEpoch) {
      return { errorCode: ErrorCode.STALE_BROKER_EPOCH, errorMessage: `broker ${replicaId} has epoch ${broker.brokerEpoch}, the request carries ${brokerEpoch}` };
    }
    if (broker.fenced) return { errorCode: ErrorCode.STALE_BROKER_EPOCH, errorMessage: `broker ${replicaId} (epoch ${brokerEpoch}) is fenced` };
    return null;
  }

  private refused(replicaId: number, what: string, errorCode: number, fields: Record<string, unknown>): void {
    const key = `${replicaId}:${what}:${errorCode}`;
    const line = { replica: replicaId, error: errorName(errorCode), ...fields };
    // Followers racing a leadership change are refused as a matter of course; anything else is worth a warning.
    if (TRANSIENT_REFUSALS.has(errorCode)) this.refusals.info(key, line, 'refused replication request');
    else this.refusals.warn(key, line, 'refused replication request');
  }

  private async handleFetch(req: FetchRequestMessage, signal: AbortSignal, peer: string): Promise<FetchResponseMessage> {
    const refusal = this.brokerRefusal(req.replicaId, req.brokerEpoch);
    if (refusal !== null) {
      this.refused(req.replicaId, 'fetch', refusal.errorCode, { peer, brokerEpoch: req.brokerEpoch, reason: refusal.errorMessage });
      return { requestId: req.requestId, ...refusal, partitions: [] };
    }
    const entries = req.partitions.map((p) => this.checkPartition(req.replicaId, req.brokerEpoch, p));
    const maxBytes = Math.min(req.maxBytes, MAX_RESPONSE_BYTES);
    let round = await this.read(entries, maxBytes, req.replicaId);
    const maxWaitMs = Math.min(req.maxWaitMs, MAX_WAIT_CAP_MS);
    const deadline = this.opts.nowMs() + maxWaitMs;
    while (!signal.aborted && round.bytes < Math.max(1, req.minBytes) && !round.hasError && !round.highWatermarkNews && this.opts.nowMs() < deadline) {
      if (!(await this.waitForData(entries, deadline, signal))) break;
      round = await this.read(entries, maxBytes, req.replicaId);
    }
    this.opts.metrics.bytesOut.inc(round.bytes);
    return { requestId: req.requestId, errorCode: ErrorCode.NONE, errorMessage: '', partitions: round.data };
  }

  private checkPartition(replicaId: number, brokerEpoch: number, req: FetchPartitionRequest): Entry {
    const partition = this.opts.partitions.partition(req.topicId, req.partition);
    const where = { topicId: req.topicId, partition: req.partition };
    if (partition === undefined) {
      this.refused(replicaId, `${req.topicId}-${req.partition}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, where);
      return { req, partition: null, leaderEpoch: -1, check: { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION } };
    }
    if (partition === null) {
      this.refused(replicaId, `${req.topicId}-${req.partition}`, ErrorCode.NOT_LEADER_OR_FOLLOWER, { ...where, reason: 'not hosted here' });
      return { req, partition: null, leaderEpoch: -1, check: { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER } };
    }
    const check = partition.followerFetch(replicaId, brokerEpoch, req);
    if (check.kind === 'error') {
      this.refused(replicaId, `${req.topicId}-${req.partition}`, check.errorCode, { topic: partition.topic, partition: req.partition, fetchOffset: req.fetchOffset, currentLeaderEpoch: req.currentLeaderEpoch, reason: check.message });
      return { req, partition, leaderEpoch: partition.leaderEpoch, check: { errorCode: check.errorCode } };
    }
    if (check.kind === 'diverging') return { req, partition, leaderEpoch: partition.leaderEpoch, check: { diverging: { epoch: check.epoch, endOffset: check.endOffset } } };
    return { req, partition, leaderEpoch: partition.leaderEpoch, check: null };
  }

  private async read(entries: readonly Entry[], maxBytes: number, replicaId: number): Promise<{ data: FetchPartitionData[]; bytes: number; hasError: boolean; highWatermarkNews: boolean }> {
    const data: FetchPartitionData[] = [];
    let bytes = 0;
    let hasError = false;
    let highWatermarkNews = false;
    for (const e of entries) {
      const p = e.partition;
      const base = {
        topicId: e.req.topicId,
        partition: e.req.partition,
        highWatermark: p?.highWatermark ?? -1,
        logStartOffset: p?.logStartOffset ?? -1,
        logEndOffset: p?.logEndOffset ?? -1,
        divergingEpoch: null,
        records: EMPTY,
      };
      if (e.check !== null && 'errorCode' in e.check) {
        data.push({ ...base, errorCode: e.check.errorCode });
        hasError = true;
        continue;
      }
      if (e.check !== null) {
        data.push({ ...base, errorCode: ErrorCode.NONE, divergingEpoch: e.check.diverging });
        hasError = true;
        continue;
      }
      if (p === null || !p.isLeader || p.leaderEpoch !== e.leaderEpoch) {
        data.push({ ...base, errorCode: p !== null && p.leaderEpoch > e.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.NOT_LEADER_OR_FOLLOWER });
        hasError = true;
        continue;
      }
      if (p.highWatermark > e.req.highWatermark) highWatermarkNews = true;
      const remaining = maxBytes - bytes;
      if (e.req.fetchOffset >= p.logEndOffset || (remaining <= 0 && bytes > 0)) {
        data.push({ ...base, errorCode: ErrorCode.NONE });
        continue;
      }
      // A replica being added by a reassignment copies the log under the reassignment throttle.
      const throttled = this.opts.throttle.enabled && p.addingReplicas.includes(replicaId);
      const allowance = throttled ? this.opts.throttle.available() : Number.POSITIVE_INFINITY;
      if (allowance <= 0) {
        data.push({ ...base, errorCode: ErrorCode.NONE });
        this.opts.metrics.throttledFetches.inc();
        continue;
      }
      const limit = Math.max(1, Math.min(e.req.maxBytes, remaining, allowance));
      try {
        let records = (await p.log.read(e.req.fetchOffset, limit)).records;
        // KIP-74: only the first partition with data may exceed the limits (one whole batch).
        if (bytes > 0 && records.length > limit) records = EMPTY;
        if (throttled) this.opts.throttle.consume(records.length);
        bytes += records.length;
        data.push({ ...base, logEndOffset: p.logEndOffset, errorCode: ErrorCode.NONE, records });
      } catch (err) {
        const errorCode = typeof (err as { code?: unknown }).code === 'number' && (err as { code: number }).code >= 0 ? (err as { code: number }).code : ErrorCode.UNKNOWN_SERVER_ERROR;
        if (errorCode !== ErrorCode.OFFSET_OUT_OF_RANGE) this.opts.logger.error({ err, topic: p.topic, partition: p.index }, 'follower fetch read failed');
        data.push({ ...base, errorCode });
        hasError = true;
      }
    }
    return { data, bytes, hasError, highWatermarkNews };
  }

  /** Waits for new data or a high-watermark advance on any fetched partition; false when the wait ended without. */
  private waitForData(entries: readonly Entry[], deadline: number, signal: AbortSignal): Promise<boolean> {
    const partitions = new Set<Partition>();
    for (const e of entries) if (e.partition !== null) partitions.add(e.partition);
    return waitForWake([...partitions].map((p) => (wake: () => void) => p.onLogEndOrHighWatermark(wake)), deadline - this.opts.nowMs(), signal);
  }

  // ----------------------------------------------------------------------------------- leader epochs

  private readonly offsetForLeaderEpoch = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void => {
    let req;
    try {
      req = EpochRequestCodec.decode(call.request);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.refusals.warn(`malformed:${call.getPeer()}`, { peer: call.getPeer(), details: err.message }, 'rejected malformed OffsetForLeaderEpoch request');
      callback({ code: grpc.status.INVALID_ARGUMENT, details: err.message });
      return;
    }
    const refusal = this.brokerRefusal(req.replicaId, req.brokerEpoch);
    if (refusal !== null) {
      this.refused(req.replicaId, 'epochs', refusal.errorCode, { peer: call.getPeer(), brokerEpoch: req.brokerEpoch, reason: refusal.errorMessage });
      callback(null, EpochResponseCodec.encode({ ...refusal, partitions: [] }));
      return;
    }
    const partitions = req.partitions.map((p): EpochPartitionResult => {
      const partition = this.opts.partitions.partition(p.topicId, p.partition);
      const fail = (errorCode: number, reason: string): EpochPartitionResult => {
        this.refused(req.replicaId, `epochs:${p.topicId}-${p.partition}`, errorCode, { topicId: p.topicId, partition: p.partition, reason });
        return { topicId: p.topicId, partition: p.partition, errorCode, leaderEpoch: -1, endOffset: -1 };
      };
      if (partition === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'no such partition');
      if (partition === null) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'not hosted here');
      const answer = partition.lastOffsetForLeaderEpoch(p.currentLeaderEpoch, p.leaderEpoch);
      if (answer.errorCode !== ErrorCode.NONE) return fail(answer.errorCode, `leader epoch ${partition.leaderEpoch}, role ${partition.role}, request for ${p.currentLeaderEpoch}`);
      return { topicId: p.topicId, partition: p.partition, ...answer };
    });
    callback(null, EpochResponseCodec.encode({ errorCode: ErrorCode.NONE, errorMessage: '', partitions }));
  };
}
