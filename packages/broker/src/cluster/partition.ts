import { assert, ErrorCode, KafkaProtocolError, type Logger, type MetadataImage, type PartitionState, type ResolvedConfig } from '@fluxo/common';
import { isRelaxedFlush, type AppendResult, type PartitionLog } from '@fluxo/storage';

/** Kafka's offsets.commit.timeout.ms: how long the node's own acks=all appends (group coordinator) wait for the ISR. */
const DEFAULT_COMMIT_TIMEOUT_MS = 5000;

export type ReplicaRole = 'leader' | 'follower' | 'none';

/** The replication engine as a partition sees it (packages/broker/src/replication implements it). */
export interface ReplicaHost {
  readonly nodeId: number;
  /** replica.lag.time.max.ms */
  readonly replicaLagTimeMaxMs: number;
  image(): MetadataImage;
  nowMs(): number;
  /** Start (or restart, after a leader change) fetching this follower partition from its leader. */
  follow(p: Partition): void;
  /** Stop fetching it (it leads now, or is gone). */
  unfollow(p: Partition): void;
  /** Kafka's AlterPartition: commits the ISR change through the metadata store; rejects when the partition epoch is stale. */
  alterIsr(p: Partition, isr: readonly number[]): Promise<void>;
  onIsrChange(kind: 'shrink' | 'expand'): void;
}

/** Where the topic's effective configuration lives (the registry's Topic; it changes with ConfigChanged). */
export interface PartitionOwner {
  readonly name: string;
  readonly topicId: string;
  readonly config: ResolvedConfig;
}

/** What the leader knows about one follower (Kafka's Replica state). */
interface FollowerState {
  /** The follower's acknowledged log end (its last fetch offset); -1 until it fetched in this leadership. */
  logEndOffset: number;
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  lastFetchLeaderLogEndOffset: number;
  /** Broker epoch of its last fetch (-1: none yet): a new one is a restarted broker. */
  brokerEpoch: number;
}

export interface LeaderAppendOptions {
  /** -1 (all), 1 or 0. */
  readonly requiredAcks: number;
  /** acks=all: how long to wait for the ISR (the produce request's timeout). */
  readonly timeoutMs: number;
  readonly logAppendTimeMs?: number;
}

/** A follower fetch as the leader checks it before reading (see ReplicationServer). */
export interface FollowerFetchPosition {
  readonly currentLeaderEpoch: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
}

export type FollowerFetchCheck =
  | { readonly kind: 'error'; readonly errorCode: number; readonly message: string }
  | { readonly kind: 'diverging'; readonly epoch: number; readonly endOffset: number }
  | { readonly kind: 'read' };

interface ProduceWaiter {
  readonly requiredOffset: number;
  readonly result: AppendResult;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (e: unknown) => void;
  timer: NodeJS.Timeout | null;
}

const NO_ISR: readonly number[] = [];

/**
 * One replica of a partition on this node: its log and its role, driven by the metadata image's PartitionState.
 *
 * Leader: appends (stamping its leader epoch), tracks each follower's acknowledged log end, and advances the
 * high watermark to the minimum over the ISR (its own durable end included; not while the ISR is smaller than
 * min.insync.replicas: KIP-966), never backwards. It shrinks the ISR when a follower has not caught up for
 * replica.lag.time.max.ms and expands it when a follower reaches the high watermark (AlterPartition through the
 * metadata store, one change in flight; the pending ISR counts for the high watermark, Kafka's "maximal ISR").
 * acks=all produces wait here until the high watermark passes them.
 *
 * Follower: the replication fetcher truncates the log (epoch based) and appends what the leader sends, keeping
 * the leader's offsets and epochs; the high watermark follows the leader's, bounded by the local log end.
 */
export class Partition {
  readonly topic: string;
  readonly topicId: string;
  private state: PartitionState;
  private _role: ReplicaRole = 'none';
  private host: ReplicaHost | null = null;
  private readonly followers = new Map<number, FollowerState>();
  /** ISR of the AlterPartition in flight (null: none). */
  private pendingIsr: readonly number[] | null = null;
  private produceWaiters: ProduceWaiter[] = [];
  private readonly hwWaiters = new Set<() => void>();
  private readonly logEndWaiters = new Set<() => void>();
  private closed = false;
  /** Follower: messages behind the leader's log end as of the last fetch (-1: unknown). */
  followerLagMessages = -1;
  /** The follower append in flight (a new fetcher waits for it before truncating). */
  private replicatedAppend: Promise<unknown> | null = null;
  private readonly logger: Logger;
  /** min.insync.replicas of the topic, refreshed on config changes (read on every append). */
  private minIsr: number;

  constructor(
    private readonly owner: PartitionOwner,
    readonly index: number,
    readonly log: PartitionLog,
    private readonly nodeId: number,
    logger: Logger,
  ) {
    this.topic = owner.name;
    this.topicId = owner.topicId;
    this.logger = logger.child({ topic: owner.name, partition: index });
    this.state = { partition: index, replicas: [nodeId], isr: [nodeId], leader: -1, leaderEpoch: -1, partitionEpoch: -1 };
    this.minIsr = owner.config.number('min.insync.replicas');
    log.onLogEndAdvance = () => this.wakeAll(this.logEndWaiters);
  }

  // ------------------------------------------------------------------------------------------- accessors

  get role(): ReplicaRole {
    return this._role;
  }
  get isLeader(): boolean {
    return this._role === 'leader' && !this.closed;
  }
  get leaderId(): number {
    return this.state.leader;
  }
  get leaderEpoch(): number {
    return this.state.leaderEpoch;
  }
  get partitionEpoch(): number {
    return this.state.partitionEpoch;
  }
  get replicas(): readonly number[] {
    return this.state.replicas;
  }
  /** Replicas a reassignment is adding (copying the log before they join the ISR). */
  get addingReplicas(): readonly number[] {
    return this.state.addingReplicas ?? [];
  }
  get isr(): readonly number[] {
    return this.state.isr;
  }
  get highWatermark(): number {
    return this.log.highWatermark;
  }
  /** No transactions yet: everything below the high watermark is stable. */
  get lastStableOffset(): number {
    return this.log.highWatermark;
  }
  get logStartOffset(): number {
    return this.log.logStartOffset;
  }
  get logEndOffset(): number {
    return this.log.logEndOffset;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  get minInsyncReplicas(): number {
    return this.minIsr;
  }
  /** Leader: acknowledged log end of each follower (-1: not fetched yet in this leadership). */
  followerLogEndOffsets(): ReadonlyMap<number, number> {
    return new Map([...this.followers].map(([id, f]) => [id, f.logEndOffset]));
  }

  /** Kafka's epoch check of a request: -1 skips it; older -> FENCED_LEADER_EPOCH; newer -> UNKNOWN_LEADER_EPOCH. */
  leaderEpochError(currentLeaderEpoch: number): number {
    if (currentLeaderEpoch < 0 || currentLeaderEpoch === this.state.leaderEpoch) return ErrorCode.NONE;
    return currentLeaderEpoch < this.state.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
  }

  // ----------------------------------------------------------------------------------------- role changes

  /** Joins the replication engine (null: a node without one, whose partitions all have replicas [self]). */
  attach(host: ReplicaHost | null): void {
    this.host = host;
    if (host !== null && this._role === 'follower') host.follow(this);
  }

  /** The image's state of this partition changed (or is first known): role transitions, ISR updates. */
  applyState(next: PartitionState): void {
    if (this.closed) return;
    assert(next.partition === this.index, `state of partition ${next.partition} applied to ${this.index}`);
    const previous = this.state;
    if (next === previous) return;
    this.state = next;
    if (next.partitionEpoch !== previous.partitionEpoch) this.pendingIsr = null;
    if (next.leader === this.nodeId) {
      if (this._role !== 'leader' || next.leaderEpoch !== previous.leaderEpoch) this.becomeLeader(previous);
      else this.onIsrChanged(previous);
    } else if (next.replicas.includes(this.nodeId)) {
      if (this._role !== 'follower' || next.leaderEpoch !== previous.leaderEpoch || next.leader !== previous.leader) this.becomeFollower();
    } else if (this._role !== 'none') {
      this.stepDown('none', 'no longer a replica');
    }
  }

  private becomeLeader(previous: PartitionState): void {
    const wasFollower = this._role === 'follower';
    this._role = 'leader';
    if (wasFollower) this.host?.unfollow(this);
    const now = this.nowMs();
    this.followers.clear();
    for (const id of this.state.replicas) {
      if (id === this.nodeId) continue;
      // ISR members start caught up (Kafka resets them to now): the lag clock starts with this leadership.
      this.followers.set(id, { logEndOffset: -1, lastCaughtUpTimeMs: this.state.isr.includes(id) ? now : 0, lastFetchTimeMs: 0, lastFetchLeaderLogEndOffset: -1, brokerEpoch: -1 });
    }
    const epoch = this.state.leaderEpoch;
    this.log.assignEpochStart(epoch).catch((err: unknown) => this.logger.error({ err, leaderEpoch: epoch }, 'could not record the start of the leader epoch'));
    this.logger.info(
      {
        leaderEpoch: epoch,
        previousLeader: previous.leader,
        previousLeaderEpoch: previous.leaderEpoch,
        isr: this.state.isr,
        replicas: this.state.replicas,
        logEndOffset: this.log.logEndOffset,
        highWatermark: this.log.highWatermark,
      },
      'became leader',
    );
    this.maybeIncrementHighWatermark();
  }

  private becomeFollower(): void {
    const wasLeader = this._role === 'leader';
    this._role = 'follower';
    this.followers.clear();
    if (wasLeader) this.failProduceWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leadership moved');
    this.logger.info(
      { leader: this.state.leader, leaderEpoch: this.state.leaderEpoch, isr: this.state.isr, logEndOffset: this.log.logEndOffset, highWatermark: this.log.highWatermark },
      'became follower',
    );
    if (this.host !== null) this.host.follow(this);
    // Consumers long-polling a former leader answer now (NOT_LEADER_OR_FOLLOWER on their next read).
    this.wakeAll(this.hwWaiters);
  }

  private stepDown(role: ReplicaRole, reason: string): void {
    if (this._role === 'follower') this.host?.unfollow(this);
    if (this._role === 'leader') this.failProduceWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER, reason);
    this._role = role;
    this.followers.clear();
    this.logger.info({ reason }, 'stopped serving the partition');
    this.wakeAll(this.hwWaiters);
  }

  /** Same leadership, new ISR (ours or the controller's). */
  private onIsrChanged(previous: PartitionState): void {
    const now = this.nowMs();
    if (this.state.replicas !== previous.replicas) {
      // Reassignment: track added replicas from scratch, forget removed ones.
      for (const id of this.state.replicas) {
        if (id !== this.nodeId && !this.followers.has(id)) this.followers.set(id, { logEndOffset: -1, lastCaughtUpTimeMs: 0, lastFetchTimeMs: 0, lastFetchLeaderLogEndOffset: -1, brokerEpoch: -1 });
      }
      for (const id of [...this.followers.keys()]) if (!this.state.replicas.includes(id)) this.followers.delete(id);
    }
    for (const id of this.state.isr) {
      const f = this.followers.get(id);
      if (f !== undefined && !previous.isr.includes(id)) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, now);
    }
    // Counted as applied, whoever decided it (this leader's AlterPartition, or the controller fencing a broker).
    if (previous.isr.some((id) => !this.state.isr.includes(id))) this.host?.onIsrChange('shrink');
    if (this.state.isr.some((id) => !previous.isr.includes(id))) this.host?.onIsrChange('expand');
    if (this.state.isr.length < this.minInsyncReplicas) {
      // KIP-966: the high watermark stops; acks=all waiters learn now instead of at their timeout.
      this.failProduceWaiters(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, `ISR ${this.state.isr.join(',')} is below min.insync.replicas ${this.minInsyncReplicas}`);
    }
    this.maybeIncrementHighWatermark();
  }

  /** Topic config changed (min.insync.replicas may allow the high watermark to move). */
  onConfigChanged(): void {
    this.minIsr = this.owner.config.number('min.insync.replicas');
    if (this.isLeader) this.maybeIncrementHighWatermark();
  }

  // --------------------------------------------------------------------------------------------- leader

  /**
   * Appends already-validated (CRC-checked) v2 batches as leader. acks=all: NOT_ENOUGH_REPLICAS before appending
   * when the ISR is below min.insync.replicas, then resolves once the high watermark passes the batches
   * (REQUEST_TIMED_OUT after timeoutMs, like Kafka's produce purgatory). acks=0/1: once durable on this node.
   */
  async appendAsLeader(batches: Buffer, opts: LeaderAppendOptions): Promise<AppendResult> {
    if (!this.isLeader) throw new KafkaProtocolError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `node ${this.nodeId} does not lead ${this.topic}-${this.index}`);
    if (opts.requiredAcks === -1 && this.state.isr.length < this.minIsr) {
      throw new KafkaProtocolError(ErrorCode.NOT_ENOUGH_REPLICAS, `ISR ${this.state.isr.join(',')} of ${this.topic}-${this.index} is smaller than min.insync.replicas ${this.minIsr}`);
    }
    const epoch = this.state.leaderEpoch;
    const result = await this.log.append(
      batches,
      opts.logAppendTimeMs === undefined ? { leaderEpoch: epoch, crcVerified: true } : { leaderEpoch: epoch, logAppendTimeMs: opts.logAppendTimeMs, crcVerified: true },
    );
    if (this.isLeader && this.state.leaderEpoch === epoch) this.maybeIncrementHighWatermark();
    if (opts.requiredAcks !== -1) return result;
    return this.awaitCommit(result, epoch, opts.timeoutMs);
  }

  /** Leader append for the node's own writers (group coordinator): acks=all with Kafka's default timeout. */
  append(batches: Buffer, logAppendTimeMs: number | undefined): Promise<AppendResult> {
    return this.appendAsLeader(batches, logAppendTimeMs === undefined ? { requiredAcks: -1, timeoutMs: DEFAULT_COMMIT_TIMEOUT_MS } : { requiredAcks: -1, timeoutMs: DEFAULT_COMMIT_TIMEOUT_MS, logAppendTimeMs });
  }

  private awaitCommit(result: AppendResult, epoch: number, timeoutMs: number): Promise<AppendResult> {
    const requiredOffset = result.lastOffset + 1;
    const check = this.commitOutcome(requiredOffset, epoch);
    if (check === ErrorCode.NONE) return Promise.resolve(result);
    if (check !== null) return Promise.reject(new KafkaProtocolError(check));
    return new Promise<AppendResult>((resolve, reject) => {
      const waiter: ProduceWaiter = { requiredOffset, result, resolve, reject, timer: null };
      waiter.timer = setTimeout(() => {
        this.produceWaiters = this.produceWaiters.filter((w) => w !== waiter);
        reject(new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, `${this.topic}-${this.index}: the ISR did not reach offset ${requiredOffset} within ${timeoutMs} ms`));
      }, Math.max(0, timeoutMs));
      // Appends resolve in offset order, so the list stays sorted; insert in place when they do not.
      let at = this.produceWaiters.length;
      while (at > 0 && this.produceWaiters[at - 1]!.requiredOffset > requiredOffset) at--;
      this.produceWaiters.splice(at, 0, waiter);
    });
  }

  /** Kafka's checkEnoughReplicasReachOffset: NONE / an error code when decided, null while waiting. */
  private commitOutcome(requiredOffset: number, epoch: number): number | null {
    if (!this.isLeader || this.state.leaderEpoch !== epoch) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (this.log.highWatermark < requiredOffset) return null;
    return this.maximalIsrSize() >= this.minInsyncReplicas ? ErrorCode.NONE : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
  }

  private completeProduceWaiters(): void {
    const hw = this.log.highWatermark;
    let done = 0;
    while (done < this.produceWaiters.length && this.produceWaiters[done]!.requiredOffset <= hw) done++;
    if (done === 0) return;
    const ready = this.produceWaiters.splice(0, done);
    const outcome = this.maximalIsrSize() >= this.minInsyncReplicas ? ErrorCode.NONE : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    for (const w of ready) {
      if (w.timer !== null) clearTimeout(w.timer);
      if (outcome === ErrorCode.NONE) w.resolve(w.result);
      else w.reject(new KafkaProtocolError(outcome));
    }
  }

  private failProduceWaiters(code: number, message: string): void {
    if (this.produceWaiters.length === 0) return;
    const all = this.produceWaiters;
    this.produceWaiters = [];
    for (const w of all) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.reject(new KafkaProtocolError(code, `${this.topic}-${this.index}: ${message}`));
    }
  }

  /** Committed ISR plus the one of the AlterPartition in flight. */
  private maximalIsr(): readonly number[] {
    const pending = this.pendingIsr ?? NO_ISR;
    if (pending.length === 0) return this.state.isr;
    const all = [...this.state.isr];
    for (const id of pending) if (!all.includes(id)) all.push(id);
    return all;
  }

  private maximalIsrSize(): number {
    return this.pendingIsr === null ? this.state.isr.length : this.maximalIsr().length;
  }

  /** This node's own acknowledged end: fsynced (flush.messages=1) or written (relaxed mode). */
  private ownAckedEndOffset(): number {
    return isRelaxedFlush(this.log.getConfig()) ? this.log.logEndOffset : this.log.durableEndOffset;
  }

  /** HW = min over the (maximal) ISR of acknowledged log ends; never backwards; frozen while ISR < min.insync.replicas. */
  private maybeIncrementHighWatermark(): void {
    if (!this.isLeader || this.state.isr.length < this.minInsyncReplicas) return;
    let hw = this.ownAckedEndOffset();
    const isr = this.maximalIsr();
    for (const id of isr) {
      if (id === this.nodeId) continue;
      const f = this.followers.get(id);
      if (f === undefined || f.logEndOffset < 0) return; // not heard from yet in this leadership
      if (f.logEndOffset < hw) hw = f.logEndOffset;
    }
    if (hw <= this.log.highWatermark) return;
    this.log.updateHighWatermark(hw);
    this.completeProduceWaiters();
    this.wakeAll(this.hwWaiters);
  }

  /**
   * A follower's fetch, checked and recorded by the leader before it reads (Kafka's updateFollowerFetchState):
   * epoch fencing, replica membership, divergence at the follower's last epoch, then its position counts for the
   * high watermark and for ISR membership. Refusals change nothing.
   */
  followerFetch(replicaId: number, brokerEpoch: number, fetch: FollowerFetchPosition): FollowerFetchCheck {
    if (!this.isLeader) return { kind: 'error', errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: `node ${this.nodeId} does not lead it` };
    const epochError = this.leaderEpochError(fetch.currentLeaderEpoch);
    if (epochError !== ErrorCode.NONE) return { kind: 'error', errorCode: epochError, message: `leader epoch is ${this.state.leaderEpoch}, fetch is for ${fetch.currentLeaderEpoch}` };
    const follower = this.followers.get(replicaId);
    if (follower === undefined) return { kind: 'error', errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: `node ${replicaId} is not a replica (${this.state.replicas.join(',')})` };
    const leaderEnd = this.log.logEndOffset;
    const outOfRange = { kind: 'error', errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, message: `offset ${fetch.fetchOffset} outside [${this.log.logStartOffset}, ${leaderEnd}]` } as const;
    if (fetch.lastFetchedEpoch >= 0) {
      // Kafka's validateFetchOffsetAndMaybeGetDivergingEpoch (KIP-595 style truncation on fetch).
      const end = this.log.endOffsetForEpoch(fetch.lastFetchedEpoch);
      if (end.leaderEpoch < 0 || end.endOffset < 0 || fetch.fetchOffset < this.log.logStartOffset) return outOfRange;
      if (end.leaderEpoch < fetch.lastFetchedEpoch || end.endOffset < fetch.fetchOffset) return { kind: 'diverging', epoch: end.leaderEpoch, endOffset: end.endOffset };
    }
    if (fetch.fetchOffset > leaderEnd || fetch.fetchOffset < this.log.logStartOffset) return outOfRange;
    const now = this.nowMs();
    if (fetch.fetchOffset >= leaderEnd) follower.lastCaughtUpTimeMs = Math.max(follower.lastCaughtUpTimeMs, now);
    else if (fetch.fetchOffset >= follower.lastFetchLeaderLogEndOffset) follower.lastCaughtUpTimeMs = Math.max(follower.lastCaughtUpTimeMs, follower.lastFetchTimeMs);
    follower.lastFetchLeaderLogEndOffset = leaderEnd;
    follower.lastFetchTimeMs = now;
    follower.logEndOffset = fetch.fetchOffset;
    const restarted = follower.brokerEpoch >= 0 && follower.brokerEpoch !== brokerEpoch;
    follower.brokerEpoch = brokerEpoch;
    if (restarted && this.state.isr.includes(replicaId) && fetch.fetchOffset < this.log.highWatermark) {
      // It lost acknowledged data (an unflushed tail in relaxed flush mode): it catches up outside the ISR.
      this.removeFromIsr(replicaId, 'restarted behind the high watermark', fetch.fetchOffset);
    }
    this.maybeExpandIsr(replicaId, follower);
    this.maybeIncrementHighWatermark();
    return { kind: 'read' };
  }

  /** A follower outside the ISR that reached the high watermark (and this epoch's start) joins it (KIP-841: not if fenced). */
  private maybeExpandIsr(replicaId: number, follower: FollowerState): void {
    if (this.pendingIsr !== null || this.state.isr.includes(replicaId)) return;
    if (follower.logEndOffset < this.log.highWatermark) return;
    const epochStart = this.log.epochEntries().find((e) => e.epoch === this.state.leaderEpoch)?.startOffset;
    if (epochStart === undefined || follower.logEndOffset < epochStart) return;
    const broker = this.host?.image().brokers.get(replicaId);
    if (broker === undefined || broker.fenced) return;
    this.proposeIsr([...this.state.isr, replicaId], 'expand', { replica: replicaId, replicaLogEndOffset: follower.logEndOffset, highWatermark: this.log.highWatermark });
  }

  /**
   * ISR members that did not catch up within replica.lag.time.max.ms, or whose broker is fenced or gone, leave
   * the ISR (the replication service calls this every lag/2 ms, like Kafka's isr-expiration task).
   */
  maybeShrinkIsr(): void {
    if (!this.isLeader || this.pendingIsr !== null || this.host === null) return;
    const now = this.nowMs();
    const lagMaxMs = this.host.replicaLagTimeMaxMs;
    const brokers = this.host.image().brokers;
    const out: { replica: number; reason: string; lastCaughtUpMsAgo: number; logEndOffset: number }[] = [];
    for (const id of this.state.isr) {
      if (id === this.nodeId) continue;
      const f = this.followers.get(id);
      const broker = brokers.get(id);
      const lagMs = f === undefined ? Number.POSITIVE_INFINITY : now - f.lastCaughtUpTimeMs;
      const reason = broker === undefined ? 'broker not registered' : broker.fenced ? 'broker fenced' : lagMs > lagMaxMs ? 'lagging' : null;
      if (reason !== null) out.push({ replica: id, reason, lastCaughtUpMsAgo: lagMs, logEndOffset: f?.logEndOffset ?? -1 });
    }
    if (out.length === 0) return;
    const isr = this.state.isr.filter((id) => !out.some((o) => o.replica === id));
    this.proposeIsr(isr, 'shrink', { outOfSync: out, replicaLagTimeMaxMs: lagMaxMs });
  }

  private removeFromIsr(replicaId: number, reason: string, logEndOffset: number): void {
    if (this.pendingIsr !== null) return;
    const isr = this.state.isr.filter((id) => id !== replicaId);
    this.proposeIsr(isr, 'shrink', { outOfSync: [{ replica: replicaId, reason, logEndOffset }], highWatermark: this.log.highWatermark });
  }

  private proposeIsr(isr: readonly number[], kind: 'shrink' | 'expand', details: Record<string, unknown>): void {
    const host = this.host;
    if (host === null) return;
    const from = this.state.isr;
    const partitionEpoch = this.state.partitionEpoch;
    const pending = kind === 'expand' ? isr : NO_ISR;
    this.pendingIsr = pending;
    host.alterIsr(this, isr).then(
      () => {
        this.logger.info({ ...details, from, to: isr, leaderEpoch: this.state.leaderEpoch, partitionEpoch: partitionEpoch + 1, highWatermark: this.log.highWatermark }, kind === 'shrink' ? 'ISR shrunk' : 'ISR expanded');
      },
      (err: unknown) => {
        this.logger.warn({ err, ...details, from, to: isr, partitionEpoch }, `ISR ${kind} refused by the controller`);
      },
    ).finally(() => {
      if (this.pendingIsr === pending && this.state.partitionEpoch === partitionEpoch) this.pendingIsr = null;
    });
  }

  /** Kafka's OffsetForLeaderEpoch on the leader (for followers and for clients: leader only). */
  lastOffsetForLeaderEpoch(currentLeaderEpoch: number, leaderEpoch: number): { errorCode: number; leaderEpoch: number; endOffset: number } {
    if (!this.isLeader) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, leaderEpoch: -1, endOffset: -1 };
    const epochError = this.leaderEpochError(currentLeaderEpoch);
    if (epochError !== ErrorCode.NONE) return { errorCode: epochError, leaderEpoch: -1, endOffset: -1 };
    const end = this.log.endOffsetForEpoch(leaderEpoch);
    return { errorCode: ErrorCode.NONE, leaderEpoch: end.leaderEpoch, endOffset: end.endOffset };
  }

  // ------------------------------------------------------------------------------------------- follower

  /**
   * Appends batches fetched from the leader (fetcher only), unless the partition stopped following that leader
   * epoch meanwhile: then nothing is written and null returned.
   */
  appendReplicated(records: Buffer, leaderEpoch: number): Promise<AppendResult> | null {
    if (this.closed || this._role !== 'follower' || this.state.leaderEpoch !== leaderEpoch) return null;
    const appending = this.log.appendAsFollower(records);
    const tracked = appending.catch(() => undefined);
    this.replicatedAppend = tracked;
    void tracked.finally(() => {
      if (this.replicatedAppend === tracked) this.replicatedAppend = null;
    });
    return appending;
  }

  /** Resolves once no replicated append is in flight (before a new fetcher truncates). */
  async settleReplicatedAppend(): Promise<void> {
    while (this.replicatedAppend !== null) await this.replicatedAppend;
  }

  /**
   * Follower truncation (epoch based, or to the leader's log end), logged; the high watermark follows. Like
   * appendReplicated, nothing happens unless the partition still follows `leaderEpoch` (a decision taken for an
   * earlier leadership must not cut what a later one replicated).
   */
  async truncateReplica(offset: number, leaderEpoch: number, reason: string, details: Record<string, unknown> = {}): Promise<void> {
    if (this.closed || this._role !== 'follower' || this.state.leaderEpoch !== leaderEpoch) return;
    const before = { logEndOffset: this.log.logEndOffset, highWatermark: this.log.highWatermark, latestEpoch: this.log.latestEpoch };
    if (offset < before.highWatermark) this.logger.warn({ offset, ...before }, 'truncating below the high watermark');
    await this.log.truncateTo(offset);
    if (this.log.logEndOffset !== before.logEndOffset || this.log.latestEpoch !== before.latestEpoch) {
      this.logger.info({ reason, offset, ...details, ...before, newLogEndOffset: this.log.logEndOffset, leader: this.state.leader, leaderEpoch: this.state.leaderEpoch }, 'truncated replica log');
    }
  }

  /** The follower's log end fell below the leader's log start: restart it empty there. */
  async restartReplicaAt(offset: number, leaderEpoch: number): Promise<void> {
    if (this.closed || this._role !== 'follower' || this.state.leaderEpoch !== leaderEpoch) return;
    this.logger.warn({ offset, logStartOffset: this.log.logStartOffset, logEndOffset: this.log.logEndOffset, leader: this.state.leader }, 'replica is behind the leader log start; restarting it empty there');
    await this.log.truncateFullyAndStartAt(offset);
  }

  /** Follower: the leader's high watermark, bounded by what this replica has. */
  updateFollowerHighWatermark(leaderHighWatermark: number): void {
    if (this._role !== 'follower') return;
    const before = this.log.highWatermark;
    const hw = this.log.updateHighWatermark(Math.min(leaderHighWatermark, this.log.logEndOffset));
    if (hw !== before) this.wakeAll(this.hwWaiters);
  }

  // ------------------------------------------------------------------------------------------- waiting

  /** Calls `wake` once, on the next high-watermark advance (or role change / deletion); returns a cancel function. */
  onAdvance(wake: () => void): () => void {
    return this.waitOn(this.hwWaiters, wake);
  }

  /** Calls `wake` once, when the log end moves (new data for followers) or the high watermark does. */
  onLogEndOrHighWatermark(wake: () => void): () => void {
    const cancelA = this.waitOn(this.logEndWaiters, wake);
    const cancelB = this.waitOn(this.hwWaiters, wake);
    return () => {
      cancelA();
      cancelB();
    };
  }

  private waitOn(set: Set<() => void>, wake: () => void): () => void {
    if (this.closed) {
      wake();
      return () => undefined;
    }
    set.add(wake);
    return () => set.delete(wake);
  }

  private wakeAll(set: Set<() => void>): void {
    if (set.size === 0) return;
    const waiters = [...set];
    set.clear();
    for (const w of waiters) w();
  }

  /** Marks the partition gone (topic deleted, replica moved away, node stopping): wakes and fails waiters. */
  markClosed(): void {
    if (this.closed) return;
    if (this._role === 'follower') this.host?.unfollow(this);
    this.failProduceWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'partition closed');
    this.closed = true;
    this.log.onLogEndAdvance = null;
    this.wakeAll(this.hwWaiters);
    this.wakeAll(this.logEndWaiters);
  }

  private nowMs(): number {
    return this.host?.nowMs() ?? Date.now();
  }
}
