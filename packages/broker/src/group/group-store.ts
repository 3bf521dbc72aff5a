import { ErrorCode, type Gauge, type Logger } from '@fluxo/common';
import { GROUP_METADATA_TOPIC, type GroupCoordinatorConfig } from './group-config.js';
import { Group, Member, NO_ASSIGNMENT } from './group.js';
import { loadPartition, offsetsBatch, type OffsetsRecord, type OffsetsTopic } from './offsets-log.js';
import { partitionFor } from './partition-for.js';
import { encodeGroupKey, encodeGroupValue, type StoredMember } from './records.js';
import type { Scheduler } from './scheduler.js';

/** Kafka's GroupMetadataManager.storeGroup/storeOffsets error mapping for a failed append. */
function appendErrorCode(err: unknown, forOffsets: boolean): number {
  const code = err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'number' ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return forOffsets ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

export interface GroupStoreOptions {
  readonly config: GroupCoordinatorConfig;
  readonly topic: OffsetsTopic;
  readonly logger: Logger;
  readonly scheduler: Scheduler;
  readonly groupsGauge: Gauge<string> | null;
  /** Called for every group rebuilt from the log (members must heartbeat again). */
  readonly onGroupLoaded: (group: Group) => void;
}

/**
 * The groups this node coordinates and their persistence (Kafka's GroupMetadataManager): rebuilt by reading
 * __consumer_offsets, changed by appending group metadata, offset commits and tombstones to the partition
 * hash(group) of that topic.
 */
export class GroupStore {
  private readonly groups = new Map<string, Group>();
  private readonly topic: OffsetsTopic;
  private readonly config: GroupCoordinatorConfig;
  private readonly logger: Logger;
  private readonly scheduler: Scheduler;
  private readonly groupsGauge: Gauge<string> | null;
  private partitionCount: number | null = null;
  private loading: Promise<void> | null = null;
  private loaded = false;

  constructor(private readonly opts: GroupStoreOptions) {
    this.topic = opts.topic;
    this.config = opts.config;
    this.logger = opts.logger;
    this.scheduler = opts.scheduler;
    this.groupsGauge = opts.groupsGauge;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  get(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  values(): Group[] {
    return [...this.groups.values()];
  }

  /** Forgets every group (node stopping, or the topic was deleted), answering waiting requests with `errorCode`. */
  async reset(errorCode: number): Promise<void> {
    await this.loading?.catch(() => undefined);
    for (const group of this.groups.values()) group.abort(errorCode);
    this.groups.clear();
    this.loaded = false;
    this.loading = null;
    this.partitionCount = null;
    this.groupsGauge?.set(0);
  }

  /** The __consumer_offsets partition coordinating `groupId`. */
  partitionFor(groupId: string): number {
    return partitionFor(groupId, this.partitionCount ?? this.topic.existing() ?? this.config.offsetsTopicPartitions);
  }

  /** Creates (if needed) and reads __consumer_offsets once; concurrent callers share the load. */
  ensureLoaded(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    if (this.loading === null) {
      this.loading = this.loadAll().then(
        () => {
          this.loaded = true;
        },
        (err: unknown) => {
          this.loading = null;
          throw err;
        },
      );
    }
    return this.loading;
  }

  private async loadAll(): Promise<void> {
    const started = Date.now();
    const count = await this.topic.ensure(this.config.offsetsTopicPartitions);
    this.partitionCount = count;
    let groupsLoaded = 0;
    let records = 0;
    for (let p = 0; p < count; p++) {
      const partition = this.topic.partition(p);
      if (partition === undefined) throw new Error(`${GROUP_METADATA_TOPIC}-${p} is not open`);
      const loaded = await loadPartition(partition, this.logger);
      records += loaded.records;
      const now = this.scheduler.nowMs();
      for (const [groupId, value] of loaded.groups) {
        if (value === null) continue;
        const group = new Group(groupId, value.currentStateTimestampMs >= 0 ? value.currentStateTimestampMs : now);
        group.protocolType = value.protocolType;
        group.generationId = value.generationId;
        group.protocolName = value.protocolName;
        for (const m of value.members) {
          const member = new Member(m.memberId, m.groupInstanceId, m.clientId, m.clientHost, m.rebalanceTimeoutMs, m.sessionTimeoutMs, value.protocolType, [
            { name: value.protocolName ?? '', metadata: m.subscription },
          ]);
          member.assignment = m.assignment;
          group.add(member);
        }
        group.leaderId = value.leaderId !== null && group.has(value.leaderId) ? value.leaderId : group.leaderId;
        group.state = group.members.size > 0 ? 'Stable' : 'Empty';
        this.groups.set(groupId, group);
      }
      for (const [groupId, byTopic] of loaded.offsets) {
        let group = this.groups.get(groupId);
        for (const [topic, byPartition] of byTopic) {
          for (const [index, value] of byPartition) {
            if (value === null) continue;
            if (!group) {
              group = new Group(groupId, now);
              this.groups.set(groupId, group);
            }
            group.setOffset(topic, index, value);
          }
        }
      }
    }
    for (const group of this.groups.values()) {
      groupsLoaded++;
      this.opts.onGroupLoaded(group);
    }
    this.groupsGauge?.set(this.groups.size);
    this.logger.info({ partitions: count, groups: groupsLoaded, records, durationMs: Date.now() - started }, `loaded ${GROUP_METADATA_TOPIC}`);
  }

  private groupRecord(group: Group, assignments: ReadonlyMap<string, Buffer>): OffsetsRecord {
    const protocol = group.protocolName;
    const members: StoredMember[] = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: protocol === null ? NO_ASSIGNMENT : m.metadataFor(protocol),
      assignment: assignments.get(m.memberId) ?? NO_ASSIGNMENT,
    }));
    return {
      key: encodeGroupKey(group.groupId),
      value: encodeGroupValue({
        protocolType: group.protocolType ?? '',
        generationId: group.generationId,
        protocolName: protocol,
        leaderId: group.leaderId,
        currentStateTimestampMs: group.currentStateTimestampMs,
        members,
      }),
    };
  }

  /** Writes the group's metadata record; NONE or the error code to answer (Kafka's storeGroup). */
  async storeGroup(group: Group, assignments: ReadonlyMap<string, Buffer>): Promise<number> {
    let record: OffsetsRecord;
    try {
      record = this.groupRecord(group, assignments);
    } catch (err) {
      this.logger.error({ err, groupId: group.groupId }, 'cannot encode group metadata');
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    }
    return this.append(group.groupId, [record], false);
  }

  async append(groupId: string, records: readonly OffsetsRecord[], forOffsets: boolean): Promise<number> {
    const partition = this.topic.partition(this.partitionFor(groupId));
    if (partition === undefined) return ErrorCode.NOT_COORDINATOR;
    try {
      await partition.append(offsetsBatch(records, this.scheduler.nowMs()));
      return ErrorCode.NONE;
    } catch (err) {
      const code = appendErrorCode(err, forOffsets);
      this.logger.warn({ err, groupId, records: records.length, errorCode: code }, `append to ${GROUP_METADATA_TOPIC} failed`);
      return code;
    }
  }

  async appendByPartition(byPartition: ReadonlyMap<number, readonly OffsetsRecord[]>): Promise<void> {
    const now = this.scheduler.nowMs();
    for (const [p, records] of byPartition) {
      const partition = this.topic.partition(p);
      if (!partition || records.length === 0) continue;
      try {
        await partition.append(offsetsBatch(records, now));
      } catch (err) {
        this.logger.warn({ err, partition: p, records: records.length }, `writing tombstones to ${GROUP_METADATA_TOPIC} failed`);
      }
    }
  }

  /** An Empty group without offsets is done: Dead, forgotten, and a tombstone for its metadata. */
  retire(group: Group): OffsetsRecord[] {
    if (!group.is('Empty') || group.hasOffsets() || group.pendingMembers.size > 0) return [];
    group.transitionTo('Dead', this.scheduler.nowMs());
    group.abort(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    this.groupsGauge?.set(this.groups.size);
    return [{ key: encodeGroupKey(group.groupId), value: null }];
  }

  addGroup(groupId: string): Group {
    const group = new Group(groupId, this.scheduler.nowMs());
    this.groups.set(groupId, group);
    this.groupsGauge?.set(this.groups.size);
    return group;
  }

  /** Forgets a group created for a request that then failed (nothing about it was ever persisted). */
  dropIfUnused(group: Group): void {
    if (group.is('Empty') && group.generationId === 0 && group.members.size === 0 && group.pendingMembers.size === 0 && !group.hasOffsets()) {
      if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
      this.groupsGauge?.set(this.groups.size);
    }
  }
}
