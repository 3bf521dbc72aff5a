import { ErrorCode, assert, counter, gauge, histogram, type Logger } from '@fluxo/common';
import { decodeSubscriptionBytes } from '@fluxo/protocol';
import {
  CONSUMER_PROTOCOL_TYPE,
  type FetchedOffset,
  type GroupCoordinatorOptions,
  type GroupDescription,
  type JoinGroupParams,
  type MemberIdentity,
  type OffsetCommitEntry,
  type OffsetCommitParams,
  type SyncGroupParams,
} from './coordinator-api.js';
import { FIRST_USE_LOAD_WAIT_MS, GROUP_METADATA_TOPIC, type GroupCoordinatorConfig } from './group-config.js';
import { GroupStore } from './group-store.js';
import { NO_ASSIGNMENT, joinError, syncError, type CommittedOffset, type Group, type GroupState, type JoinGroupResult, type SyncGroupResult } from './group.js';
import { registerLagMetrics } from './lag-metrics.js';
import { GroupMembership } from './membership.js';
import type { OffsetsRecord } from './offsets-log.js';
import { encodeOffsetKey, encodeOffsetValue } from './records.js';
import { systemScheduler, type Scheduler } from './scheduler.js';

export * from './coordinator-api.js';

/** Partition loads: milliseconds for a fresh partition, seconds for a big uncompacted one. */
const LOAD_BUCKETS_SECONDS = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60];

/**
 * Kafka's classic group coordinator: this node coordinates the groups whose __consumer_offsets partition it
 * leads (on a single node: all of them). Membership is GroupMembership's job, persistence and partition
 * ownership (load on election, unload on resignation) GroupStore's; this class owns the lifecycle, committed
 * offsets (commit, fetch, delete, retention) and the admin operations.
 *
 * Every group operation checks ownership synchronously right before acting (`serve`), so a group is never
 * created or changed for a partition this node stopped leading in between.
 */
export class GroupCoordinator {
  private readonly store: GroupStore;
  private readonly membership: GroupMembership;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly config: GroupCoordinatorConfig;
  private running = false;
  private cancelRetention: (() => void) | null = null;
  private retentionRunning = false;
  private unregisterLag: (() => void) | null = null;
  private unsubscribeLeadership: (() => void) | null = null;

  constructor(private readonly opts: GroupCoordinatorOptions) {
    this.scheduler = opts.scheduler ?? systemScheduler;
    this.logger = opts.logger;
    this.config = opts.config;
    const registry = opts.registry;
    this.store = new GroupStore({
      config: opts.config,
      topic: opts.topic,
      logger: opts.logger,
      scheduler: this.scheduler,
      groupsGauge: registry ? gauge(registry, 'fluxo_consumer_groups', 'Consumer groups this node coordinates') : null,
      loadSeconds: registry ? histogram(registry, 'fluxo_group_partition_load_seconds', 'Time to load the groups of a __consumer_offsets partition this node became leader of', [], LOAD_BUCKETS_SECONDS) : null,
      onGroupLoaded: (group) => this.membership.onGroupLoaded(group),
    });
    this.membership = new GroupMembership(
      this.store,
      opts.config,
      this.scheduler,
      opts.logger,
      registry ? counter(registry, 'fluxo_group_rebalances_total', 'Group rebalances started') : null,
    );
  }

  /** The __consumer_offsets partition coordinating `groupId`. */
  partitionFor(groupId: string): number {
    return this.store.partitionFor(groupId);
  }

  async joinGroup(p: JoinGroupParams): Promise<JoinGroupResult> {
    const ready = this.serve(p.groupId, await this.prepare(p.groupId));
    return ready !== ErrorCode.NONE ? joinError(p.memberId, ready) : this.membership.joinGroup(p);
  }

  async syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    const ready = this.serve(p.groupId, await this.prepare(p.groupId));
    return ready !== ErrorCode.NONE ? syncError(ready) : this.membership.syncGroup(p);
  }

  async heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): Promise<number> {
    const ready = this.serve(groupId, await this.prepare(groupId));
    return ready !== ErrorCode.NONE ? ready : this.membership.heartbeat(groupId, memberId, groupInstanceId, generationId);
  }

  async leaveGroup(groupId: string, leaving: readonly MemberIdentity[]): Promise<{ errorCode: number; members: (MemberIdentity & { errorCode: number })[] }> {
    const ready = this.serve(groupId, await this.prepare(groupId));
    return ready !== ErrorCode.NONE ? { errorCode: ready, members: [] } : this.membership.leaveGroup(groupId, leaving);
  }

  /**
   * Loads the groups of the __consumer_offsets partitions this node leads (call after the partition logs are
   * open) and follows leadership changes from then on.
   */
  async start(): Promise<void> {
    assert(!this.running, 'group coordinator started twice');
    this.running = true;
    const { registry, highWatermark } = this.opts;
    if (registry && highWatermark) this.unregisterLag = registerLagMetrics(registry, { groups: () => this.store.values(), highWatermark });
    this.scheduleRetention();
    this.unsubscribeLeadership =
      this.opts.topic.onChange?.(() => {
        if (this.running) void this.store.reconcile();
      }) ?? null;
    if (this.opts.topic.existing() !== null) await this.store.reconcile();
  }

  /** Answers waiting joins/syncs with NOT_COORDINATOR (clients rediscover) and drops timers and state. */
  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribeLeadership?.();
    this.unsubscribeLeadership = null;
    this.unregisterLag?.();
    this.unregisterLag = null;
    this.cancelRetention?.();
    this.cancelRetention = null;
    await this.store.reset(ErrorCode.NOT_COORDINATOR);
  }

  /** Creates __consumer_offsets if missing (FindCoordinator does first); NONE or COORDINATOR_NOT_AVAILABLE. */
  async ensureTopic(): Promise<number> {
    if (!this.running) return ErrorCode.NOT_COORDINATOR;
    try {
      await this.store.ensureTopic();
      return this.running ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR;
    } catch (err) {
      // Kafka answers COORDINATOR_NOT_AVAILABLE while the topic cannot be created (e.g. too few brokers).
      this.logger.warn({ err }, `${GROUP_METADATA_TOPIC} is not available`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /** Creates __consumer_offsets if missing and loads every partition this node leads; NONE or the error to answer. */
  async ensureReady(): Promise<number> {
    const created = await this.ensureTopic();
    if (created !== ErrorCode.NONE) return created;
    await this.store.reconcile();
    return this.running ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR;
  }

  /**
   * FindCoordinator on the coordinator itself: waits (at most `timeoutMs`) until the group's partition is loaded,
   * so the client's next request is served; `elected`: the metadata names this node the partition's leader (its
   * replica may still be opening). NONE, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.
   */
  async awaitLoaded(groupId: string, timeoutMs: number, elected?: () => boolean): Promise<number> {
    if (!this.running) return ErrorCode.NOT_COORDINATOR;
    return this.store.awaitLoaded(groupId, timeoutMs, elected);
  }

  /**
   * The asynchronous part of serving a group request: on first use on this node (no FindCoordinator before) the
   * topic is created and the group's partition loaded, as FindCoordinator does. NONE when `serve` decides.
   */
  private async prepare(groupId: string): Promise<number> {
    if (groupId.length === 0) return ErrorCode.INVALID_GROUP_ID;
    if (!this.running) return ErrorCode.NOT_COORDINATOR;
    if (this.opts.topic.existing() !== null) return ErrorCode.NONE;
    const created = await this.ensureTopic();
    if (created !== ErrorCode.NONE) return created;
    await this.store.awaitLoaded(groupId, FIRST_USE_LOAD_WAIT_MS);
    return ErrorCode.NONE;
  }

  /** After `prepare`: whether this node serves `groupId` now (Kafka's isGroupLocal / isGroupLoading). Synchronous. */
  private serve(groupId: string, prepared: number): number {
    if (prepared !== ErrorCode.NONE) return prepared;
    if (!this.running) return ErrorCode.NOT_COORDINATOR;
    return this.store.status(groupId);
  }

  /** Error code per entry of `p.offsets`, in order. */
  async commitOffsets(p: OffsetCommitParams): Promise<number[]> {
    // Like Kafka (KafkaApis answers unknown partitions before asking the coordinator), partitions that do not
    // exist get UNKNOWN_TOPIC_OR_PARTITION whatever the member or generation; group errors apply to the rest.
    const codes = p.offsets.map((o) => {
      const partitions = this.opts.topicPartitions(o.topic);
      if (partitions === undefined || o.partition < 0 || o.partition >= partitions) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (o.metadata !== null && Buffer.byteLength(o.metadata) > this.config.offsetMetadataMaxBytes) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
      return ErrorCode.NONE;
    });
    const all = (code: number): number[] => codes.map((c) => (c === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? c : code));
    if (codes.every((c) => c === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) return codes;
    const ready = this.serve(p.groupId, await this.prepare(p.groupId));
    if (ready !== ErrorCode.NONE) return all(ready);
    let group = this.store.get(p.groupId);
    if (!group) {
      // Only consumers that assign partitions themselves may commit for a group that does not exist.
      if (p.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = this.store.addGroup(p.groupId);
    }
    const invalid = this.validateCommit(group, p);
    if (invalid !== ErrorCode.NONE) {
      this.store.dropIfUnused(group);
      return all(invalid);
    }
    const member = group.members.get(p.memberId);
    if (member) this.membership.scheduleHeartbeatExpiry(group, member, member.sessionTimeoutMs);

    const now = this.scheduler.nowMs();
    const accepted: { entry: OffsetCommitEntry; value: CommittedOffset }[] = [];
    const records: OffsetsRecord[] = [];
    p.offsets.forEach((o, i) => {
      if (codes[i] !== ErrorCode.NONE) return;
      const value: CommittedOffset = {
        offset: o.offset,
        leaderEpoch: o.leaderEpoch,
        metadata: o.metadata ?? '',
        commitTimestampMs: now,
        expireTimestampMs: p.retentionTimeMs >= 0 ? now + p.retentionTimeMs : null,
      };
      accepted.push({ entry: o, value });
      records.push({ key: encodeOffsetKey(p.groupId, o.topic, o.partition), value: encodeOffsetValue(value) });
    });
    if (records.length === 0) {
      this.store.dropIfUnused(group);
      return codes;
    }
    const code = await this.store.append(p.groupId, records, true);
    if (code !== ErrorCode.NONE) {
      this.store.dropIfUnused(group);
      return codes.map((c) => (c === ErrorCode.NONE ? code : c));
    }
    // Leadership moved meanwhile: the record is in the log; the new coordinator loads it.
    if (!this.store.serving(p.groupId)) return codes;
    // The group may have been deleted meanwhile: the record is in the log, so it exists again (as on reload).
    const target = this.store.get(p.groupId) ?? this.store.addGroup(p.groupId);
    for (const a of accepted) target.setOffset(a.entry.topic, a.entry.partition, a.value);
    return codes;
  }

  /** Kafka's validateOffsetCommit. */
  private validateCommit(group: Group, p: OffsetCommitParams): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (p.generationId >= 0 || p.memberId !== '' || p.groupInstanceId !== null) {
      if (group.isStaticMemberFenced(p.memberId, p.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
      if (!group.has(p.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!group.is('Empty')) {
      // When the group has members, only they may commit.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  /** Committed offsets; `topics` null = every partition the group has an offset for. */
  async fetchOffsets(
    groupId: string,
    topics: readonly { readonly name: string; readonly partitions: readonly number[] }[] | null,
  ): Promise<{ errorCode: number; topics: { name: string; partitions: FetchedOffset[] }[] }> {
    const ready = this.serve(groupId, await this.prepare(groupId));
    if (ready !== ErrorCode.NONE) return { errorCode: ready, topics: [] };
    const group = this.store.get(groupId);
    const none = (partition: number): FetchedOffset => ({ partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE });
    const found = (partition: number, o: CommittedOffset): FetchedOffset => ({ partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE });
    if (topics === null) {
      if (!group || group.is('Dead')) return { errorCode: ErrorCode.NONE, topics: [] };
      return {
        errorCode: ErrorCode.NONE,
        topics: [...group.offsets].map(([name, byPartition]) => ({ name, partitions: [...byPartition].map(([i, o]) => found(i, o)) })),
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((i) => {
          const o = group && !group.is('Dead') ? group.offset(t.name, i) : undefined;
          return o ? found(i, o) : none(i);
        }),
      })),
    };
  }

  /** OffsetDelete: removes committed offsets of partitions the group no longer consumes. */
  async deleteOffsets(
    groupId: string,
    topics: readonly { readonly name: string; readonly partitions: readonly number[] }[],
  ): Promise<{ errorCode: number; topics: { name: string; partitions: { partition: number; errorCode: number }[] }[] }> {
    const ready = this.serve(groupId, await this.prepare(groupId));
    if (ready !== ErrorCode.NONE) return { errorCode: ready, topics: [] };
    const group = this.store.get(groupId);
    if (!group || group.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    let subscribed: ReadonlySet<string> | null = null;
    if (!group.is('Empty')) {
      if (group.protocolType !== CONSUMER_PROTOCOL_TYPE) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
      subscribed = this.subscribedTopics(group);
    }
    const tombstones: OffsetsRecord[] = [];
    const result = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((partition) => {
        const count = this.opts.topicPartitions(t.name);
        if (count === undefined || partition < 0 || partition >= count) return { partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        // Unknown subscriptions (undecodable metadata) count as subscribed: never delete what may be in use.
        if (subscribed === null ? !group.is('Empty') : subscribed.has(t.name)) return { partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        if (group.removeOffset(t.name, partition)) tombstones.push({ key: encodeOffsetKey(groupId, t.name, partition), value: null });
        return { partition, errorCode: ErrorCode.NONE };
      }),
    }));
    tombstones.push(...this.store.retire(group));
    if (tombstones.length > 0) await this.store.append(groupId, tombstones, true);
    return { errorCode: ErrorCode.NONE, topics: result };
  }

  /** Topics the members of a consumer group subscribe to, or null if a member's metadata does not decode. */
  private subscribedTopics(group: Group): ReadonlySet<string> | null {
    if (group.protocolType !== CONSUMER_PROTOCOL_TYPE || group.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of group.members.values()) {
      try {
        for (const t of decodeSubscriptionBytes(m.metadataFor(group.protocolName)).subscription.topics) topics.add(t);
      } catch {
        return null;
      }
    }
    return topics;
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const ready = this.serve(groupId, await this.prepare(groupId));
    const dead: GroupDescription = { errorCode: ready, groupId, state: 'Dead', protocolType: '', protocolData: '', members: [] };
    if (ready !== ErrorCode.NONE) return dead;
    const group = this.store.get(groupId);
    if (!group) return dead;
    const stable = group.is('Stable') && group.protocolName !== null;
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: stable ? group.protocolName! : '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadataFor(group.protocolName!) : NO_ASSIGNMENT,
        assignment: stable ? m.assignment : NO_ASSIGNMENT,
      })),
    };
  }

  async listGroups(statesFilter: readonly string[]): Promise<{ errorCode: number; groups: { groupId: string; protocolType: string; state: GroupState }[] }> {
    if (!this.running) return { errorCode: ErrorCode.NOT_COORDINATOR, groups: [] };
    // Groups exist only once the topic does: do not create it just to list nothing.
    if (this.opts.topic.existing() === null) return { errorCode: ErrorCode.NONE, groups: [] };
    // The groups of the partitions this node leads, once their loads (local reads) are done.
    await this.store.reconcile();
    if (!this.running) return { errorCode: ErrorCode.NOT_COORDINATOR, groups: [] };
    const wanted = new Set(statesFilter.map((s) => s.toLowerCase()));
    const groups: { groupId: string; protocolType: string; state: GroupState }[] = [];
    for (const g of this.store.values()) {
      if (g.is('Dead') || (wanted.size > 0 && !wanted.has(g.state.toLowerCase()))) continue;
      groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state });
    }
    // Kafka: the groups known so far, with COORDINATOR_LOAD_IN_PROGRESS while a partition is still loading.
    return { errorCode: this.store.loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const results: { groupId: string; errorCode: number }[] = [];
    const appends: Promise<number>[] = [];
    for (const groupId of groupIds) {
      const ready = this.serve(groupId, await this.prepare(groupId));
      if (ready !== ErrorCode.NONE) {
        results.push({ groupId, errorCode: ready });
        continue;
      }
      const group = this.store.get(groupId);
      if (!group || group.is('Dead')) {
        results.push({ groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
        continue;
      }
      if (!group.is('Empty')) {
        results.push({ groupId, errorCode: ErrorCode.NON_EMPTY_GROUP });
        continue;
      }
      const tombstones: OffsetsRecord[] = [];
      for (const [topic, byPartition] of group.offsets) for (const partition of byPartition.keys()) tombstones.push({ key: encodeOffsetKey(groupId, topic, partition), value: null });
      group.offsets.clear();
      tombstones.push(...this.store.retire(group));
      appends.push(this.store.append(groupId, tombstones, true));
      this.logger.info({ groupId }, 'group deleted');
      results.push({ groupId, errorCode: ErrorCode.NONE });
    }
    await Promise.all(appends);
    return results;
  }

  /** Kafka's onPartitionsDeleted: offsets of a deleted topic go (tombstones), and groups left with nothing. */
  async onTopicDeleted(topic: string): Promise<void> {
    if (topic === GROUP_METADATA_TOPIC) {
      // Someone deleted the internal topic: every group's state went with it. Start over (clients rediscover).
      this.logger.warn(`${GROUP_METADATA_TOPIC} was deleted; dropping all group state`);
      await this.store.reset(ErrorCode.NOT_COORDINATOR);
      return;
    }
    const byPartition = new Map<number, OffsetsRecord[]>();
    for (const group of this.store.values()) {
      const partitions = group.offsets.get(topic);
      if (!partitions) continue;
      const records: OffsetsRecord[] = [...partitions.keys()].map((p) => ({ key: encodeOffsetKey(group.groupId, topic, p), value: null }));
      group.offsets.delete(topic);
      records.push(...this.store.retire(group));
      const p = this.store.partitionFor(group.groupId);
      byPartition.set(p, [...(byPartition.get(p) ?? []), ...records]);
    }
    await this.store.appendByPartition(byPartition);
  }

  private scheduleRetention(): void {
    if (!this.running) return;
    this.cancelRetention = this.scheduler.schedule(this.config.offsetsRetentionCheckIntervalMs, () => {
      this.cancelRetention = null;
      void this.expireOffsets().finally(() => this.scheduleRetention());
    });
  }

  /**
   * Kafka's cleanupGroupMetadata: offsets of Empty groups expire offsets.retention after the group became
   * Empty; of groups without a protocol (manual assignment) after their commit; of Stable consumer groups
   * only for topics no member subscribes to. Expired offsets and retired groups get tombstones.
   */
  async expireOffsets(): Promise<number> {
    if (this.retentionRunning) return 0;
    this.retentionRunning = true;
    try {
      const now = this.scheduler.nowMs();
      const retention = this.config.offsetsRetentionMs;
      const byPartition = new Map<number, OffsetsRecord[]>();
      let expired = 0;
      for (const group of this.store.values()) {
        let base: ((o: CommittedOffset) => number) | null = null;
        let keepTopics: ReadonlySet<string> = new Set();
        if (group.protocolType === null || group.protocolType === '') {
          if (group.is('Empty')) base = (o) => o.commitTimestampMs;
        } else if (group.is('Empty')) {
          base = () => group.currentStateTimestampMs;
        } else if (group.protocolType === CONSUMER_PROTOCOL_TYPE && group.is('Stable')) {
          const subscribed = this.subscribedTopics(group);
          if (subscribed !== null) {
            base = (o) => o.commitTimestampMs;
            keepTopics = subscribed;
          }
        }
        if (base === null) continue;
        const tombstones: OffsetsRecord[] = [];
        for (const [topic, partitions] of [...group.offsets]) {
          if (keepTopics.has(topic)) continue;
          for (const [partition, o] of [...partitions]) {
            const due = o.expireTimestampMs !== null ? now >= o.expireTimestampMs : now - base(o) >= retention;
            if (!due) continue;
            group.removeOffset(topic, partition);
            tombstones.push({ key: encodeOffsetKey(group.groupId, topic, partition), value: null });
          }
        }
        expired += tombstones.length;
        tombstones.push(...this.store.retire(group));
        if (tombstones.length === 0) continue;
        const p = this.store.partitionFor(group.groupId);
        const list = byPartition.get(p) ?? [];
        list.push(...tombstones);
        byPartition.set(p, list);
      }
      await this.store.appendByPartition(byPartition);
      if (expired > 0) this.logger.info({ expiredOffsets: expired }, 'removed expired offsets');
      return expired;
    } finally {
      this.retentionRunning = false;
    }
  }

  /** For tests and DescribeGroups-like tooling. */
  groupState(groupId: string): GroupState | undefined {
    return this.store.get(groupId)?.state;
  }
}
