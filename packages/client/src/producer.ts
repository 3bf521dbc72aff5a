import { ConfigError, ErrorCode, KafkaProtocolError, errorName } from '@fluxo/common';
import { apis, encodeRecordBatch, type ProduceRequest, type ProduceResponse } from '@fluxo/protocol';
import { Cluster, needsMetadataRefresh, topicError, type ClusterOptions, type TopicMetadata } from './cluster.js';
import type { Connection } from './connection.js';
import { compressionCodec, type CompressionName } from './compression.js';
import { normalizeHeaders, normalizeTimestamp, toBytes, type Message } from './messages.js';
import { DefaultPartitioner, type Partitioner } from './partitioner.js';
import { ProducerIdentityState } from './producer-identity.js';
import {
  RecordAccumulator,
  SendCompletion,
  estimateRecordSizeBytes,
  RECORD_BATCH_OVERHEAD_BYTES,
  type DrainedBatch,
  type OutgoingRecord,
  type RecordMetadata,
} from './record-accumulator.js';
import { backoffMs, isRetriableError } from './retry.js';

export type Acks = 0 | 1 | -1;

export interface ProducerOptions extends ClusterOptions {
  /** Default acks: 0 none, 1 leader, -1 all in-sync replicas (Kafka's default since 3.0). */
  acks?: Acks;
  compression?: CompressionName;
  /** Kafka linger.ms: how long a batch waits for more records. */
  lingerMs?: number;
  /** Kafka batch.size: a partition with this many bytes queued sends without waiting. */
  batchSizeBytes?: number;
  /** Kafka max.request.size: the largest record and the largest Produce request. */
  maxRequestSizeBytes?: number;
  /** Kafka buffer.memory: queued bytes before send() waits. */
  bufferMemoryBytes?: number;
  /** Produce request timeoutMs: how long the broker may wait for replication (acks=-1). */
  ackTimeoutMs?: number;
  partitioner?: Partitioner;
  /**
   * Produce requests per partition in flight at once (Kafka max.in.flight.requests.per.connection, default 5
   * like Kafka). Order per partition holds unless a batch fails with a retriable error while a later batch of
   * the same partition is in flight and that one succeeds: the retried batch then lands after it, as with
   * Kafka's producer without idempotence. Set 1 to keep order across retries too.
   */
  maxInFlightRequestsPerPartition?: number;
  /** Ask the broker to create unknown topics (it decides, per auto.create.topics.enable). Default true. */
  allowAutoTopicCreation?: boolean;
  /**
   * Kafka enable.idempotence: each partition's records are written exactly once and in order, even when a
   * send is retried after a timeout, a lost connection or a leader change. The producer gets an id from the
   * cluster (InitProducerId), numbers each partition's records, and resends a failed batch unchanged so the
   * broker recognises a duplicate and answers with its original offsets. Needs acks=-1 (all) and at most 5
   * batches in flight per partition (both Kafka's rules). Default false in @fluxo/client for now: brokers
   * without InitProducerId (older Fluxo nodes) would refuse the producer, and a producer that hits a sequence
   * gap restarts its partition's sequence under a bumped epoch (Kafka's behaviour) rather than failing.
   */
  idempotent?: boolean;
  /**
   * Kafka delivery.timeout.ms, for idempotent producers: a batch is retried (retriable errors, sequence
   * errors) until this long after its first send, instead of a fixed retry count. Default 120000.
   */
  deliveryTimeoutMs?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: Message[];
  acks?: Acks;
  compression?: CompressionName;
}

export type { RecordMetadata } from './record-accumulator.js';

/**
 * Batching producer: send() places records in per-partition queues (RecordAccumulator); a sender drains ready
 * partitions into Produce requests per leader, one v2 batch per partition and request, with up to
 * maxInFlightRequestsPerPartition batches of a partition pipelined, and retries retriable errors (failed
 * batches go back to the front in their original order). With `idempotent: true` batches carry a producer id,
 * epoch and sequence numbers and a failed batch is resent unchanged (see ProducerOptions.idempotent).
 */
export class Producer {
  readonly cluster: Cluster;
  private readonly accumulator: RecordAccumulator;
  private readonly partitioner: Partitioner;
  private readonly acks: Acks;
  private readonly compression: number;
  private readonly maxRequestSizeBytes: number;
  private readonly ackTimeoutMs: number;
  private readonly allowAutoTopicCreation: boolean;
  private senderScheduled = false;
  private lingerTimer: NodeJS.Timeout | null = null;
  private lingerTimerAtMs = 0;
  private refreshingLeaders = false;
  private closed = false;
  /** send() calls append in call order even when one waits for metadata or buffer space. */
  private appendTail: Promise<unknown> = Promise.resolve();
  /** send() calls on the slow path (waiting for metadata or space); while any is, none takes the fast path. */
  private waitingAppends = 0;
  /** Per leader: requests reach its connection's queue in the order they were built (pipelined batches). */
  private readonly connectTails = new Map<number, Promise<unknown>>();
  /** Idempotence (null without): producer id and epoch. */
  private readonly idempotence: ProducerIdentityState | null;
  private readonly deliveryTimeoutMs: number;
  /** When InitProducerId started failing (retriably); null while it works. */
  private initFailingSinceMs: number | null = null;

  constructor(options: ProducerOptions) {
    this.cluster = new Cluster(options);
    this.partitioner = options.partitioner ?? new DefaultPartitioner();
    this.acks = validateAcks(options.acks ?? -1);
    this.compression = compressionCodec(options.compression ?? 'none');
    this.maxRequestSizeBytes = options.maxRequestSizeBytes ?? 1_048_576;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.allowAutoTopicCreation = options.allowAutoTopicCreation ?? true;
    const maxInFlight = options.maxInFlightRequestsPerPartition ?? 5;
    this.idempotence = options.idempotent === true ? new ProducerIdentityState(this.cluster) : null;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 120_000;
    if (this.idempotence !== null) {
      // Kafka's ConfigException cases for enable.idempotence.
      if (this.acks !== -1) throw new ConfigError('acks', 'must be -1 (all) for an idempotent producer');
      if (maxInFlight > 5) throw new ConfigError('maxInFlightRequestsPerPartition', 'must be at most 5 for an idempotent producer');
    }
    const idempotence = this.idempotence;
    const batchSizeBytes = options.batchSizeBytes ?? 16_384;
    this.accumulator = new RecordAccumulator({
      batchSizeBytes,
      lingerMs: options.lingerMs ?? 5,
      // Room for the batch header within max.request.size and the broker's default max.message.bytes.
      maxBatchSizeBytes: Math.max(batchSizeBytes, this.maxRequestSizeBytes - 1024),
      bufferMemoryBytes: options.bufferMemoryBytes ?? 32 * 1024 * 1024,
      maxInFlightBatchesPerPartition: maxInFlight,
      onBatchClosed: (topic, partition) => this.partitioner.onBatchClosed?.(topic, partition),
      ...(idempotence !== null ? { identity: () => idempotence.identity() } : {}),
    });
  }

  /** Connects; an idempotent producer also gets its producer id (a broker without InitProducerId fails here). */
  async connect(): Promise<void> {
    await this.cluster.connect();
    if (this.idempotence !== null) await this.idempotence.ensure();
  }

  /**
   * Sends messages to one topic; resolves with each message's partition and offset once acknowledged.
   * Records of successive send() calls are appended (and so ordered per partition) in call order.
   */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    // Fast path (no promise chain): nothing waits before this call, metadata is cached and fresh, and there is
    // buffer space, so the records are queued now, in call order.
    if (this.waitingAppends === 0 && !this.closed && this.accumulator.hasSpace) {
      const metadata = typeof record?.topic === 'string' ? this.cluster.freshTopic(record.topic) : undefined;
      if (metadata !== undefined) {
        try {
          return this.appendNow(record, metadata).promise;
        } catch (err) {
          return Promise.reject(err as Error);
        }
      }
    }
    this.waitingAppends++;
    const appended = this.appendTail.then(() => this.append(record)).finally(() => {
      this.waitingAppends--;
    });
    this.appendTail = appended.catch(() => undefined);
    return appended.then((completion) => completion.promise);
  }

  private async append(record: ProducerRecord): Promise<SendCompletion> {
    this.checkRecord(record);
    // Bad options fail before any metadata lookup (appendNow checks them again, cheaply).
    validateAcks(record.acks ?? this.acks);
    if (record.compression !== undefined) compressionCodec(record.compression);
    const metadata = await this.cluster.topicMetadata(record.topic, { allowAutoTopicCreation: this.allowAutoTopicCreation });
    await this.accumulator.waitForSpace();
    return this.appendNow(record, metadata);
  }

  private checkRecord(record: ProducerRecord): void {
    if (this.closed) throw new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, 'the producer is closed');
    const fatal = this.idempotence?.fatalError;
    if (fatal) throw fatal;
    if (typeof record.topic !== 'string' || record.topic.length === 0) {
      throw new KafkaProtocolError(ErrorCode.INVALID_TOPIC_EXCEPTION, 'send() needs a topic name');
    }
    if (!Array.isArray(record.messages)) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'send() needs an array of messages');
  }

  /** Validates and queues the records of one send() call (synchronous; throws before queueing any). */
  private appendNow(record: ProducerRecord, metadata: TopicMetadata): SendCompletion {
    this.checkRecord(record);
    const acks = validateAcks(record.acks ?? this.acks);
    if (this.idempotence !== null && acks !== -1) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REQUIRED_ACKS, `an idempotent producer sends with acks=-1 (all), not ${acks} (INVALID_REQUIRED_ACKS)`);
    }
    const compression = record.compression === undefined ? this.compression : compressionCodec(record.compression);
    const partitionCount = metadata.partitions.length;
    let available: number[] | null = null;

    const messages = record.messages;
    const count = messages.length;
    const completion = new SendCompletion(count);
    const nowMs = Date.now();
    // Validate everything first so that a bad message fails the call before any record is queued.
    const outs = new Array<OutgoingRecord>(count);
    const partitions = new Array<number>(count);
    for (let index = 0; index < count; index++) {
      const m = messages[index]!;
      const out: OutgoingRecord = {
        key: toBytes(m.key),
        value: toBytes(m.value),
        headers: normalizeHeaders(m.headers),
        timestampMs: normalizeTimestamp(m.timestamp, nowMs),
      };
      const sizeBytes = estimateRecordSizeBytes(out) + RECORD_BATCH_OVERHEAD_BYTES;
      if (sizeBytes > this.maxRequestSizeBytes) {
        throw new KafkaProtocolError(
          ErrorCode.MESSAGE_TOO_LARGE,
          `message ${index} is ${sizeBytes} bytes serialized, more than maxRequestSizeBytes ${this.maxRequestSizeBytes} (MESSAGE_TOO_LARGE)`,
        );
      }
      let partition: number;
      if (m.partition !== undefined && m.partition !== null) {
        partition = m.partition;
        if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
          throw new KafkaProtocolError(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `partition ${partition} of topic ${record.topic} does not exist (it has ${partitionCount}) (UNKNOWN_TOPIC_OR_PARTITION)`,
          );
        }
      } else {
        partition = -1;
      }
      outs[index] = out;
      partitions[index] = partition;
    }
    for (let index = 0; index < count; index++) {
      const out = outs[index]!;
      let partition = partitions[index]!;
      if (partition < 0) {
        available ??= metadata.partitions.filter((x) => x.leader >= 0).map((x) => x.partition);
        partition = this.partitioner.partition({ topic: record.topic, key: out.key, partitionCount, availablePartitions: available });
      }
      this.accumulator.append(record.topic, partition, { record: out, acks, compression, completion, index }, nowMs);
    }
    this.scheduleSender();
    return completion;
  }

  /** Several topics in one call (kafkajs sendBatch). */
  async sendBatch(batch: { topicMessages: { topic: string; messages: Message[] }[]; acks?: Acks; compression?: CompressionName }): Promise<RecordMetadata[]> {
    const results = await Promise.all(
      batch.topicMessages.map((tm) => {
        const record: ProducerRecord = { topic: tm.topic, messages: tm.messages };
        if (batch.acks !== undefined) record.acks = batch.acks;
        if (batch.compression !== undefined) record.compression = batch.compression;
        return this.send(record);
      }),
    );
    return results.flat();
  }

  /** Sends everything queued now, ignoring linger, and waits until it is acknowledged or failed. */
  async flush(): Promise<void> {
    // send() calls still waiting for metadata or buffer space are part of what is flushed.
    await this.appendTail;
    this.accumulator.beginFlush();
    try {
      this.scheduleSender();
      await this.accumulator.waitForEmpty();
    } finally {
      this.accumulator.endFlush();
    }
  }

  /** Flushes, then closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      this.accumulator.abortAll(new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, 'the producer was closed'));
      await this.cluster.close();
    }
  }

  private scheduleSender(): void {
    if (this.senderScheduled || this.closed) return;
    this.senderScheduled = true;
    // setImmediate: records appended in the same tick (one send() call, many concurrent sends) share requests.
    setImmediate(() => {
      this.senderScheduled = false;
      this.runSender();
    });
  }

  private runSender(): void {
    if (this.closed) return;
    // A partition with more than one full batch queued sends several (pipelined) in one run.
    for (let round = 0; this.sendReady() && round < 100; round++);
  }

  /** Drains every ready partition once into requests; false when nothing was drained. */
  private sendReady(): boolean {
    if (this.idempotence?.needsInit) this.initProducerId();
    const nowMs = Date.now();
    const { ready, nextReadyInMs } = this.accumulator.ready(nowMs);
    if (nextReadyInMs !== null) this.armLingerTimer(nowMs + nextReadyInMs);
    if (ready.length === 0) return false;

    let drained = false;
    const byLeader = new Map<number, DrainedBatch[]>();
    for (const tp of ready) {
      const batch = this.accumulator.drain(tp.topic, tp.partition);
      if (!batch) continue;
      drained = true;
      const leader = this.cluster.leaderFor(tp.topic, tp.partition);
      if (leader < 0) {
        this.retryOrFail(batch, new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `no leader for ${tp.topic}-${tp.partition} (LEADER_NOT_AVAILABLE)`));
        continue;
      }
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push(batch);
    }
    for (const [leader, batches] of byLeader) {
      // One request per acks value, each under max.request.size.
      let current: DrainedBatch[] = [];
      let currentBytes = 0;
      const sorted = batches.sort((a, b) => a.acks - b.acks);
      for (const batch of sorted) {
        if (current.length > 0 && (current[0]!.acks !== batch.acks || currentBytes + batch.sizeBytes > this.maxRequestSizeBytes)) {
          void this.sendRequest(leader, current);
          current = [];
          currentBytes = 0;
        }
        current.push(batch);
        currentBytes += batch.sizeBytes;
      }
      if (current.length > 0) void this.sendRequest(leader, current);
    }
    return drained;
  }

  /** InitProducerId (start, epoch bump, new id) in the background; the sender runs again once it is done. */
  private initProducerId(): void {
    const idempotence = this.idempotence!;
    idempotence.ensure().then(
      () => {
        if (idempotence.identity() !== null) {
          this.initFailingSinceMs = null;
          this.scheduleSender();
          return;
        }
        // No producer id yet (no broker reachable, or none could allocate one): queued records give up after
        // the delivery timeout, like batches that cannot be sent; later sends try again.
        this.initFailingSinceMs ??= Date.now();
        if (Date.now() - this.initFailingSinceMs >= this.deliveryTimeoutMs) {
          this.initFailingSinceMs = null;
          this.accumulator.abortAll(new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, `no producer id from the cluster within deliveryTimeoutMs ${this.deliveryTimeoutMs}`));
          return;
        }
        setTimeout(() => this.scheduleSender(), backoffMs(this.cluster.retryOptions, 3)).unref();
      },
      (err: Error) => {
        // Fatal (the cluster cannot give this producer an id): nothing queued can be sent.
        this.accumulator.abortAll(err);
      },
    );
  }

  private armLingerTimer(atMs: number): void {
    if (this.lingerTimer && this.lingerTimerAtMs <= atMs) return;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimerAtMs = atMs;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.runSender();
    }, Math.max(0, atMs - Date.now()));
  }

  /**
   * The leader's connection, acquired in call order: a request built later never reaches the connection's
   * queue before one built earlier (pipelined batches of a partition stay in order on the wire).
   */
  private orderedConnectionTo(leader: number): Promise<Connection> {
    const tail = this.connectTails.get(leader) ?? Promise.resolve();
    const connection = tail.then(() => this.cluster.connectionTo(leader));
    const next = connection.then(
      () => undefined,
      () => undefined,
    );
    this.connectTails.set(leader, next);
    void next.then(() => {
      if (this.connectTails.get(leader) === next) this.connectTails.delete(leader);
    });
    return connection;
  }

  private async sendRequest(leader: number, batches: DrainedBatch[]): Promise<void> {
    const acks = batches[0]!.acks;
    try {
      const body = this.buildRequest(acks, batches);
      // connection.send() below queues the request synchronously once the connection is resolved, before
      // the next request's connection resolves.
      const connection = await this.orderedConnectionTo(leader);
      if (acks === 0) {
        await connection.send(apis.Produce, body, { expectResponse: false });
        for (const batch of batches) {
          this.accumulator.complete(batch, -1, -1);
          this.countDelivered(batch);
        }
      } else {
        const response = await connection.send(apis.Produce, body, { timeoutMs: this.cluster.requestTimeoutMs + this.ackTimeoutMs });
        this.handleResponse(batches, response);
      }
    } catch (err) {
      for (const batch of batches) this.retryOrFail(batch, err as Error);
    } finally {
      this.scheduleSender();
    }
  }

  private buildRequest(acks: number, batches: DrainedBatch[]): ProduceRequest {
    const byTopic = new Map<string, { index: number; records: Buffer }[]>();
    for (const batch of batches) {
      let list = byTopic.get(batch.topic);
      if (!list) byTopic.set(batch.topic, (list = []));
      const first = batch.records[0]!.record;
      list.push({
        index: batch.partition,
        records: encodeRecordBatch({
          baseOffset: 0,
          baseTimestamp: first.timestampMs,
          producerId: batch.producerId,
          producerEpoch: batch.producerEpoch,
          baseSequence: batch.baseSequence,
          compression: batch.compression,
          records: batch.records.map((r, i) => ({
            key: r.record.key,
            value: r.record.value,
            headers: r.record.headers,
            timestamp: r.record.timestampMs,
            offsetDelta: i,
          })),
        }),
      });
    }
    return {
      transactionalId: null,
      acks,
      timeoutMs: this.ackTimeoutMs,
      topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })),
    };
  }

  private handleResponse(batches: DrainedBatch[], response: ProduceResponse): void {
    const results = new Map<string, ProduceResponse['responses'][number]['partitionResponses'][number]>();
    for (const t of response.responses) for (const p of t.partitionResponses) results.set(`${t.name}\u0000${p.index}`, p);
    for (const batch of batches) {
      const r = results.get(`${batch.topic}\u0000${batch.partition}`);
      if (!r) {
        this.retryOrFail(batch, new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `no produce result for ${batch.topic}-${batch.partition}`));
        continue;
      }
      if (r.errorCode === ErrorCode.NONE || (r.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER && batch.baseSequence >= 0)) {
        // DUPLICATE_SEQUENCE_NUMBER (older brokers): written before, offsets unknown (-1), like Kafka's producer.
        this.accumulator.complete(batch, r.errorCode === ErrorCode.NONE ? r.baseOffset : -1, r.logAppendTimeMs ?? -1);
        this.countDelivered(batch);
        continue;
      }
      if (batch.baseSequence >= 0 && this.retryIdempotent(batch, r.errorCode, r.errorMessage ?? null)) continue;
      if ((r.errorCode === ErrorCode.MESSAGE_TOO_LARGE || r.errorCode === ErrorCode.RECORD_LIST_TOO_LARGE) && this.accumulator.splitAndRequeue(batch)) {
        this.cluster.logger.info({ topic: batch.topic, partition: batch.partition, records: batch.records.length }, 'batch too large for the topic, splitting');
        if (batch.baseSequence >= 0) this.idempotence!.requestBump({ producerId: batch.producerId, producerEpoch: batch.producerEpoch });
        continue;
      }
      const detail = r.errorMessage ? `: ${r.errorMessage}` : '';
      const err =
        r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          ? topicError(batch.topic, r.errorCode)
          : new KafkaProtocolError(r.errorCode, `produce to ${batch.topic}-${batch.partition} failed${detail} (${errorName(r.errorCode)})`);
      this.retryOrFail(batch, err);
    }
  }

  private countDelivered(batch: DrainedBatch): void {
    const metrics = this.cluster.metrics;
    if (!metrics) return;
    metrics.producedBatches.inc();
    metrics.producedRecords.inc(batch.records.length);
  }

  /**
   * Idempotence errors, handled like Kafka's producer (TransactionManager.canRetry): the batch is retried
   * unchanged or, once the partition resequences, re-batched under the next epoch. True when handled.
   */
  private retryIdempotent(batch: DrainedBatch, code: number, message: string | null): boolean {
    const idempotence = this.idempotence!;
    const identity = { producerId: batch.producerId, producerEpoch: batch.producerEpoch };
    const detail = message ? `: ${message}` : '';
    const err = new KafkaProtocolError(code, `produce to ${batch.topic}-${batch.partition} failed${detail} (${errorName(code)})`);
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) {
      // For the batch the broker should take next this is a real gap; for a later one an earlier batch is
      // still to land (it failed too, and goes first again).
      const gap = this.accumulator.isNextSequence(batch);
      this.requeueIdempotent(batch, err, gap ? 'bump' : 'none');
      return true;
    }
    if (code === ErrorCode.UNKNOWN_PRODUCER_ID) {
      // The broker lost our state (older brokers; KIP-360): bump the epoch and restart the sequence.
      this.requeueIdempotent(batch, err, 'bump');
      return true;
    }
    if (code === ErrorCode.INVALID_PRODUCER_EPOCH) {
      const current = idempotence.identity();
      const stale = current === null || current.producerId !== batch.producerId || current.producerEpoch > batch.producerEpoch;
      // A batch of an epoch this producer already left is resent under the new one; otherwise the partition
      // has a newer epoch than ours: start over with a new producer id.
      if (!stale) idempotence.requestReset(identity);
      this.requeueIdempotent(batch, err, 'resequence');
      return true;
    }
    return false;
  }

  private requeueIdempotent(batch: DrainedBatch, err: KafkaProtocolError, action: 'none' | 'bump' | 'resequence'): void {
    if (this.closed || Date.now() - batch.firstSentAtMs >= this.deliveryTimeoutMs) {
      this.retryOrFail(batch, err);
      return;
    }
    this.cluster.metrics?.produceRetries.inc({ error: err.type });
    this.cluster.logger.debug({ topic: batch.topic, partition: batch.partition, sequence: batch.baseSequence, action, err: err.message }, 'retrying idempotent produce');
    this.accumulator.requeue(batch, Date.now() + backoffMs(this.cluster.retryOptions, Math.min(batch.attempts, 3)));
    if (action === 'bump') this.idempotence!.requestBump({ producerId: batch.producerId, producerEpoch: batch.producerEpoch });
    if (action !== 'none') this.accumulator.resequencePartition(batch.topic, batch.partition);
  }

  private retryOrFail(batch: DrainedBatch, err: Error): void {
    const error = err instanceof KafkaProtocolError ? err.type : err.name;
    const idempotent = batch.baseSequence >= 0;
    const mayRetry = idempotent ? Date.now() - batch.firstSentAtMs < this.deliveryTimeoutMs : batch.attempts < this.cluster.retryOptions.retries;
    if (!this.closed && isRetriableError(err) && mayRetry) {
      this.cluster.metrics?.produceRetries.inc({ error });
      this.cluster.logger.debug({ topic: batch.topic, partition: batch.partition, attempt: batch.attempts + 1, err: err.message }, 'retrying produce');
      this.accumulator.requeue(batch, Date.now() + backoffMs(this.cluster.retryOptions, batch.attempts));
      if (needsMetadataRefresh(err.code)) this.refreshLeaders();
      return;
    }
    this.cluster.metrics?.produceFailures.inc({ error });
    this.cluster.logger.warn({ topic: batch.topic, partition: batch.partition, records: batch.records.length, err: err.message }, 'produce failed');
    this.accumulator.fail(batch, err);
    if (idempotent) {
      // The partition's sequence now has a gap: later batches restart at 0 under a bumped epoch (Kafka's producer).
      this.idempotence!.requestBump({ producerId: batch.producerId, producerEpoch: batch.producerEpoch });
      this.accumulator.resequencePartition(batch.topic, batch.partition);
    }
  }

  /** One metadata refresh at a time; the sender runs again once leaders are known. */
  private refreshLeaders(): void {
    if (this.refreshingLeaders) return;
    this.refreshingLeaders = true;
    this.cluster.markStale();
    this.cluster
      .refreshMetadata([], { allowAutoTopicCreation: this.allowAutoTopicCreation })
      .catch((err: Error) => this.cluster.logger.debug({ err: err.message }, 'metadata refresh failed'))
      .finally(() => {
        this.refreshingLeaders = false;
        this.scheduleSender();
      });
  }
}

function validateAcks(acks: number): Acks {
  if (acks !== 0 && acks !== 1 && acks !== -1) {
    throw new KafkaProtocolError(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1 (all), not ${acks} (INVALID_REQUIRED_ACKS)`);
  }
  return acks;
}
