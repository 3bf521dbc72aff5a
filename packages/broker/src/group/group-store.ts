import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, assert, type Gauge, type Histogram, type Logger } from '@fluxo/common';
import { GROUP_METADATA_TOPIC, type GroupCoordinatorConfig } from './group-config.js';
import { Group, Member, NO_ASSIGNMENT } from './group.js';
import { loadPartition, offsetsBatch, type LoadedPartition, type OffsetsPartition, type OffsetsRecord, type OffsetsTopic } from './offsets-log.js';
import { partitionFor } from './partition-for.js';
import { encodeGroupKey, encodeGroupValue, type StoredMember } from './records.js';
import type { Scheduler } from './scheduler.js';

/**
 * Kafka's GroupMetadataManager error mapping for a failed append: storeOffsets (`forOffsets`) and storeGroup.
 * Codes it does not map pass through, as in Kafka; errors without a Kafka code are UNKNOWN_SERVER_ERROR.
 */
export function appendErrorCode(err: unknown, forOffsets: boolean): number {
  const code = err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'number' ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.REQUEST_TIMED_OUT:
      // The ISR did not acknowledge in time: a group write restarts the rebalance; a commit is retried as is.
      return forOffsets ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.REBALANCE_IN_PROGRESS;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return forOffsets ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return code;
  }
}

/** How often the store looks again at a partition this node was elected to lead while its replica still opens. */
const BECOMING_LEADER_RECHECK_MS = 50;
/** Polling step of awaitLoaded while the replica opens. */
const AWAIT_LOADED_STEP_MS = 10;
/** After a failed load, requests get COORDINATOR_LOAD_IN_PROGRESS this long before the load is tried again. */
const LOAD_RETRY_BACKOFF_MS = 1000;

export interface GroupStoreOptions {
  readonly config: GroupCoordinatorConfig;
  readonly topic: OffsetsTopic;
  readonly logger: Logger;
  readonly scheduler: Scheduler;
  readonly groupsGauge: Gauge<string> | null;
  /** Seconds each partition load took (from its start to its groups in memory). */
  readonly loadSeconds: Histogram<string> | null;
  /** Called for every group rebuilt from the log (members must heartbeat again). */
  readonly onGroupLoaded: (group: Group) => void;
}

/** This node's leadership of one __consumer_offsets partition, as far as the groups go. */
interface Ownership {
  readonly partition: number;
  readonly leaderEpoch: number;
  /** Its groups are in memory: requests for them are served. Until then: COORDINATOR_LOAD_IN_PROGRESS. */
  loaded: boolean;
  /** Settles when the load ends (loaded, abandoned or failed); never rejects. */
  done: Promise<void>;
}

/**
 * The groups this node coordinates and their persistence (Kafka's GroupMetadataManager). A group belongs to
 * partition hash(group) of __consumer_offsets and is served by that partition's leader: when this node becomes
 * the leader it loads the partition's groups (reading the log from its start to its end), when it stops leading
 * it unloads them (waiting requests answer NOT_COORDINATOR, clients rediscover). Changes are appended to the
 * partition (acks=all) before they count.
 */
export class GroupStore {
  private readonly groups = new Map<string, Group>();
  private readonly owned = new Map<number, Ownership>();
  private readonly topic: OffsetsTopic;
  private readonly config: GroupCoordinatorConfig;
  private readonly logger: Logger;
  private readonly scheduler: Scheduler;
  private readonly groupsGauge: Gauge<string> | null;
  private partitionCount: number | null = null;
  /** Loads run one at a time (Kafka's single loader thread): bounded read I/O and memory. */
  private loadChain: Promise<void> = Promise.resolve();
  private cancelRecheck: (() => void) | null = null;
  /** Partitions whose last load failed, with the time (scheduler clock) a new one may start. */
  private readonly retryAt = new Map<number, number>();

  constructor(private readonly opts: GroupStoreOptions) {
    this.topic = opts.topic;
    this.config = opts.config;
    this.logger = opts.logger;
    this.scheduler = opts.scheduler;
    this.groupsGauge = opts.groupsGauge;
  }

  /** Some partition this node leads is still being loaded (or its replica opened). */
  get loading(): boolean {
    for (const own of this.owned.values()) if (!own.loaded) return true;
    return this.cancelRecheck !== null;
  }

  get(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  values(): Group[] {
    return [...this.groups.values()];
  }

  /** Forgets every group (node stopping, or the topic was deleted), answering waiting requests with `errorCode`. */
  async reset(errorCode: number): Promise<void> {
    this.cancelRecheck?.();
    this.cancelRecheck = null;
    this.owned.clear();
    this.retryAt.clear();
    const now = this.scheduler.nowMs();
    for (const group of this.groups.values()) {
      group.abort(errorCode);
      group.transitionTo('Dead', now);
    }
    this.groups.clear();
    this.partitionCount = null;
    this.groupsGauge?.set(0);
    // A load in flight notices it was superseded and stops at its next read.
    await this.loadChain;
  }

  /** The __consumer_offsets partition coordinating `groupId`. */
  partitionFor(groupId: string): number {
    return partitionFor(groupId, this.partitionCount ?? this.topic.existing() ?? this.config.offsetsTopicPartitions);
  }

  /** Creates __consumer_offsets if missing (rejects when it cannot be: e.g. fewer brokers than its replication factor). */
  async ensureTopic(): Promise<number> {
    const count = await this.topic.ensure(this.config.offsetsTopicPartitions, this.config.offsetsTopicReplicationFactor);
    this.partitionCount ??= count;
    return count;
  }

  /**
   * Whether requests for `groupId` are served here now: NONE, COORDINATOR_LOAD_IN_PROGRESS (this node leads its
   * partition and is loading it) or NOT_COORDINATOR. Starts or drops the partition's load as leadership says.
   * Synchronous, so a caller acts on the group in the same turn as the check.
   */
  status(groupId: string): number {
    if (this.topic.existing() === null) return ErrorCode.NOT_COORDINATOR;
    this.partitionCount ??= this.topic.existing();
    return this.reconcilePartition(this.partitionFor(groupId));
  }

  /** Whether the group's partition is loaded here (no leadership check: for updating memory after an append). */
  serving(groupId: string): boolean {
    return this.owned.get(this.partitionFor(groupId))?.loaded === true;
  }

  /** Loads every partition this node leads and unloads the others; resolves when the loads it started are done. */
  async reconcile(): Promise<void> {
    const count = this.topic.existing();
    if (count === null) {
      for (const p of [...this.owned.keys()]) this.unload(p, `${GROUP_METADATA_TOPIC} does not exist`);
      return;
    }
    this.partitionCount ??= count;
    const total = this.partitionCount;
    for (const p of [...this.owned.keys()]) if (p >= total) this.unload(p, 'beyond the partition count');
    for (let p = 0; p < total; p++) this.reconcilePartition(p);
    await Promise.all([...this.owned.values()].map((own) => own.done));
  }

  /**
   * Waits (at most `timeoutMs`) until the group's partition is loaded when this node leads it, or was elected to
   * lead it and its replica is still opening (`topic.becomingLeader`, or `elected` when the caller knows better);
   * NONE, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS (timed out).
   */
  async awaitLoaded(groupId: string, timeoutMs: number, elected: () => boolean = () => false): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const code = this.status(groupId);
      const opening = code === ErrorCode.NOT_COORDINATOR && this.topic.existing() !== null && elected();
      if ((code !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && !opening) || Date.now() >= deadline) return code;
      const own = this.owned.get(this.partitionFor(groupId));
      if (own !== undefined) await own.done;
      else await sleep(Math.min(AWAIT_LOADED_STEP_MS, Math.max(0, deadline - Date.now())));
    }
  }

  private reconcilePartition(p: number): number {
    const led = this.topic.partition(p);
    let own = this.owned.get(p);
    if (own !== undefined && (led === undefined || led.leaderEpoch !== own.leaderEpoch)) {
      this.unload(p, led === undefined ? 'no longer the leader' : `leading again in epoch ${led.leaderEpoch}`);
      own = undefined;
    }
    if (led === undefined) {
      if (this.topic.becomingLeader?.(p) !== true) return ErrorCode.NOT_COORDINATOR;
      // Elected, replica still opening: look again soon (no event says when it is open).
      this.recheckSoon();
      return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    }
    if (own === undefined) {
      const retryAt = this.retryAt.get(p);
      if (retryAt !== undefined && this.scheduler.nowMs() < retryAt) {
        this.recheckSoon();
        return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      }
      this.retryAt.delete(p);
      own = this.scheduleLoad(p, led.leaderEpoch);
    }
    return own.loaded ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  private recheckSoon(): void {
    if (this.cancelRecheck !== null) return;
    this.cancelRecheck = this.scheduler.schedule(BECOMING_LEADER_RECHECK_MS, () => {
      this.cancelRecheck = null;
      void this.reconcile();
    });
  }

  private scheduleLoad(partition: number, leaderEpoch: number): Ownership {
    const own: Ownership = { partition, leaderEpoch, loaded: false, done: Promise.resolve() };
    this.owned.set(partition, own);
    const done = this.loadChain.then(() => this.load(own));
    own.done = done;
    this.loadChain = done;
    return own;
  }

  /** This ownership is still the current one and the partition is still led in its epoch. */
  private current(own: Ownership): boolean {
    return this.owned.get(own.partition) === own && this.topic.partition(own.partition)?.leaderEpoch === own.leaderEpoch;
  }

  private async load(own: Ownership): Promise<void> {
    const p = own.partition;
    const partition = this.current(own) ? this.topic.partition(p) : undefined;
    if (partition === undefined) {
      // Unloaded (or led in another epoch) while waiting for its turn.
      this.dropOwnership(own);
      return;
    }
    const started = Date.now();
    try {
      const loaded = await loadPartition(partition, this.logger, () => this.current(own));
      if (loaded === null || !this.current(own)) {
        this.dropOwnership(own);
        this.logger.info({ partition: p, leaderEpoch: own.leaderEpoch }, `abandoned loading ${GROUP_METADATA_TOPIC}-${p}: leadership changed`);
        return;
      }
      const groups = this.install(loaded);
      own.loaded = true;
      this.groupsGauge?.set(this.groups.size);
      this.opts.loadSeconds?.observe((Date.now() - started) / 1000);
      const fields = { partition: p, leaderEpoch: own.leaderEpoch, groups, records: loaded.records, skipped: loaded.skipped, durationMs: Date.now() - started };
      if (groups > 0 || loaded.records > 0) this.logger.info(fields, `loaded ${GROUP_METADATA_TOPIC}-${p}`);
      else this.logger.debug(fields, `loaded ${GROUP_METADATA_TOPIC}-${p}`);
    } catch (err) {
      // Serving without the partition's state would hand out stale offsets: drop it; the next request retries.
      this.logger.error({ err, partition: p, leaderEpoch: own.leaderEpoch, retryInMs: LOAD_RETRY_BACKOFF_MS }, `loading ${GROUP_METADATA_TOPIC}-${p} failed`);
      if (this.owned.get(p) === own) this.retryAt.set(p, this.scheduler.nowMs() + LOAD_RETRY_BACKOFF_MS);
      this.dropOwnership(own);
    }
  }

  private dropOwnership(own: Ownership): void {
    if (this.owned.get(own.partition) === own) this.owned.delete(own.partition);
  }

  /** Puts a loaded partition's groups in memory; returns how many. */
  private install(loaded: LoadedPartition): number {
    const now = this.scheduler.nowMs();
    const installed = new Map<string, Group>();
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
      installed.set(groupId, group);
    }
    for (const [groupId, byTopic] of loaded.offsets) {
      let group = installed.get(groupId);
      for (const [topic, byPartition] of byTopic) {
        for (const [index, value] of byPartition) {
          if (value === null) continue;
          if (!group) {
            group = new Group(groupId, now);
            installed.set(groupId, group);
          }
          group.setOffset(topic, index, value);
        }
      }
    }
    for (const [groupId, group] of installed) {
      const stale = this.groups.get(groupId);
      if (stale !== undefined) {
        // Cannot happen (requests for a partition are refused until it is loaded); keep the log's version.
        this.logger.warn({ groupId }, 'group already in memory while loading its partition; replaced by the loaded state');
        stale.abort(ErrorCode.NOT_COORDINATOR);
      }
      this.groups.set(groupId, group);
      this.opts.onGroupLoaded(group);
    }
    return installed.size;
  }

  /** Stops serving a partition's groups: waiting joins/syncs answer NOT_COORDINATOR, timers stop, state goes. */
  private unload(partition: number, reason: string): void {
    const own = this.owned.get(partition);
    this.owned.delete(partition);
    const now = this.scheduler.nowMs();
    let unloaded = 0;
    for (const [groupId, group] of this.groups) {
      if (this.partitionFor(groupId) !== partition) continue;
      group.abort(ErrorCode.NOT_COORDINATOR);
      group.transitionTo('Dead', now);
      this.groups.delete(groupId);
      unloaded++;
    }
    this.groupsGauge?.set(this.groups.size);
    this.logger.info({ partition, leaderEpoch: own?.leaderEpoch ?? -1, groups: unloaded, reason }, `unloaded ${GROUP_METADATA_TOPIC}-${partition}`);
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
    // An unloaded group (leadership moved) must never write over its new coordinator's state.
    if (this.groups.get(group.groupId) !== group) return ErrorCode.NOT_COORDINATOR;
    let record: OffsetsRecord;
    try {
      record = this.groupRecord(group, assignments);
    } catch (err) {
      this.logger.error({ err, groupId: group.groupId }, 'cannot encode group metadata');
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    }
    return this.append(group.groupId, [record], false);
  }

  /** The partition to append to when this node leads it in the epoch it loaded it in, else undefined. */
  private writable(partition: number): OffsetsPartition | undefined {
    const own = this.owned.get(partition);
    if (own === undefined || !own.loaded) return undefined;
    const led = this.topic.partition(partition);
    return led !== undefined && led.leaderEpoch === own.leaderEpoch ? led : undefined;
  }

  /** Appends to the group's partition; resolves once committed (acks=all): NONE or the error code to answer. */
  async append(groupId: string, records: readonly OffsetsRecord[], forOffsets: boolean): Promise<number> {
    const partition = this.writable(this.partitionFor(groupId));
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
      const partition = this.writable(p);
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
    assert(this.serving(groupId), `group ${groupId} added while its partition is not loaded here`);
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
