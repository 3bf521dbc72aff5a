import { ErrorCode, KafkaProtocolError, type Logger } from '@fluxo/common';
import type { Cluster } from '../cluster.js';
import type { Fetcher, OffsetResetStrategy } from '../fetcher.js';
import { errorCodeOf } from '../retry.js';
import type { PartitionAssignor } from './assignors/assignor.js';
import { resolveAssignor, type AssignorName } from './assignors/index.js';
import { CoordinatorClient } from './coordinator-client.js';
import { GroupMembership, RebalanceListenerError } from './membership.js';
import { NO_GENERATION, REBALANCE_ERROR_CODES, commitOffsets, fetchCommittedOffsets, type CommittedOffset, type OffsetToCommit } from './offsets.js';
import { minus, sortTopicPartitions, tpKey, type TopicPartition } from './topic-partition.js';

/** Group settings of a Consumer (Kafka consumer config names in camelCase). */
export interface GroupConsumerOptions {
  /** Kafka group.id: needed by subscribe() and commit(). */
  groupId?: string;
  /** Kafka group.instance.id: static membership. */
  groupInstanceId?: string | null;
  /** Kafka session.timeout.ms (default 45000). */
  sessionTimeoutMs?: number;
  /** Kafka heartbeat.interval.ms (default 3000). */
  heartbeatIntervalMs?: number;
  /** Kafka max.poll.interval.ms (default 300000), also the rebalance timeout sent in JoinGroup. */
  maxPollIntervalMs?: number;
  /** Kafka partition.assignment.strategy, in preference order (default range, cooperative-sticky). */
  assignors?: (AssignorName | PartitionAssignor)[];
  /** Kafka enable.auto.commit (default true). */
  autoCommit?: boolean;
  /** Kafka auto.commit.interval.ms (default 5000). */
  autoCommitIntervalMs?: number;
  /** Called around rebalances, like Kafka's ConsumerRebalanceListener. */
  rebalanceListener?: RebalanceListener;
}

export interface RebalanceListener {
  onPartitionsAssigned?(partitions: TopicPartition[]): Promise<void> | void;
  /** Before partitions are given up, after their offsets were auto-committed; commit() still works here. */
  onPartitionsRevoked?(partitions: TopicPartition[]): Promise<void> | void;
  /** The generation ended before they could be given up (commits would fail). Default: onPartitionsRevoked. */
  onPartitionsLost?(partitions: TopicPartition[]): Promise<void> | void;
}

export type Subscription = { topics: string[] } | { pattern: RegExp };

/** What the group layer needs from the Consumer: its fetcher and the positions of records it has processed. */
export interface ConsumerPositions {
  readonly fetcher: Fetcher;
  /** Next offset to consume for each partition with processed records (Kafka's commit position). */
  processedPositions(): Map<string, OffsetToCommit>;
  /** Drops buffered records and positions of partitions no longer owned. */
  forget(partitions: TopicPartition[]): void;
}

export interface ConsumerGroupSettings {
  groupId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxPollIntervalMs: number;
  assignors: PartitionAssignor[];
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  metadataMaxAgeMs: number;
  requireStableOffsets: boolean;
  autoOffsetReset: OffsetResetStrategy;
}

export function resolveGroupSettings(
  options: GroupConsumerOptions & { metadataMaxAgeMs?: number; isolationLevel?: string; autoOffsetReset?: OffsetResetStrategy },
  groupId: string,
): ConsumerGroupSettings {
  const settings: ConsumerGroupSettings = {
    groupId,
    groupInstanceId: options.groupInstanceId ?? null,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 45_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
    maxPollIntervalMs: options.maxPollIntervalMs ?? 300_000,
    assignors: (options.assignors ?? ['range', 'cooperative-sticky']).map(resolveAssignor),
    autoCommit: options.autoCommit ?? true,
    autoCommitIntervalMs: options.autoCommitIntervalMs ?? 5_000,
    metadataMaxAgeMs: options.metadataMaxAgeMs ?? 300_000,
    requireStableOffsets: options.isolationLevel === 'read_committed',
    autoOffsetReset: options.autoOffsetReset ?? 'latest',
  };
  const bad = (key: string, why: string): never => {
    throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, `invalid consumer config ${key}: ${why}`);
  };
  if (groupId.length === 0) bad('groupId', 'must not be empty');
  if (settings.assignors.length === 0) bad('assignors', 'needs at least one assignor');
  if (new Set(settings.assignors.map((a) => a.name)).size !== settings.assignors.length) bad('assignors', 'names must be unique');
  if (!(settings.heartbeatIntervalMs > 0 && settings.heartbeatIntervalMs < settings.sessionTimeoutMs)) bad('heartbeatIntervalMs', 'must be positive and below sessionTimeoutMs');
  if (!(settings.maxPollIntervalMs > 0)) bad('maxPollIntervalMs', 'must be positive');
  if (!(settings.autoCommitIntervalMs > 0)) bad('autoCommitIntervalMs', 'must be positive');
  if (settings.groupInstanceId !== null && settings.groupInstanceId.length === 0) bad('groupInstanceId', 'must not be empty');
  return settings;
}

/**
 * The consumer-group side of a Consumer: subscription (topics or a pattern), membership, committed offsets as
 * start positions, auto-commit at poll time, commit before revocation, and graceful leave on close.
 */
export class ConsumerGroup {
  readonly coordinator: CoordinatorClient;
  private membership: GroupMembership | null = null;
  private subscription: Subscription | null = null;
  private listener: RebalanceListener = {};
  /** Topics the subscription resolves to now (pattern: matching topics seen in metadata). */
  private topics: string[] = [];
  private patternResolved = false;
  /** Last committed position per partition, to skip commits that would change nothing. */
  private readonly lastCommitted = new Map<string, number>();
  private nextAutoCommitMs: number;
  private autoCommitInFlight: Promise<void> | null = null;
  private nextMetadataCheckMs = 0;
  private readonly logger: Logger;

  constructor(
    private readonly cluster: Cluster,
    private readonly consumer: ConsumerPositions,
    readonly settings: ConsumerGroupSettings,
  ) {
    this.logger = cluster.logger;
    this.coordinator = new CoordinatorClient(cluster, { groupId: settings.groupId, dedicatedConnection: true, logger: this.logger });
    this.nextAutoCommitMs = Date.now() + settings.autoCommitIntervalMs;
  }

  get isSubscribed(): boolean {
    return this.subscription !== null;
  }

  /** Whether the poll loop should return to poll() before handing over more records. */
  get rebalancePending(): boolean {
    return this.membership?.rejoinNeeded ?? false;
  }

  get memberId(): string {
    return this.membership?.memberId ?? '';
  }

  get generationId(): number {
    return this.membership?.generationId ?? -1;
  }

  subscribe(subscription: Subscription, listener: RebalanceListener | undefined): void {
    if ('topics' in subscription) {
      for (const t of subscription.topics) {
        if (typeof t !== 'string' || t.length === 0) throw new KafkaProtocolError(ErrorCode.INVALID_TOPIC_EXCEPTION, `cannot subscribe to topic ${JSON.stringify(t)}`);
      }
      this.topics = [...new Set(subscription.topics)].sort();
    } else {
      this.patternResolved = false;
      this.topics = [];
    }
    this.subscription = subscription;
    if (listener) this.listener = listener;
    if (!this.membership) {
      this.membership = new GroupMembership(
        this.cluster,
        this.coordinator,
        {
          groupId: this.settings.groupId,
          groupInstanceId: this.settings.groupInstanceId,
          sessionTimeoutMs: this.settings.sessionTimeoutMs,
          maxPollIntervalMs: this.settings.maxPollIntervalMs,
          heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
          assignors: this.settings.assignors,
          logger: this.logger,
        },
        {
          subscribedTopics: () => this.topics,
          owned: () => this.consumer.fetcher.assignment(),
          revoke: (partitions) => this.revoke(partitions),
          lose: (partitions) => this.lose(partitions),
          assign: (added, assignment) => this.assign(added, assignment),
          wake: () => this.consumer.fetcher.wake(),
        },
      );
    } else {
      this.membership.requestRejoin('subscription changed');
    }
  }

  subscribedTopics(): string[] {
    return [...this.topics];
  }

  /** Runs at every poll: pattern and metadata checks, join/rejoin, auto-commit. */
  async poll(): Promise<void> {
    if (this.membership) {
      try {
        await this.checkMetadata();
      } catch (err) {
        // Checked again later; an unreachable cluster must not end the poll loop.
        this.logger.warn({ groupId: this.settings.groupId, err: (err as Error).message }, 'metadata check failed');
        this.nextMetadataCheckMs = Date.now() + this.cluster.retryOptions.maxRetryBackoffMs;
      }
      await this.membership?.poll();
    }
    if (this.settings.autoCommit && Date.now() >= this.nextAutoCommitMs && !this.autoCommitInFlight && !this.rebalancePending) {
      this.nextAutoCommitMs = Date.now() + this.settings.autoCommitIntervalMs;
      this.autoCommitInFlight = this.commitProcessed(this.consumer.fetcher.assignment(), 'auto-commit')
        .catch((err: unknown) => this.logger.warn({ groupId: this.settings.groupId, err: (err as Error).message }, 'auto-commit failed'))
        .finally(() => {
          this.autoCommitInFlight = null;
        });
    }
  }

  /**
   * Pattern subscriptions follow topic creation and deletion; the leader also notices partitions added to any
   * topic the group reads. Either way the group rebalances (Kafka's metadata-driven rejoin).
   */
  private async checkMetadata(): Promise<void> {
    const membership = this.membership!;
    const subscription = this.subscription!;
    const pattern = 'pattern' in subscription ? subscription.pattern : null;
    if (Date.now() < this.nextMetadataCheckMs && (pattern === null || this.patternResolved)) return;
    this.nextMetadataCheckMs = Date.now() + this.settings.metadataMaxAgeMs;
    if (pattern) {
      const response = await this.cluster.retry(() => this.cluster.fetchMetadata(null, false));
      const matching = response.topics
        .filter((t) => t.name && !t.isInternal && t.errorCode === ErrorCode.NONE && pattern.test(t.name))
        .map((t) => t.name!)
        .sort();
      this.patternResolved = true;
      if (matching.join('\u0000') !== this.topics.join('\u0000')) {
        this.topics = matching;
        if (membership.generationId >= 0) membership.requestRejoin('topics matching the subscription pattern changed');
      }
    }
    const snapshot = membership.leaderSnapshot();
    if (snapshot && !membership.rejoinNeeded) {
      const topics = [...new Set([...snapshot.keys(), ...membership.topicsJoinedWith()])];
      const counts = await membership.partitionCounts(topics);
      const changed = topics.some((t) => counts.get(t) !== snapshot.get(t));
      if (changed) membership.requestRejoin('partitions of subscribed topics changed');
    }
  }

  /** Commit positions of processed records in these partitions (only those that moved since the last commit). */
  private async commitProcessed(partitions: TopicPartition[], why: string, retries?: number, membership: GroupMembership | null = this.membership): Promise<void> {
    const positions = this.consumer.processedPositions();
    const offsets: OffsetToCommit[] = [];
    for (const tp of partitions) {
      const o = positions.get(tpKey(tp.topic, tp.partition));
      if (o && this.lastCommitted.get(tpKey(o.topic, o.partition)) !== o.offset) offsets.push(o);
    }
    if (offsets.length === 0) return;
    await this.commitOffsetsNow(offsets, retries, membership);
    this.logger.debug({ groupId: this.settings.groupId, partitions: offsets.length, why }, 'committed offsets');
  }

  private async commitOffsetsNow(offsets: OffsetToCommit[], retries?: number, membership: GroupMembership | null = this.membership): Promise<void> {
    const identity = membership && membership.memberId !== '' ? membership.identity() : NO_GENERATION;
    try {
      await commitOffsets(this.coordinator, identity, offsets, retries);
      this.cluster.metrics?.groupCommits.inc();
    } catch (err) {
      this.cluster.metrics?.groupCommitFailures.inc({ error: err instanceof KafkaProtocolError ? err.type : 'UNKNOWN' });
      if (REBALANCE_ERROR_CODES.has(errorCodeOf(err)) && membership === this.membership) membership?.requestRejoin('commit failed: the generation changed');
      throw err;
    }
    for (const o of offsets) this.lastCommitted.set(tpKey(o.topic, o.partition), o.offset);
  }

  /**
   * Kafka commitSync: `offsets` given are committed as they are (each the next offset to read); omitted, the
   * positions of every processed record of the owned partitions.
   */
  async commit(offsets?: OffsetToCommit[]): Promise<void> {
    await this.autoCommitInFlight;
    if (offsets) await this.commitOffsetsNow(offsets);
    else await this.commitProcessed(this.consumer.fetcher.assignment(), 'commit()');
  }

  committed(partitions: TopicPartition[]): Promise<CommittedOffset[]> {
    return fetchCommittedOffsets(this.coordinator, partitions, { requireStable: this.settings.requireStableOffsets });
  }

  /** Committed offsets as start positions; partitions without one start per autoOffsetReset. */
  private async assign(added: TopicPartition[], assignment: TopicPartition[]): Promise<void> {
    const fetcher = this.consumer.fetcher;
    const committed = await this.committed(added);
    const kept = minus(fetcher.assignment(), minus(fetcher.assignment(), assignment));
    fetcher.assign([
      ...kept,
      // Without a committed offset: autoOffsetReset (or the error of 'none'), no second lookup.
      ...committed.map((c) => ({ topic: c.topic, partition: c.partition, ...(c.offset >= 0 ? { offset: c.offset } : this.settings.autoOffsetReset === 'none' ? {} : { offset: this.settings.autoOffsetReset }) })),
    ]);
    for (const c of committed) if (c.offset >= 0) this.lastCommitted.set(tpKey(c.topic, c.partition), c.offset);
    if (added.length > 0) await this.callListener('onPartitionsAssigned', added);
  }

  private async callListener(name: keyof RebalanceListener, partitions: TopicPartition[]): Promise<void> {
    const fn = name === 'onPartitionsLost' ? (this.listener.onPartitionsLost ?? this.listener.onPartitionsRevoked) : this.listener[name];
    if (!fn) return;
    try {
      await fn.call(this.listener, sortTopicPartitions(partitions));
    } catch (err) {
      throw new RebalanceListenerError(`rebalance listener ${name} failed: ${(err as Error).message}`, -1, { cause: err });
    }
  }

  /** Kafka: auto-commit (sync) before the listener, then the partitions go. */
  private async revoke(partitions: TopicPartition[], membership: GroupMembership | null = this.membership): Promise<void> {
    if (this.settings.autoCommit) {
      try {
        // Retried on coordinator errors so that an eager rebalance does not lose the last positions.
        await this.commitProcessed(partitions, 'revocation', undefined, membership);
      } catch (err) {
        this.logger.warn({ groupId: this.settings.groupId, err: (err as Error).message }, 'commit before revocation failed');
      }
    }
    try {
      await this.callListener('onPartitionsRevoked', partitions);
    } finally {
      this.drop(partitions);
    }
  }

  private async lose(partitions: TopicPartition[]): Promise<void> {
    try {
      await this.callListener('onPartitionsLost', partitions);
    } finally {
      this.drop(partitions);
    }
  }

  private drop(partitions: TopicPartition[]): void {
    const fetcher = this.consumer.fetcher;
    fetcher.assign(minus(fetcher.assignment(), partitions));
    this.consumer.forget(partitions);
    for (const tp of partitions) this.lastCommitted.delete(tpKey(tp.topic, tp.partition));
  }

  /** Kafka unsubscribe(): commit and revoke everything, leave the group. */
  async unsubscribe(): Promise<void> {
    const membership = this.membership;
    if (!membership) return;
    this.membership = null;
    await membership.close();
    const owned = this.consumer.fetcher.assignment();
    if (owned.length > 0) await (membership.generationId >= 0 && membership.memberId !== '' ? this.revoke(owned, membership) : this.lose(owned));
    await membership.leave('the consumer unsubscribed');
    this.subscription = null;
    this.topics = [];
  }

  /** Commits processed positions (auto-commit on), revokes, and leaves (dynamic members). */
  async close(): Promise<void> {
    await this.autoCommitInFlight;
    if (this.membership) {
      await this.unsubscribe();
    } else if (this.settings.autoCommit) {
      await this.commitProcessed(this.consumer.fetcher.assignment(), 'close').catch((err: unknown) =>
        this.logger.warn({ groupId: this.settings.groupId, err: (err as Error).message }, 'commit on close failed'),
      );
    }
    await this.coordinator.close();
  }
}
