import * as grpc from '@grpc/grpc-js';
import { DecodeError, ErrorCode, errorName, type Logger } from '@fluxo/common';
import { isRelaxedFlush } from '@fluxo/storage';
import type { Partition } from '../cluster/partition.js';
import {
  EpochRequestCodec,
  EpochResponseCodec,
  FetchRequestCodec,
  FetchResponseCodec,
  REPLICATION_EPOCH_PATH,
  REPLICATION_FETCH_PATH,
  type EpochResponseMessage,
  type FetchPartitionData,
  type FetchRequestMessage,
  type FetchResponseMessage,
} from './messages.js';
import type { ReplicationMetrics } from './replication-metrics.js';
import { replicationChannelOptions } from './replication-server.js';
import { ThrottledLog } from './throttled-log.js';
import { truncationFor } from './truncation.js';

const identity = (b: Buffer): Buffer => b;

export interface FetcherConfig {
  /** replica.fetch.wait.max.ms */
  readonly maxWaitMs: number;
  /** replica.fetch.min.bytes */
  readonly minBytes: number;
  /** replica.fetch.response.max.bytes */
  readonly maxBytes: number;
  /** replica.fetch.max.bytes */
  readonly partitionMaxBytes: number;
  /** replica.fetch.backoff.ms */
  readonly backoffMs: number;
  /** replica.socket.timeout.ms: beyond the fetch wait, how long an answer may take. */
  readonly socketTimeoutMs: number;
}

export interface FetcherContext {
  readonly nodeId: number;
  /** This broker's epoch (its registration in the image), -1 when unknown. */
  brokerEpoch(): number;
  readonly config: FetcherConfig;
  readonly logger: Logger;
  readonly metrics: ReplicationMetrics;
  nowMs(): number;
}

interface FetchState {
  readonly partition: Partition;
  /** The leadership this state follows: a response for another one is dropped. */
  readonly leaderEpoch: number;
  phase: 'truncating' | 'fetching';
  delayedUntilMs: number;
}

function errorCodeOf(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && code >= 0 ? code : ErrorCode.UNKNOWN_SERVER_ERROR;
}

/**
 * Follower partitions led by one broker, replicated over one gRPC connection and one Fetch stream (Kafka's
 * replica fetcher thread). One loop: partitions that (re)joined first truncate to where their last epoch ends on
 * the leader (OffsetForLeaderEpoch), then one fetch for all fetching partitions is outstanding at a time; its
 * records are appended (durable per flush policy) before the next fetch, whose offsets acknowledge them.
 */
export class LeaderFetcher {
  private readonly states = new Map<Partition, FetchState>();
  private readonly client: grpc.Client;
  private stream: grpc.ClientDuplexStream<Buffer, Buffer> | null = null;
  private pending: { readonly requestId: number; resolve: (r: FetchResponseMessage) => void; reject: (e: Error) => void } | null = null;
  private nextRequestId = 1;
  private wake: (() => void) | null = null;
  private closed = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly logger: Logger;
  private readonly throttled: ThrottledLog;

  constructor(
    readonly leaderId: number,
    readonly address: string,
    private readonly ctx: FetcherContext,
  ) {
    this.logger = ctx.logger.child({ leader: leaderId, leaderAddress: address });
    this.throttled = new ThrottledLog(this.logger, 10_000, ctx.nowMs);
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), replicationChannelOptions());
  }

  get size(): number {
    return this.states.size;
  }

  partitions(): IterableIterator<Partition> {
    return this.states.keys();
  }

  start(): void {
    this.loopDone = this.loop().catch((err: unknown) => this.logger.error({ err }, 'replica fetcher stopped on an unexpected error'));
  }

  /** (Re)starts replicating `p` for its current leader epoch: truncation first. */
  add(p: Partition): void {
    this.states.set(p, { partition: p, leaderEpoch: p.leaderEpoch, phase: 'truncating', delayedUntilMs: 0 });
    this.kick();
  }

  remove(p: Partition): boolean {
    p.followerLagMessages = -1;
    return this.states.delete(p);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.kick();
    this.pending?.reject(new Error('fetcher closed'));
    this.pending = null;
    this.stream?.cancel();
    this.stream = null;
    await this.loopDone;
    this.client.close();
  }

  private kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private idle(untilMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, untilMs - this.ctx.nowMs()));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private delay(s: FetchState): void {
    s.delayedUntilMs = this.ctx.nowMs() + this.ctx.config.backoffMs;
  }

  private current(s: FetchState): boolean {
    return !this.closed && this.states.get(s.partition) === s && s.partition.role === 'follower' && s.partition.leaderEpoch === s.leaderEpoch;
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      const now = this.ctx.nowMs();
      const ready: FetchState[] = [];
      let nextReadyMs = now + 60_000;
      for (const s of this.states.values()) {
        if (s.delayedUntilMs <= now) ready.push(s);
        else nextReadyMs = Math.min(nextReadyMs, s.delayedUntilMs);
      }
      const truncating = ready.filter((s) => s.phase === 'truncating');
      if (truncating.length > 0) {
        await this.truncate(truncating);
        continue;
      }
      if (ready.length === 0) {
        await this.idle(nextReadyMs);
        continue;
      }
      let response: FetchResponseMessage;
      try {
        response = await this.fetch(ready);
      } catch (err) {
        if (this.closed) return;
        this.ctx.metrics.fetchErrors.inc({ error: 'CONNECTION' });
        this.throttled.warn('connection', { err: (err as Error).message, partitions: ready.length }, 'replication fetch from the leader failed; retrying');
        for (const s of ready) this.delay(s);
        continue;
      }
      await this.process(ready, response);
    }
  }

  // -------------------------------------------------------------------------------------------- truncation

  private async truncate(list: readonly FetchState[]): Promise<void> {
    const asking: FetchState[] = [];
    for (const s of list) {
      const p = s.partition;
      // Whatever this replica wrote before (a replicated append in flight, appends of its own leadership) is
      // settled and on disk first: the offsets it then reports acknowledge durable data.
      await p.settleReplicatedAppend();
      try {
        await p.log.flush();
      } catch (err) {
        this.logger.error({ err, topic: p.topic, partition: p.index }, 'flush before replication failed');
        this.delay(s);
        continue;
      }
      if (!this.current(s)) continue;
      if (p.log.latestEpoch < 0) {
        // Nothing epoch-stamped here (empty log): nothing can diverge.
        await p.truncateReplica(Math.min(p.highWatermark, p.logEndOffset), s.leaderEpoch, 'no leader epoch in the log');
        s.phase = 'fetching';
        continue;
      }
      asking.push(s);
    }
    if (asking.length === 0) return;
    let res: EpochResponseMessage;
    try {
      res = await this.askEpochs(asking);
    } catch (err) {
      if (this.closed) return;
      this.ctx.metrics.fetchErrors.inc({ error: 'CONNECTION' });
      this.throttled.warn('connection', { err: (err as Error).message, partitions: asking.length }, 'OffsetForLeaderEpoch to the leader failed; retrying');
      for (const s of asking) this.delay(s);
      return;
    }
    if (res.errorCode !== ErrorCode.NONE) {
      this.refusedByLeader(res.errorCode, res.errorMessage, asking);
      return;
    }
    const byKey = new Map(res.partitions.map((r) => [`${r.topicId}:${r.partition}`, r] as const));
    for (const s of asking) {
      const p = s.partition;
      const r = byKey.get(`${p.topicId}:${p.index}`);
      if (!this.current(s)) continue;
      if (r === undefined || r.errorCode !== ErrorCode.NONE) {
        const code = r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        this.ctx.metrics.fetchErrors.inc({ error: errorName(code) });
        this.throttled.warn(`epoch:${p.topic}-${p.index}:${code}`, { topic: p.topic, partition: p.index, error: errorName(code), leaderEpoch: s.leaderEpoch }, 'leader refused OffsetForLeaderEpoch; retrying');
        this.delay(s);
        continue;
      }
      const decision = truncationFor(p.log, r);
      await p.truncateReplica(decision.offset, s.leaderEpoch, 'leader epoch', { askedEpoch: p.log.latestEpoch, leaderAnswerEpoch: r.leaderEpoch, leaderAnswerEndOffset: r.endOffset });
      if (decision.complete && this.current(s)) s.phase = 'fetching';
    }
  }

  private askEpochs(list: readonly FetchState[]): Promise<EpochResponseMessage> {
    const body = EpochRequestCodec.encode({
      replicaId: this.ctx.nodeId,
      brokerEpoch: this.ctx.brokerEpoch(),
      partitions: list.map((s) => ({ topicId: s.partition.topicId, partition: s.partition.index, currentLeaderEpoch: s.leaderEpoch, leaderEpoch: s.partition.log.latestEpoch })),
    });
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        REPLICATION_EPOCH_PATH,
        identity,
        identity,
        body,
        new grpc.Metadata(),
        { deadline: Date.now() + this.ctx.config.socketTimeoutMs },
        (err, value) => {
          if (err) reject(err);
          else {
            try {
              resolve(EpochResponseCodec.decode(value!));
            } catch (e) {
              reject(e as Error);
            }
          }
        },
      );
    });
  }

  // ------------------------------------------------------------------------------------------------ fetch

  private fetch(list: readonly FetchState[]): Promise<FetchResponseMessage> {
    const c = this.ctx.config;
    const req: FetchRequestMessage = {
      requestId: this.nextRequestId++,
      replicaId: this.ctx.nodeId,
      brokerEpoch: this.ctx.brokerEpoch(),
      maxWaitMs: c.maxWaitMs,
      minBytes: c.minBytes,
      maxBytes: c.maxBytes,
      partitions: list.map((s) => {
        const log = s.partition.log;
        return {
          topicId: s.partition.topicId,
          partition: s.partition.index,
          currentLeaderEpoch: s.leaderEpoch,
          // Everything this fetcher appended resolved (durably, per the flush policy) before this fetch: the log
          // end is the acknowledgement.
          fetchOffset: isRelaxedFlush(log.getConfig()) ? log.logEndOffset : Math.min(log.logEndOffset, log.durableEndOffset),
          lastFetchedEpoch: log.latestEpoch,
          highWatermark: log.highWatermark,
          maxBytes: c.partitionMaxBytes,
        };
      }),
    };
    return this.exchange(req, c.maxWaitMs + c.socketTimeoutMs);
  }

  private exchange(req: FetchRequestMessage, timeoutMs: number): Promise<FetchResponseMessage> {
    const stream = this.ensureStream();
    return new Promise<FetchResponseMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending?.requestId !== req.requestId) return;
        this.pending = null;
        // The stream state is unknown: start a fresh one.
        if (this.stream === stream) this.stream = null;
        stream.cancel();
        reject(new Error(`no fetch response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = {
        requestId: req.requestId,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      stream.write(FetchRequestCodec.encode(req));
    });
  }

  private ensureStream(): grpc.ClientDuplexStream<Buffer, Buffer> {
    if (this.stream !== null) return this.stream;
    const stream = this.client.makeBidiStreamRequest(REPLICATION_FETCH_PATH, identity, identity, new grpc.Metadata());
    stream.on('data', (bytes: Buffer) => {
      let res: FetchResponseMessage;
      try {
        res = FetchResponseCodec.decode(bytes);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        this.logger.error({ err }, 'malformed fetch response from the leader; reconnecting');
        this.endStream(stream, err);
        stream.cancel();
        return;
      }
      const pending = this.pending;
      if (pending === null || pending.requestId !== res.requestId) return;
      this.pending = null;
      pending.resolve(res);
    });
    stream.on('error', (err: Error) => this.endStream(stream, err));
    stream.on('end', () => this.endStream(stream, new Error('leader closed the replication stream')));
    this.stream = stream;
    return stream;
  }

  private endStream(stream: grpc.ClientDuplexStream<Buffer, Buffer>, err: Error): void {
    if (this.stream !== stream) return;
    this.stream = null;
    const pending = this.pending;
    this.pending = null;
    pending?.reject(err);
  }

  private refusedByLeader(code: number, message: string, list: readonly FetchState[]): void {
    this.ctx.metrics.fetchErrors.inc({ error: errorName(code) });
    this.throttled.warn(`refused:${code}`, { error: errorName(code), reason: message, brokerEpoch: this.ctx.brokerEpoch(), partitions: list.length }, 'leader refused this broker; retrying');
    for (const s of list) this.delay(s);
  }

  private async process(list: readonly FetchState[], res: FetchResponseMessage): Promise<void> {
    if (res.errorCode !== ErrorCode.NONE) {
      this.refusedByLeader(res.errorCode, res.errorMessage, list);
      return;
    }
    const byKey = new Map(res.partitions.map((d) => [`${d.topicId}:${d.partition}`, d] as const));
    await Promise.all(
      list.map(async (s) => {
        const d = byKey.get(`${s.partition.topicId}:${s.partition.index}`);
        if (d === undefined) {
          if (this.current(s)) this.delay(s);
          return;
        }
        try {
          await this.processPartition(s, d);
        } catch (err) {
          this.logger.error({ err, topic: s.partition.topic, partition: s.partition.index }, 'processing fetched data failed');
          this.delay(s);
        }
      }),
    );
  }

  private async processPartition(s: FetchState, d: FetchPartitionData): Promise<void> {
    if (!this.current(s)) return;
    const p = s.partition;
    if (d.divergingEpoch !== null) {
      const decision = truncationFor(p.log, { leaderEpoch: d.divergingEpoch.epoch, endOffset: d.divergingEpoch.endOffset });
      await p.truncateReplica(decision.offset, s.leaderEpoch, 'diverging epoch', { lastFetchedEpoch: p.log.latestEpoch, divergingEpoch: d.divergingEpoch.epoch, divergingEndOffset: d.divergingEpoch.endOffset });
      if (!decision.complete) s.phase = 'truncating';
      return;
    }
    if (d.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      await this.outOfRange(s, d);
      return;
    }
    if (d.errorCode !== ErrorCode.NONE) {
      this.ctx.metrics.fetchErrors.inc({ error: errorName(d.errorCode) });
      const line = { topic: p.topic, partition: p.index, error: errorName(d.errorCode), leaderEpoch: s.leaderEpoch };
      if (d.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || d.errorCode === ErrorCode.UNKNOWN_LEADER_EPOCH) this.throttled.info(`fetch:${p.topic}-${p.index}:${d.errorCode}`, line, 'leader refused the fetch of a partition (leadership change in flight); retrying');
      else this.throttled.warn(`fetch:${p.topic}-${p.index}:${d.errorCode}`, line, 'leader refused the fetch of a partition; retrying');
      this.delay(s);
      return;
    }
    if (d.records.length > 0) {
      const appending = p.appendReplicated(d.records, s.leaderEpoch);
      if (appending === null) return;
      try {
        await appending;
        this.ctx.metrics.bytesIn.inc(d.records.length);
      } catch (err) {
        const code = errorCodeOf(err);
        if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
          // The leader sent what this log already has (or less): agree on the divergence point again.
          s.phase = 'truncating';
          return;
        }
        if (code === ErrorCode.KAFKA_STORAGE_ERROR || code === ErrorCode.UNKNOWN_SERVER_ERROR) this.logger.error({ err, topic: p.topic, partition: p.index }, 'appending replicated batches failed');
        else this.throttled.warn(`append:${p.topic}-${p.index}:${code}`, { err, topic: p.topic, partition: p.index }, 'replicated batches refused by the log; retrying');
        this.delay(s);
        return;
      }
    }
    if (!this.current(s)) return;
    p.updateFollowerHighWatermark(d.highWatermark);
    if (d.logStartOffset > p.logStartOffset && d.logStartOffset <= p.logEndOffset) {
      // The leader's log start moved (DeleteRecords, retention): follow it.
      await p.log.deleteRecordsBefore(d.logStartOffset);
    }
    p.followerLagMessages = Math.max(0, d.logEndOffset - p.logEndOffset);
  }

  /** Kafka's handleOutOfRangeError: ahead of the leader -> truncate to its end; behind its start -> restart there. */
  private async outOfRange(s: FetchState, d: FetchPartitionData): Promise<void> {
    const p = s.partition;
    const end = p.logEndOffset;
    if (d.logEndOffset >= 0 && end > d.logEndOffset) {
      await p.truncateReplica(d.logEndOffset, s.leaderEpoch, 'ahead of the leader log end', { leaderLogEndOffset: d.logEndOffset });
      return;
    }
    if (d.logStartOffset >= 0 && end < d.logStartOffset) {
      await p.restartReplicaAt(d.logStartOffset, s.leaderEpoch);
      return;
    }
    this.delay(s);
  }
}
