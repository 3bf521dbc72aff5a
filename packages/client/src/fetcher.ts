import { ErrorCode, KafkaProtocolError, errorName } from '@fluxo/common';
import { ControlRecordType, apis, decodeControlRecordType, decodeRecordBatch, readBatchHeader, verifyBatchCrc } from '@fluxo/protocol';
import { needsMetadataRefresh, topicError, type Cluster } from './cluster.js';
import { isolationLevelCode, listOffsets, specTimestamp, type IsolationLevel } from './list-offsets.js';
import { backoffMs, isRetriableError, sleep } from './retry.js';

export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  /** CreateTime, or LogAppendTime for topics that use it. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

export type OffsetResetStrategy = 'earliest' | 'latest' | 'none';
export type StartOffset = number | 'earliest' | 'latest';

export interface FetcherOptions {
  /** Kafka fetch.min.bytes: the broker holds the fetch until this much data is ready or maxWait passes. */
  fetchMinBytes?: number;
  /** Kafka fetch.max.wait.ms: long-poll time. */
  fetchMaxWaitMs?: number;
  /** Kafka fetch.max.bytes: whole-response limit. */
  maxBytes?: number;
  /** Kafka max.partition.fetch.bytes. */
  maxPartitionBytes?: number;
  /** Kafka auto.offset.reset: where to go when the position is out of range or unset. */
  autoOffsetReset?: OffsetResetStrategy;
  isolationLevel?: IsolationLevel;
  /** Kafka check.crcs. */
  checkCrcs?: boolean;
}

/** Records fetched for one partition; `generation` ties them to the seek/assign that produced them. */
export interface PartitionRecords {
  topic: string;
  partition: number;
  generation: number;
  records: ConsumerRecord[];
  highWatermark: number;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to fetch; null until reset by `resetTo`. */
  position: number | null;
  /** 'committed': the group's committed offset, else autoOffsetReset (assign() with a group id). */
  resetTo: 'earliest' | 'latest' | 'committed' | null;
  paused: boolean;
  /** Renewed by seek(), assign() and unassignment: fetches issued before it are dropped. Unique across the
   * fetcher's partition states, so records fetched for a partition before it was unassigned are never taken
   * for current when it is assigned again (as an eager rebalance does). */
  generation: number;
  highWatermark: number;
  /** Raised when one batch is larger than maxPartitionBytes, so the fetch can make progress. */
  maxBytes: number;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** The group's committed offsets of these partitions, in order; -1 where there is none. */
export type CommittedOffsetLookup = (partitions: { topic: string; partition: number }[]) => Promise<number[]>;

/**
 * The fetch loop of a consumer, independent of how partitions were chosen (assign() now, group assignment
 * later): positions, offset reset, one long-poll Fetch per leader per round, batch parsing and filtering.
 */
export class Fetcher {
  private readonly fetchMinBytes: number;
  private readonly fetchMaxWaitMs: number;
  private readonly maxBytes: number;
  private readonly maxPartitionBytes: number;
  private readonly autoOffsetReset: OffsetResetStrategy;
  private readonly isolationLevel: IsolationLevel;
  private readonly checkCrcs: boolean;
  private readonly states = new Map<string, PartitionState>();
  private wakeUp: (() => void) | null = null;
  private failures = 0;
  private closed = false;
  private lastGeneration = 0;
  private committedLookup: CommittedOffsetLookup | null = null;

  constructor(
    private readonly cluster: Cluster,
    options: FetcherOptions = {},
  ) {
    this.fetchMinBytes = options.fetchMinBytes ?? 1;
    this.fetchMaxWaitMs = options.fetchMaxWaitMs ?? 500;
    this.maxBytes = options.maxBytes ?? 52_428_800;
    this.maxPartitionBytes = options.maxPartitionBytes ?? 1_048_576;
    this.autoOffsetReset = options.autoOffsetReset ?? 'latest';
    this.isolationLevel = options.isolationLevel ?? 'read_uncommitted';
    this.checkCrcs = options.checkCrcs ?? true;
  }

  /** Replaces the assignment. Partitions kept keep their position unless a start offset is given. */
  assign(partitions: { topic: string; partition: number; offset?: StartOffset }[]): void {
    const next = new Map<string, PartitionState>();
    for (const p of partitions) {
      const key = tpKey(p.topic, p.partition);
      const existing = this.states.get(key);
      const state: PartitionState = existing ?? {
        topic: p.topic,
        partition: p.partition,
        position: null,
        resetTo: null,
        paused: false,
        generation: 0,
        highWatermark: -1,
        maxBytes: this.maxPartitionBytes,
      };
      if (p.offset !== undefined || !existing) this.setPosition(state, p.offset);
      next.set(key, state);
    }
    for (const [key, state] of this.states) if (!next.has(key)) state.generation = this.nextGeneration();
    this.states.clear();
    for (const [key, state] of next) this.states.set(key, state);
    this.wake();
  }

  assignment(): { topic: string; partition: number }[] {
    return [...this.states.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  private setPosition(state: PartitionState, offset: StartOffset | undefined): void {
    state.generation = this.nextGeneration();
    if (offset === undefined && this.committedLookup) {
      state.position = null;
      state.resetTo = 'committed';
    } else if (offset === undefined) {
      state.position = null;
      state.resetTo = this.autoOffsetReset === 'none' ? null : this.autoOffsetReset;
      if (state.resetTo === null) {
        throw new KafkaProtocolError(ErrorCode.OFFSET_OUT_OF_RANGE, `no offset given for ${state.topic}-${state.partition} and autoOffsetReset is none`);
      }
    } else if (offset === 'earliest' || offset === 'latest') {
      state.position = null;
      state.resetTo = offset;
    } else {
      if (!Number.isSafeInteger(offset) || offset < 0) {
        throw new KafkaProtocolError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${String(offset)} for ${state.topic}-${state.partition} must be a non-negative integer`);
      }
      state.position = offset;
      state.resetTo = null;
    }
  }

  private state(topic: string, partition: number): PartitionState {
    const state = this.states.get(tpKey(topic, partition));
    if (!state) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}-${partition} is not assigned to this consumer`);
    return state;
  }

  seek(topic: string, partition: number, offset: StartOffset): void {
    this.setPosition(this.state(topic, partition), offset);
    this.wake();
  }

  /** Next offset to fetch, or null while it is being reset. */
  position(topic: string, partition: number): number | null {
    return this.state(topic, partition).position;
  }

  generation(topic: string, partition: number): number {
    return this.states.get(tpKey(topic, partition))?.generation ?? -1;
  }

  /** Whether records of this generation are still wanted (not seeked past, still assigned). */
  isCurrent(topic: string, partition: number, generation: number): boolean {
    const s = this.states.get(tpKey(topic, partition));
    return s !== undefined && s.generation === generation;
  }

  isPaused(topic: string, partition: number): boolean {
    return this.states.get(tpKey(topic, partition))?.paused ?? false;
  }

  pause(topic: string, partition: number): void {
    this.state(topic, partition).paused = true;
  }

  resume(topic: string, partition: number): void {
    this.state(topic, partition).paused = false;
    this.wake();
  }

  paused(): { topic: string; partition: number }[] {
    return [...this.states.values()].filter((s) => s.paused).map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  highWatermark(topic: string, partition: number): number {
    return this.state(topic, partition).highWatermark;
  }

  /**
   * With a lookup (a consumer with a group id), partitions assigned without a start offset start at the
   * group's committed offset, and only without one per autoOffsetReset (Kafka's rule for assign()).
   */
  useCommittedOffsets(lookup: CommittedOffsetLookup | null): void {
    this.committedLookup = lookup;
  }

  private nextGeneration(): number {
    return ++this.lastGeneration;
  }

  /** The owner is shutting down: fetches still out end quietly (their connections close under them). */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Unblocks a fetch round waiting for something to fetch. */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  /**
   * One round: resolves pending offset resets, then one Fetch per leader in parallel. Resolves with the
   * records of every partition that had any (possibly none after fetchMaxWaitMs). Retriable errors back off
   * and refresh metadata; others reject.
   */
  async fetchOnce(): Promise<PartitionRecords[]> {
    try {
      await this.cluster.refreshIfStale();
      await this.resetPositions();
      const fetchable = [...this.states.values()].filter((s) => !s.paused && s.position !== null);
      if (fetchable.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.wakeUp = null;
            resolve();
          }, this.fetchMaxWaitMs);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        return [];
      }
      const byLeader = new Map<number, PartitionState[]>();
      let leaderMissing = false;
      for (const s of fetchable) {
        const leader = this.cluster.leaderFor(s.topic, s.partition);
        if (leader < 0) {
          leaderMissing = true;
          continue;
        }
        let list = byLeader.get(leader);
        if (!list) byLeader.set(leader, (list = []));
        list.push(s);
      }
      if (leaderMissing) await this.refreshMetadata(fetchable);
      const results = await Promise.all([...byLeader].map(([leader, states]) => this.fetchFrom(leader, states)));
      this.failures = 0;
      const flat = results.flat();
      if (this.cluster.metrics) {
        let n = 0;
        for (const r of flat) n += r.records.length;
        this.cluster.metrics.consumedRecords.inc(n);
      }
      return flat;
    } catch (err) {
      if (this.closed) return [];
      if (!isRetriableError(err)) throw err;
      this.cluster.metrics?.fetchErrors.inc({ error: err.type });
      this.cluster.logger.warn({ err: err.message }, 'fetch failed, retrying');
      if (needsMetadataRefresh(err.code)) this.cluster.markStale();
      await sleep(backoffMs(this.cluster.retryOptions, this.failures++));
      return [];
    }
  }

  private async refreshMetadata(states: PartitionState[]): Promise<void> {
    this.cluster.markStale();
    await this.cluster.refreshMetadata([...new Set(states.map((s) => s.topic))]);
  }

  private async resetPositions(): Promise<void> {
    await this.resetToCommitted();
    const pending = [...this.states.values()].filter((s) => s.position === null && s.resetTo !== null && s.resetTo !== 'committed');
    if (pending.length === 0) return;
    const generations = pending.map((s) => s.generation);
    const answers = await listOffsets(
      this.cluster,
      pending.map((s) => ({ topic: s.topic, partition: s.partition, timestamp: specTimestamp(s.resetTo as 'earliest' | 'latest') })),
      this.isolationLevel,
    );
    answers.forEach((a, i) => {
      const s = pending[i]!;
      // A seek during the lookup wins.
      if (s.generation !== generations[i] || s.position !== null) return;
      s.position = a.offset;
      s.resetTo = null;
    });
  }

  /** Positions from the group's committed offsets; partitions without one fall back to autoOffsetReset. */
  private async resetToCommitted(): Promise<void> {
    const lookup = this.committedLookup;
    const pending = [...this.states.values()].filter((s) => s.position === null && s.resetTo === 'committed');
    if (pending.length === 0 || !lookup) return;
    const generations = pending.map((s) => s.generation);
    const offsets = await lookup(pending.map((s) => ({ topic: s.topic, partition: s.partition })));
    pending.forEach((s, i) => {
      if (s.generation !== generations[i] || s.position !== null || s.resetTo !== 'committed') return;
      const offset = offsets[i] ?? -1;
      if (offset >= 0) {
        s.position = offset;
        s.resetTo = null;
      } else if (this.autoOffsetReset === 'none') {
        throw new KafkaProtocolError(ErrorCode.OFFSET_OUT_OF_RANGE, `no committed offset for ${s.topic}-${s.partition} and autoOffsetReset is none`);
      } else {
        s.resetTo = this.autoOffsetReset;
      }
    });
  }

  private async fetchFrom(leader: number, states: PartitionState[]): Promise<PartitionRecords[]> {
    const connection = await this.cluster.connectionTo(leader);
    const requested = states.map((s) => ({ state: s, offset: s.position!, generation: s.generation }));
    const byTopic = new Map<string, typeof requested>();
    for (const r of requested) {
      let list = byTopic.get(r.state.topic);
      if (!list) byTopic.set(r.state.topic, (list = []));
      list.push(r);
    }
    const response = await connection.send(
      apis.Fetch,
      {
        replicaId: -1,
        maxWaitMs: this.fetchMaxWaitMs,
        minBytes: this.fetchMinBytes,
        maxBytes: this.maxBytes,
        isolationLevel: isolationLevelCode(this.isolationLevel),
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, list]) => ({
          topic,
          partitions: list.map((r) => ({
            partition: r.state.partition,
            currentLeaderEpoch: -1,
            fetchOffset: r.offset,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: r.state.maxBytes,
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      },
      { timeoutMs: this.cluster.requestTimeoutMs + this.fetchMaxWaitMs },
    );
    if (response.errorCode !== undefined && response.errorCode !== ErrorCode.NONE) {
      throw new KafkaProtocolError(response.errorCode, `fetch from broker ${leader} failed (${errorName(response.errorCode)})`);
    }
    const wanted = new Map(requested.map((r) => [tpKey(r.state.topic, r.state.partition), r]));
    const out: PartitionRecords[] = [];
    let retriable: KafkaProtocolError | null = null;
    for (const t of response.responses) {
      const topic = t.topic ?? '';
      for (const p of t.partitions) {
        const req = wanted.get(tpKey(topic, p.partitionIndex));
        if (!req) continue;
        const s = req.state;
        // Dropped when the partition was seeked or unassigned while the fetch was out. Records of a partition
        // paused meanwhile are kept: the consumer holds them until resume().
        if (this.states.get(tpKey(topic, p.partitionIndex)) !== s || s.generation !== req.generation || s.position !== req.offset) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          if (this.autoOffsetReset === 'none') {
            throw new KafkaProtocolError(p.errorCode, `offset ${req.offset} is out of range for ${topic}-${p.partitionIndex} (OFFSET_OUT_OF_RANGE)`);
          }
          this.cluster.logger.info({ topic, partition: p.partitionIndex, offset: req.offset, resetTo: this.autoOffsetReset }, 'fetch offset out of range, resetting');
          s.position = null;
          s.resetTo = this.autoOffsetReset;
          continue;
        }
        if (p.errorCode !== ErrorCode.NONE) {
          const err =
            p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
              ? topicError(topic, p.errorCode)
              : new KafkaProtocolError(p.errorCode, `fetch of ${topic}-${p.partitionIndex} failed (${errorName(p.errorCode)})`);
          if (!err.retriable) throw err;
          retriable = err;
          continue;
        }
        s.highWatermark = p.highWatermark;
        const parsed = this.parseRecords(topic, p.partitionIndex, req.offset, p.records, p.abortedTransactions ?? null);
        if (parsed.nextOffset === req.offset && parsed.sawIncompleteBatch) {
          // The next batch is larger than maxPartitionBytes: ask for more next time (Kafka v3+ brokers send
          // at least one whole batch, so this only helps older or stricter brokers).
          s.maxBytes = Math.min(s.maxBytes * 2, Math.max(this.maxBytes, s.maxBytes));
        } else {
          s.maxBytes = this.maxPartitionBytes;
        }
        s.position = parsed.nextOffset;
        if (parsed.records.length > 0) {
          out.push({ topic, partition: p.partitionIndex, generation: s.generation, records: parsed.records, highWatermark: p.highWatermark });
        }
      }
    }
    if (retriable && out.length === 0) throw retriable;
    if (retriable) this.cluster.markStale();
    return out;
  }

  /**
   * Splits the concatenated batches of one partition, skips what lies below the fetch offset, control batches
   * and (read_committed) aborted transactions, and decompresses the rest.
   */
  private parseRecords(
    topic: string,
    partition: number,
    fetchOffset: number,
    records: Buffer | null,
    abortedTransactions: { producerId: number; firstOffset: number }[] | null,
  ): { records: ConsumerRecord[]; nextOffset: number; sawIncompleteBatch: boolean } {
    const out: ConsumerRecord[] = [];
    let nextOffset = fetchOffset;
    if (!records || records.length === 0) return { records: out, nextOffset, sawIncompleteBatch: false };
    const readCommitted = this.isolationLevel === 'read_committed';
    const aborted = readCommitted && abortedTransactions ? [...abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset) : [];
    const abortedProducers = new Set<number>();
    let pos = 0;
    let sawIncompleteBatch = false;
    while (pos < records.length) {
      if (records.length - pos < 17) {
        sawIncompleteBatch = true;
        break;
      }
      const batchLength = records.readInt32BE(pos + 8);
      const end = pos + 12 + batchLength;
      if (batchLength < 0 || end > records.length) {
        sawIncompleteBatch = true;
        break;
      }
      const magic = records.readInt8(pos + 16);
      if (magic !== 2) {
        throw new KafkaProtocolError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `${topic}-${partition} holds a magic ${magic} message set; only v2 batches are supported`);
      }
      const slice = records.subarray(pos, end);
      pos = end;
      const header = readBatchHeader(slice);
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      if (lastOffset < fetchOffset) continue;
      if (this.checkCrcs && !verifyBatchCrc(slice)) {
        throw new KafkaProtocolError(ErrorCode.CORRUPT_MESSAGE, `record batch at offset ${header.baseOffset} of ${topic}-${partition} fails its CRC (CORRUPT_MESSAGE)`);
      }
      nextOffset = lastOffset + 1;
      if (readCommitted) {
        while (aborted.length > 0 && aborted[0]!.firstOffset <= lastOffset) abortedProducers.add(aborted.shift()!.producerId);
      }
      if (header.isControl) {
        if (readCommitted) {
          const control = decodeRecordBatch(slice).records[0];
          if (control && decodeControlRecordType(control.key) === ControlRecordType.Abort) abortedProducers.delete(header.producerId);
        }
        continue;
      }
      if (readCommitted && header.isTransactional && abortedProducers.has(header.producerId)) continue;
      const batch = decodeRecordBatch(slice);
      for (const r of batch.records) {
        if (r.offset < fetchOffset) continue;
        out.push({
          topic,
          partition,
          offset: r.offset,
          timestamp: r.timestamp,
          key: r.key,
          value: r.value,
          headers: r.headers,
        });
      }
    }
    return { records: out, nextOffset, sawIncompleteBatch: sawIncompleteBatch && out.length === 0 };
  }
}
