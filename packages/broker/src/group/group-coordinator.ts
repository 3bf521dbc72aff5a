import { ErrorCode, assert, counter, gauge, type Logger } from '@fluxo/common';
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
import { GROUP_METADATA_TOPIC, type GroupCoordinatorConfig } from './group-config.js';
import { GroupStore } from './group-store.js';
import { NO_ASSIGNMENT, joinError, syncError, type CommittedOffset, type Group, type GroupState, type JoinGroupResult, type SyncGroupResult } from './group.js';
import { GroupMembership } from './membership.js';
import type { OffsetsRecord } from './offsets-log.js';
import { encodeOffsetKey, encodeOffsetValue } from './records.js';
import { systemScheduler, type Scheduler } from './scheduler.js';

export * from './coordinator-api.js';

/**
 * Kafka's classic group coordinator on a single node: the node leads every partition of __consumer_offsets,
 * so it coordinates every group. Membership is GroupMembership's job, persistence GroupStore's; this class
 * owns the lifecycle, committed offsets (commit, fetch, delete, retention) and the admin operations.
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
    const ready = await this.prepare(p.groupId);
    return ready !== ErrorCode.NONE ? joinError(p.memberId, ready) : this.membership.joinGroup(p);
  }

  async syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    const ready = await this.prepare(p.groupId);
    return ready !== ErrorCode.NONE ? syncError(ready) : this.membership.syncGroup(p);
  }

  async heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): Promise<number> {
    const ready = await this.prepare(groupId);
    return ready !== ErrorCode.NONE ? ready : this.membership.heartbeat(groupId, memberId, groupInstanceId, generationId);
  }

  async leaveGroup(groupId: string, leaving: readonly MemberIdentity[]): Promise<{ errorCode: number; members: (MemberIdentity & { errorCode: number })[] }> {
    const ready = await this.prepare(groupId);
    return ready !== ErrorCode.NONE ? { errorCode: ready, members: [] } : this.membership.leaveGroup(groupId, leaving);
  }

  /** Loads existing groups when __consumer_offsets exists (call after the partition logs are open). */
  async start(): Promise<void> {
    assert(!this.running, 'group coordinator started twice');
    this.running = true;
    this.scheduleRetention();
    if (this.opts.topic.existing() !== null) await this.store.ensureLoaded();
  }

  /** Answers waiting joins/syncs with NOT_COORDINATOR (clients rediscover) and drops timers and state. */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelRetention?.();
    this.cancelRetention = null;
    await this.store.reset(ErrorCode.NOT_COORDINATOR);
  }

  /** Creates/loads __consumer_offsets on first use (FindCoordinator); NONE or the error to answer. */
  async ensureReady(): Promise<number> {
    if (!this.running) return ErrorCode.NOT_COORDINATOR;
    try {
      await this.store.ensureLoaded();
      return this.running ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR;
    } catch (err) {
      this.logger.warn({ err }, `${GROUP_METADATA_TOPIC} is not available`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /** NONE when the coordinator can serve `groupId` now (creating/loading the topic if needed). */
  private async prepare(groupId: string): Promise<number> {
    if (groupId.length === 0) return ErrorCode.INVALID_GROUP_ID;
    return this.ensureReady();
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
    const ready = await this.prepare(p.groupId);
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
    const ready = await this.prepare(groupId);
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
    const ready = await this.prepare(groupId);
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
    const ready = await this.prepare(groupId);
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
    // Groups exist only once the topic does: do not create it just to list nothing.
    if (!this.store.isLoaded && this.opts.topic.existing() === null) return { errorCode: this.running ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR, groups: [] };
    const ready = await this.ensureReady();
    if (ready !== ErrorCode.NONE) return { errorCode: ready, groups: [] };
    const wanted = new Set(statesFilter.map((s) => s.toLowerCase()));
    const groups: { groupId: string; protocolType: string; state: GroupState }[] = [];
    for (const g of this.store.values()) {
      if (g.is('Dead') || (wanted.size > 0 && !wanted.has(g.state.toLowerCase()))) continue;
      groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state });
    }
    return { errorCode: ErrorCode.NONE, groups };
  }

  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const results: { groupId: string; errorCode: number }[] = [];
    const appends: Promise<number>[] = [];
    for (const groupId of groupIds) {
      const ready = await this.prepare(groupId);
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
    if (!this.store.isLoaded) return;
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
    if (!this.store.isLoaded || this.retentionRunning) return 0;
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
