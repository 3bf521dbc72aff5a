import { ErrorCode, FluxoError, KafkaProtocolError, assert, errorName, type Logger } from '@fluxo/common';
import { apis, decodeAssignmentBytes, decodeSubscriptionBytes, encodeAssignmentBytes, encodeSubscriptionBytes, type JoinGroupResponseMember } from '@fluxo/protocol';
import type { Cluster } from '../cluster.js';
import { backoffMs, errorCodeOf, sleep } from '../retry.js';
import type { MemberSubscription, PartitionAssignor, RebalanceProtocol } from './assignors/assignor.js';
import { needsCoordinatorRediscovery, type CoordinatorClient } from './coordinator-client.js';
import type { CommitIdentity } from './offsets.js';
import { byTopic, flatten, minus, sortTopicPartitions, tpKey, type TopicPartition } from './topic-partition.js';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';
/** ConsumerProtocolSubscription / Assignment version written (Kafka's latest; readers accept newer ones). */
const CONSUMER_PROTOCOL_VERSION = 3;

export interface MembershipOptions {
  groupId: string;
  /** Kafka group.instance.id: static membership (KIP-345). Static members do not leave on close. */
  groupInstanceId: string | null;
  /** Kafka session.timeout.ms: the coordinator drops a member that sends no heartbeat for this long. */
  sessionTimeoutMs: number;
  /** Kafka max.poll.interval.ms: sent as the rebalance timeout; a consumer that does not poll this long leaves. */
  maxPollIntervalMs: number;
  /** Kafka heartbeat.interval.ms. */
  heartbeatIntervalMs: number;
  assignors: readonly PartitionAssignor[];
  logger: Logger;
}

/** What the membership needs from the consumer that owns it. */
export interface MembershipCallbacks {
  /** Topics this member subscribes to now (sorted). */
  subscribedTopics(): string[];
  /** Partitions the consumer owns now. */
  owned(): TopicPartition[];
  /** Taken away while this member still belongs to the generation: commit their offsets, then stop reading. */
  revoke(partitions: TopicPartition[]): Promise<void>;
  /** Lost (the generation is over, commits would fail): stop reading without committing. */
  lose(partitions: TopicPartition[]): Promise<void>;
  /** Newly assigned: look up committed offsets and start reading them. */
  assign(added: TopicPartition[], assignment: TopicPartition[]): Promise<void>;
  /** Interrupts a wait in the poll loop so that a rebalance starts promptly. */
  wake(): void;
}

/** An application's rebalance listener threw: passed on to the caller of poll(), never retried here. */
export class RebalanceListenerError extends FluxoError {
  override readonly name: string = 'RebalanceListenerError';
}

/** Join errors this member cannot get past by retrying (Kafka raises them from poll()). */
const FATAL_JOIN_CODES = new Set<number>([
  ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
  ErrorCode.INVALID_SESSION_TIMEOUT,
  ErrorCode.INVALID_GROUP_ID,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.GROUP_MAX_SIZE_REACHED,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INVALID_REQUEST,
]);

/** Join retries without backoff in a row (MEMBER_ID_REQUIRED, UNKNOWN_MEMBER_ID, a rebalance during sync). */
const MAX_IMMEDIATE_REJOINS = 5;

type State = 'unjoined' | 'rebalancing' | 'stable';

/** The rebalance protocol a set of assignors allows: cooperative only when every one of them supports it. */
export function rebalanceProtocolOf(assignors: readonly PartitionAssignor[]): RebalanceProtocol {
  assert(assignors.length > 0, 'at least one assignor');
  return assignors.every((a) => a.supportedProtocols.includes('cooperative')) ? 'cooperative' : 'eager';
}

/**
 * Group membership of one consumer (Kafka's ConsumerCoordinator): JoinGroup (with the MEMBER_ID_REQUIRED
 * round trip of v4+), the leader's assignment, SyncGroup, heartbeats, rejoins and LeaveGroup. Rebalances run
 * inside poll() — between records, never while the application holds one — so revocation can commit first.
 */
export class GroupMembership {
  readonly protocol: RebalanceProtocol;
  memberId = '';
  generationId = -1;
  protocolName: string | null = null;
  leaderId = '';
  private state: State = 'unjoined';
  private rejoinReason: string | null = 'initial join';
  /** Partitions must be revoked or lost before the next JoinGroup (Kafka's needsJoinPrepare). */
  private needsJoinPrepare = true;
  private fatal: Error | null = null;
  private closed = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatInFlight: Promise<void> | null = null;
  private lastPollMs = Date.now();
  private lastHeartbeatOkMs = Date.now();
  /** Leader only: partition counts the assignment was computed from, to notice new partitions and topics. */
  private assignedFrom: Map<string, number> | null = null;
  /** Topics sent in the last JoinGroup. */
  private joinedTopics: string[] = [];
  private joining: Promise<void> | null = null;

  constructor(
    private readonly cluster: Cluster,
    readonly coordinator: CoordinatorClient,
    private readonly options: MembershipOptions,
    private readonly callbacks: MembershipCallbacks,
  ) {
    this.protocol = rebalanceProtocolOf(options.assignors);
    assert(options.heartbeatIntervalMs > 0 && options.heartbeatIntervalMs < options.sessionTimeoutMs, 'heartbeatIntervalMs must be positive and below sessionTimeoutMs');
  }

  get logger(): Logger {
    return this.options.logger;
  }

  get isStable(): boolean {
    return this.state === 'stable' && this.rejoinReason === null;
  }

  get isLeader(): boolean {
    return this.memberId !== '' && this.memberId === this.leaderId;
  }

  get rejoinNeeded(): boolean {
    return this.rejoinReason !== null;
  }

  /** Generation and member id to commit with. */
  identity(): CommitIdentity {
    return { generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.options.groupInstanceId };
  }

  /** Asks for a rebalance at the next poll (subscription or metadata change, revoked partitions). */
  requestRejoin(reason: string): void {
    if (this.rejoinReason === null) this.logger.info({ groupId: this.options.groupId, reason }, 'rejoining group');
    this.rejoinReason ??= reason;
    this.callbacks.wake();
  }

  /** Topics the leader assigned from and their partition counts (null on followers). */
  leaderSnapshot(): ReadonlyMap<string, number> | null {
    return this.isLeader ? this.assignedFrom : null;
  }

  topicsJoinedWith(): readonly string[] {
    return this.joinedTopics;
  }

  /** Called at every poll: joins or rejoins when needed. Rejects with a fatal group error. */
  async poll(): Promise<void> {
    this.lastPollMs = Date.now();
    if (this.fatal) throw this.fatal;
    if (this.closed || this.rejoinReason === null) return;
    this.joining ??= this.ensureJoined().finally(() => {
      this.joining = null;
    });
    await this.joining;
  }

  private async ensureJoined(): Promise<void> {
    for (let attempt = 0, immediate = 0; this.rejoinReason !== null && !this.closed; ) {
      if (this.needsJoinPrepare) {
        await this.prepareJoin();
        this.needsJoinPrepare = false;
      }
      try {
        const retryNow = await this.joinAndSync();
        // MEMBER_ID_REQUIRED and friends retry at once, but a coordinator that keeps answering so gets backoff.
        if (retryNow && ++immediate <= MAX_IMMEDIATE_REJOINS) continue;
        if (retryNow) await sleep(backoffMs(this.cluster.retryOptions, attempt++));
        else attempt = 0;
        immediate = 0;
      } catch (err) {
        const code = errorCodeOf(err);
        if (this.closed) return;
        if (err instanceof RebalanceListenerError) throw err;
        if (FATAL_JOIN_CODES.has(code)) {
          this.fatal = err as Error;
          this.logger.error({ groupId: this.options.groupId, err: (err as Error).message }, 'cannot join group');
          throw err;
        }
        if (needsCoordinatorRediscovery(code)) this.coordinator.markUnknown((err as Error).message);
        this.logger.info({ groupId: this.options.groupId, err: (err as Error).message }, 'join group failed, retrying');
        await sleep(backoffMs(this.cluster.retryOptions, attempt++));
      }
    }
  }

  /** Kafka onJoinPrepare: eager members give up everything; members whose generation is gone lose it all. */
  private async prepareJoin(): Promise<void> {
    this.stopHeartbeats();
    const owned = this.callbacks.owned();
    if (owned.length === 0) return;
    if (this.generationId < 0 || this.memberId === '') {
      this.logger.info({ groupId: this.options.groupId, partitions: owned.length }, 'partitions lost: generation is over');
      await this.callbacks.lose(owned);
    } else if (this.protocol === 'eager') {
      await this.callbacks.revoke(owned);
    } else {
      // Cooperative: keep everything still subscribed to.
      const topics = new Set(this.callbacks.subscribedTopics());
      const gone = owned.filter((tp) => !topics.has(tp.topic));
      if (gone.length > 0) await this.callbacks.revoke(gone);
    }
  }

  private requestTimeoutMs(): number {
    // Kafka: the coordinator may hold JoinGroup for the whole rebalance timeout.
    return Math.max(this.cluster.requestTimeoutMs, this.options.maxPollIntervalMs + 5_000);
  }

  /** One JoinGroup + SyncGroup; resolves true when it should be retried at once (MEMBER_ID_REQUIRED etc.). */
  private async joinAndSync(): Promise<boolean> {
    this.state = 'rebalancing';
    const topics = [...this.callbacks.subscribedTopics()].sort();
    const owned = this.protocol === 'cooperative' ? this.callbacks.owned() : [];
    const metadata = encodeSubscriptionBytes(CONSUMER_PROTOCOL_VERSION, {
      topics,
      userData: null,
      ownedPartitions: byTopic(owned),
      generationId: this.generationId,
      rackId: null,
    });
    const join = await this.coordinator.send(
      apis.JoinGroup,
      {
        groupId: this.options.groupId,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        rebalanceTimeoutMs: this.options.maxPollIntervalMs,
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols: this.options.assignors.map((a) => ({ name: a.name, metadata })),
        reason: this.rejoinReason,
      },
      { timeoutMs: this.requestTimeoutMs() },
    );
    if (this.closed) return false;
    switch (join.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.MEMBER_ID_REQUIRED:
        // JoinGroup v4+: the coordinator hands out the id first; join again with it.
        this.memberId = join.memberId;
        return true;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.resetGeneration(true);
        return true;
      case ErrorCode.ILLEGAL_GENERATION:
        this.resetGeneration(false);
        return true;
      default:
        throw new KafkaProtocolError(join.errorCode, `JoinGroup of group ${this.options.groupId} failed (${errorName(join.errorCode)})`);
    }
    this.memberId = join.memberId;
    this.generationId = join.generationId;
    this.protocolName = join.protocolName;
    this.leaderId = join.leader;
    this.joinedTopics = topics;
    const assignments = this.isLeader ? await this.performAssignment(join.members, join.protocolName) : [];
    const sync = await this.coordinator.send(
      apis.SyncGroup,
      {
        groupId: this.options.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: this.protocolName,
        assignments,
      },
      { timeoutMs: this.requestTimeoutMs() },
    );
    if (this.closed) return false;
    switch (sync.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        // Another member joined meanwhile: join the new round in the same generation.
        return true;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.resetGeneration(true);
        return true;
      case ErrorCode.ILLEGAL_GENERATION:
        this.resetGeneration(false);
        return true;
      default:
        throw new KafkaProtocolError(sync.errorCode, `SyncGroup of group ${this.options.groupId} failed (${errorName(sync.errorCode)})`);
    }
    const assigned = sync.assignment.length === 0 ? [] : sortTopicPartitions(flatten(decodeAssignmentBytes(sync.assignment).assignment.assignedPartitions));
    await this.onJoinComplete(assigned);
    return false;
  }

  /** Kafka onJoinComplete: cooperative members revoke what moved away (and rejoin); everyone takes the new partitions. */
  private async onJoinComplete(assigned: TopicPartition[]): Promise<void> {
    this.rejoinReason = null;
    this.needsJoinPrepare = true;
    this.state = 'stable';
    this.lastHeartbeatOkMs = Date.now();
    this.startHeartbeats();
    const owned = this.callbacks.owned();
    const revoked = minus(owned, assigned);
    if (revoked.length > 0) {
      // Only cooperative members still own partitions here (eager ones revoked all before joining).
      await this.callbacks.revoke(revoked);
      this.requestRejoin(`${revoked.length} partition(s) revoked, rejoining so they can be reassigned`);
    }
    const added = minus(assigned, this.callbacks.owned());
    this.cluster.metrics?.groupRebalances.inc({ protocol: this.protocolName ?? '' });
    this.logger.info(
      { groupId: this.options.groupId, generationId: this.generationId, memberId: this.memberId, leader: this.isLeader, protocol: this.protocolName, assigned: assigned.length, added: added.length, revoked: revoked.length },
      'joined group',
    );
    const subscribed = new Set(this.callbacks.subscribedTopics());
    if (assigned.some((tp) => !subscribed.has(tp.topic))) this.requestRejoin('assigned a topic this member no longer subscribes to');
    try {
      await this.callbacks.assign(added, assigned);
    } catch (err) {
      // E.g. the committed offsets could not be read: rebalance again rather than own partitions not read.
      if (!(err instanceof RebalanceListenerError)) this.requestRejoin(`could not start reading the assignment: ${(err as Error).message}`);
      throw err;
    }
  }

  /** The leader runs the group's chosen assignor over every member's subscription. */
  private async performAssignment(members: JoinGroupResponseMember[], protocolName: string | null): Promise<{ memberId: string; assignment: Buffer }[]> {
    const assignor = this.options.assignors.find((a) => a.name === protocolName);
    if (!assignor) {
      throw new KafkaProtocolError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `group ${this.options.groupId} chose assignor ${String(protocolName)}, which this consumer does not have`);
    }
    const subscriptions: MemberSubscription[] = members.map((m) => {
      const { subscription } = decodeSubscriptionBytes(m.metadata);
      return {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId ?? null,
        topics: subscription.topics,
        userData: subscription.userData,
        ownedPartitions: flatten(subscription.ownedPartitions ?? []),
        generationId: subscription.generationId ?? -1,
        rackId: subscription.rackId ?? null,
      };
    });
    const topics = [...new Set(subscriptions.flatMap((s) => s.topics))].sort();
    const partitionsPerTopic = await this.partitionCounts(topics);
    const assignment = assignor.assign({ members: subscriptions, partitionsPerTopic });
    if (this.protocol === 'cooperative') validateCooperative(subscriptions, assignment);
    this.assignedFrom = partitionsPerTopic;
    this.logger.info(
      { groupId: this.options.groupId, generationId: this.generationId, assignor: assignor.name, members: members.length, topics: topics.length },
      'computed group assignment as leader',
    );
    return subscriptions.map((s) => ({
      memberId: s.memberId,
      assignment: encodeAssignmentBytes(CONSUMER_PROTOCOL_VERSION, { assignedPartitions: byTopic(assignment.get(s.memberId) ?? []), userData: null }),
    }));
  }

  /** Partition counts of the topics that exist (missing ones are left out, as Kafka's leader does). */
  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (topics.length === 0) return counts;
    const response = await this.cluster.retry(() => this.cluster.fetchMetadata([...topics], false));
    for (const t of response.topics) {
      if (t.name && t.errorCode === ErrorCode.NONE && t.partitions.length > 0) counts.set(t.name, t.partitions.length);
    }
    return counts;
  }

  /** Forgets the generation (and the member id when the coordinator no longer knows it): owned partitions are lost. */
  private resetGeneration(forgetMemberId: boolean): void {
    this.generationId = -1;
    if (forgetMemberId) this.memberId = '';
    this.state = 'unjoined';
    this.stopHeartbeats();
    this.needsJoinPrepare = true;
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.scheduleHeartbeat(this.options.heartbeatIntervalMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private scheduleHeartbeat(delayMs: number): void {
    if (this.closed || this.state !== 'stable') return;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = null;
      this.heartbeatInFlight = this.heartbeat().finally(() => {
        this.heartbeatInFlight = null;
      });
    }, delayMs);
    this.heartbeatTimer.unref?.();
  }

  /** One heartbeat (Kafka's heartbeat thread), then the next is scheduled. */
  private async heartbeat(): Promise<void> {
    if (this.closed || this.state !== 'stable') return;
    const generationId = this.generationId;
    const now = Date.now();
    if (now - this.lastPollMs > this.options.maxPollIntervalMs) {
      // Kafka: a consumer that stopped polling leaves so the group can go on without it.
      this.logger.warn(
        { groupId: this.options.groupId, maxPollIntervalMs: this.options.maxPollIntervalMs },
        'no poll within max.poll.interval.ms: leaving the group; the next poll rejoins',
      );
      await this.leave('consumer poll timeout has expired');
      this.requestRejoin('poll timeout expired');
      return;
    }
    if (now - this.lastHeartbeatOkMs > this.options.sessionTimeoutMs) this.coordinator.markUnknown('session timed out without a heartbeat response');
    let nextDelayMs = this.options.heartbeatIntervalMs;
    try {
      const response = await this.coordinator.send(
        apis.Heartbeat,
        { groupId: this.options.groupId, generationId, memberId: this.memberId, groupInstanceId: this.options.groupInstanceId },
        { timeoutMs: Math.min(this.cluster.requestTimeoutMs, this.options.sessionTimeoutMs) },
      );
      if (this.closed || this.generationId !== generationId) return;
      if (response.errorCode !== ErrorCode.NONE) this.cluster.metrics?.groupHeartbeatFailures.inc({ error: errorName(response.errorCode) });
      switch (response.errorCode) {
        case ErrorCode.NONE:
          this.lastHeartbeatOkMs = Date.now();
          break;
        case ErrorCode.REBALANCE_IN_PROGRESS:
          // The generation stays valid: eager members can still commit before revoking.
          this.lastHeartbeatOkMs = Date.now();
          this.requestRejoin('group is rebalancing');
          break;
        case ErrorCode.ILLEGAL_GENERATION:
        case ErrorCode.UNKNOWN_MEMBER_ID:
        case ErrorCode.FENCED_INSTANCE_ID:
          if (response.errorCode === ErrorCode.FENCED_INSTANCE_ID) {
            this.fatal = new KafkaProtocolError(response.errorCode, `another consumer with group.instance.id ${String(this.options.groupInstanceId)} joined group ${this.options.groupId} (FENCED_INSTANCE_ID)`);
          }
          this.logger.info({ groupId: this.options.groupId, error: errorName(response.errorCode) }, 'heartbeat: member is no longer in the generation');
          this.resetGeneration(response.errorCode !== ErrorCode.ILLEGAL_GENERATION);
          this.requestRejoin(errorName(response.errorCode));
          return;
        default:
          if (needsCoordinatorRediscovery(response.errorCode) || response.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
            this.coordinator.markUnknown(errorName(response.errorCode));
            nextDelayMs = this.cluster.retryOptions.retryBackoffMs;
          } else {
            this.logger.warn({ groupId: this.options.groupId, error: errorName(response.errorCode) }, 'unexpected heartbeat error');
          }
      }
    } catch (err) {
      if (this.closed) return;
      this.cluster.metrics?.groupHeartbeatFailures.inc({ error: err instanceof KafkaProtocolError ? err.type : 'UNKNOWN' });
      // send() already forgot the coordinator on network errors; try again soon.
      this.logger.debug({ groupId: this.options.groupId, err: (err as Error).message }, 'heartbeat failed');
      nextDelayMs = this.cluster.retryOptions.retryBackoffMs;
    }
    this.scheduleHeartbeat(nextDelayMs);
  }

  /**
   * LeaveGroup so the group rebalances at once instead of after the session timeout. Static members do not
   * leave (their instance id keeps the assignment across a restart); errors are logged, not thrown.
   */
  async leave(reason: string): Promise<void> {
    this.stopHeartbeats();
    const memberId = this.memberId;
    if (memberId !== '' && this.options.groupInstanceId === null) {
      try {
        const version = await this.coordinator.versionFor(apis.LeaveGroup);
        const response = await this.coordinator.send(apis.LeaveGroup, {
          groupId: this.options.groupId,
          memberId,
          members: version >= 3 ? [{ memberId, groupInstanceId: null, reason }] : [],
        });
        const code = response.errorCode !== ErrorCode.NONE ? response.errorCode : (response.members ?? []).find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
        if (code !== ErrorCode.NONE) this.logger.info({ groupId: this.options.groupId, error: errorName(code) }, 'LeaveGroup failed');
        else this.logger.info({ groupId: this.options.groupId, memberId, reason }, 'left group');
      } catch (err) {
        this.logger.info({ groupId: this.options.groupId, err: (err as Error).message }, 'LeaveGroup failed');
      }
    }
    this.resetGeneration(true);
  }

  /**
   * Stops heartbeating and joining. A JoinGroup the coordinator holds would hold back every later request on
   * the connection (brokers answer a connection in order), so it is abandoned with its connection. The owner
   * may still commit and leave() afterwards.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.stopHeartbeats();
    if (this.state === 'rebalancing') this.coordinator.markUnknown('consumer closing during a rebalance');
    await this.heartbeatInFlight?.catch(() => undefined);
    await this.joining?.catch(() => undefined);
  }
}

/** KIP-429 rule: in one rebalance a partition may be revoked from its owner or given to a new one, not both. */
function validateCooperative(members: readonly MemberSubscription[], assignment: Map<string, TopicPartition[]>): void {
  const owner = new Map<string, string>();
  for (const m of members) for (const tp of m.ownedPartitions) owner.set(tpKey(tp.topic, tp.partition), m.memberId);
  for (const [memberId, list] of assignment) {
    for (const tp of list) {
      const o = owner.get(tpKey(tp.topic, tp.partition));
      assert(o === undefined || o === memberId, `cooperative assignment gives ${tp.topic}-${tp.partition} to ${memberId} while ${o} still owns it`);
    }
  }
}
