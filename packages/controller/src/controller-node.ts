import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import {
  AssertionError,
  EMPTY_IMAGE,
  ErrorCode,
  FluxoError,
  KafkaProtocolError,
  TOPIC_CONFIG,
  applyBatch,
  assignReplicas,
  imageFromJson,
  imageToJson,
  randomUuid,
  validateTopicName,
  type BrokerEndpoint,
  type Logger,
  type MetadataImage,
  type MetadataImageJson,
  type MetadataRecord,
  type PartitionOutcome,
  type Registry,
} from '@fluxo/common';
import { ProposalDroppedError, RaftNode, type Entry, type Message, type NodeId, type Ready, type SoftState } from '@fluxo/raft';
import { controllerMetrics, setClusterGauges, type ControllerMetrics } from './controller-metrics.js';
import { validateAlterPartition } from './metadata/alter-partition.js';
import { PartitionControl } from './partition-control.js';
import { fenceBrokerRecords, unfenceBrokerRecords } from './metadata/leadership.js';
import { decodeRecords, encodeRecords } from './metadata/record-codec.js';
import { MetadataWatchers, type WatchSink } from './metadata-watchers.js';
import { PendingProposals, type Committed } from './proposals.js';
import { voterTarget, type ControllerConfig } from './quorum-config.js';
import { LevelRaftStorage } from './storage/level-raft-storage.js';
import { RaftTransport } from './transport/raft-transport.js';

export interface QuorumDescription {
  readonly nodeId: NodeId;
  readonly leaderId: NodeId | null;
  readonly term: number;
  readonly role: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly NodeId[];
  /** Leader only. */
  readonly voterStates: readonly { nodeId: NodeId; matchIndex: number; lagEntries: number; lastContactMsAgo: number }[];
}

export interface CreateTopicArgs {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface RegisterBrokerArgs {
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly rack: string | null;
  readonly endpoints: readonly BrokerEndpoint[];
}

/** Bounds the work (placement, record size) one CreateTopic can ask for. */
const MAX_REPLICAS_PER_TOPIC_CREATION = 100_000;

/** NOT_CONTROLLER carrying the leader this node knows of. */
export class NotControllerError extends KafkaProtocolError {
  override readonly name: string = 'NotControllerError';
  constructor(
    readonly leaderId: NodeId | null,
    message = leaderId === null ? 'this node is not the active controller; no leader known' : `the active controller is node ${leaderId}`,
  ) {
    super(ErrorCode.NOT_CONTROLLER, message);
  }
}

/**
 * One controller of the metadata quorum: drives a RaftNode with a tick timer and the strict host loop
 * (persist Ready durably -> send -> apply -> advance), applies the metadata log to the image, answers
 * proposals once they commit, keeps broker leases (active controller only) and snapshots every N entries.
 */
export class ControllerNode {
  private raft!: RaftNode;
  private storage!: LevelRaftStorage;
  private transport!: RaftTransport;
  private image: MetadataImage = EMPTY_IMAGE;
  private readonly metrics: ControllerMetrics;
  private readonly pending: PendingProposals;
  private watchers!: MetadataWatchers;
  private tickTimer: NodeJS.Timeout | null = null;
  private looping = false;
  private stopped = false;
  private leaderId: NodeId | null = null;
  private isLeader = false;
  /**
   * Leader that has applied the log up to its first entry of the term (its noop): only then is its image
   * current, so only then does it serve requests and judge leases (like KRaft's active controller).
   */
  private active = false;
  private activeFromIndex = 0;
  /** Leader: highest index each voter acknowledged, and when we last heard from it. */
  private readonly matchIndex = new Map<NodeId, number>();
  private readonly lastContactMs = new Map<NodeId, number>();
  /** Active controller only: last heartbeat per broker (leases are not in the log, like KRaft). */
  private readonly leases = new Map<number, number>();
  private readonly fencing = new Set<number>();
  private readonly unfencing = new Set<number>();
  private lastWarnMs = new Map<string, number>();
  private readonly partitions: PartitionControl;
  private clusterGaugesIndex = -2;

  constructor(
    readonly config: ControllerConfig,
    private readonly logger: Logger,
    private readonly registry: Registry,
    private readonly onFatal: (err: Error) => void,
  ) {
    this.metrics = controllerMetrics(registry);
    this.pending = new PendingProposals(config.proposalTimeoutMs, config.maxPendingProposals);
    this.partitions = new PartitionControl({ image: () => this.image, propose: (records) => this.propose(records), logger, config });
  }

  get nodeId(): NodeId {
    return this.config.nodeId;
  }

  async start(): Promise<void> {
    const c = this.config;
    this.storage = await LevelRaftStorage.open(join(c.dataDir, 'raft'), this.logger);
    const snap = this.storage.snapshot();
    if (snap.index > 0) this.image = imageFromJson(JSON.parse(Buffer.from(snap.data).toString('utf8')) as MetadataImageJson);
    this.watchers = new MetadataWatchers(c.maxWatchers, c.watchRetainBatches, snap.index);
    this.raft = new RaftNode({
      id: c.nodeId,
      storage: this.storage,
      random: { int: (max: number) => randomInt(max) },
      voters: [...c.voters.keys()],
      electionTicks: c.electionTicks,
      heartbeatTicks: c.heartbeatTicks,
      maxSizePerMsgBytes: c.maxAppendBytes,
      maxInflightMsgs: Math.max(1, Math.min(256, Math.floor(c.maxQueuedMessagesPerPeer / 2))),
    });
    this.transport = new RaftTransport({
      selfId: c.nodeId,
      peers: new Map([...c.voters].map(([id, v]) => [id, voterTarget(v)])),
      limits: { maxQueuedMessagesPerPeer: c.maxQueuedMessagesPerPeer, maxMessageBytes: c.maxMessageBytes, requestTimeoutMs: c.electionTicks * c.tickMs },
      logger: this.logger,
      registry: this.registry,
    });
    this.tickTimer = setInterval(() => this.onTick(), c.tickMs);
    this.kick();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.pending.failAll(new KafkaProtocolError(ErrorCode.NOT_CONTROLLER, 'controller is shutting down'));
    this.watchers?.closeAll();
    this.transport?.close();
    while (this.looping) await new Promise((r) => setTimeout(r, 5));
    await this.storage?.close();
  }

  // ---- inputs -------------------------------------------------------------------------------------------

  /** Validated raft messages from peer `from` (the transport checked shape, sender and addressee). */
  stepMessages(from: NodeId, messages: readonly Message[]): void {
    if (this.stopped) return;
    const now = Date.now();
    this.lastContactMs.set(from, now);
    const term = this.isLeader ? this.raft.status().term : -1;
    for (const m of messages) {
      // Host-side view of follower progress for DescribeQuorum/lag metrics (raft's own progress is private).
      if (m.type === 'appendResp' && !m.reject && m.term === term) this.matchIndex.set(from, Math.max(this.matchIndex.get(from) ?? 0, m.index));
      this.guard(() => this.raft.step(m));
    }
    this.kick();
  }

  private onTick(): void {
    if (this.stopped) return;
    this.guard(() => this.raft.tick());
    if (this.active) {
      this.checkLeases();
      this.partitions.maybeCompleteReassignments();
      this.partitions.maybeRebalanceLeaders();
    }
    this.updateMetrics();
    this.kick();
  }

  /**
   * Input reaching raft was validated at the edge, so raft throwing (an invariant assertion, a storage
   * range error) means a bug or corrupted state: stop rather than act on it; a restart recovers from disk.
   */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fatal(err instanceof Error ? err : new AssertionError(String(err)));
    }
  }

  private fatal(err: Error): void {
    if (this.stopped) return;
    this.logger.fatal({ err }, 'controller stopping: raft host loop failed');
    void this.stop().finally(() => this.onFatal(err));
  }

  // ---- host loop ----------------------------------------------------------------------------------------

  private kick(): void {
    if (this.looping || this.stopped) return;
    this.looping = true;
    void this.loop().finally(() => {
      this.looping = false;
    });
  }

  private async loop(): Promise<void> {
    try {
      for (let rd = this.raft.readyIfAny(); rd !== null && !this.stopped; rd = this.raft.readyIfAny()) {
        await this.storage.persist(rd); // 1. durable (one synced LevelDB batch)
        if (this.stopped) return;
        this.transport.send(rd.messages); // 2.
        this.applyReady(rd); // 3.
        this.raft.advance(rd); // 4.
        this.maybeActivate();
        await this.maybeSnapshot();
      }
    } catch (err) {
      this.fatal(err as Error);
    }
  }

  private applyReady(rd: Ready): void {
    if (rd.snapshot !== undefined) {
      this.image = imageFromJson(JSON.parse(Buffer.from(rd.snapshot.data).toString('utf8')) as MetadataImageJson);
      this.pending.snapshotApplied(rd.snapshot.index);
      this.watchers.reset(this.image, rd.snapshot.index);
      this.logger.info({ index: rd.snapshot.index, term: rd.snapshot.term }, 'metadata snapshot installed from the leader');
    }
    for (const e of rd.committedEntries) this.applyEntry(e);
    if (rd.softState !== undefined) this.onSoftState(rd.softState);
  }

  private applyEntry(e: Entry): void {
    if (e.type === 'confChange' || e.data.byteLength === 0) {
      this.pending.applied(e.index, e.term, this.image, null);
      // An empty batch still tells brokers how far the log is applied (they wait for an index to catch up).
      this.watchers.applied(e.index, []);
      return;
    }
    let records: MetadataRecord[];
    try {
      records = decodeRecords(e.data);
    } catch (err) {
      // Same bytes on every node: all skip it, so the state machines stay identical.
      this.logger.error({ err, index: e.index, term: e.term }, 'skipping undecodable metadata log entry');
      this.pending.applied(e.index, e.term, this.image, err as FluxoError);
      this.watchers.applied(e.index, []);
      return;
    }
    const previous = this.image;
    try {
      this.image = applyBatch(this.image, e.index, records);
    } catch (err) {
      if (!(err instanceof KafkaProtocolError)) throw err;
      this.logger.debug({ index: e.index, code: err.code, msg: err.message }, 'metadata batch conflicts with the state; skipped');
      this.pending.applied(e.index, e.term, this.image, err);
      this.watchers.applied(e.index, []);
      return;
    }
    this.pending.applied(e.index, e.term, this.image, null);
    this.watchers.applied(e.index, records);
    if (this.active) this.countLeaderChanges(previous, records);
  }

  /** Kafka's leader election rate: partition leader changes this (active) controller applied. */
  private countLeaderChanges(previous: MetadataImage, records: readonly MetadataRecord[]): void {
    for (const r of records) {
      if (r.type !== 'PartitionChanged' && r.type !== 'PartitionReassigned') continue;
      const before = previous.topicsById.get(r.topicId)?.partitions[r.partition]?.leader;
      if (before === undefined || before === r.leader) continue;
      this.metrics.leaderElections.inc({ cause: r.leader === -1 ? 'offline' : 'election' });
    }
  }

  private onSoftState(s: SoftState): void {
    const wasLeader = this.isLeader;
    if (s.role === 'candidate') this.logger.info({ term: this.raft.status().term }, 'election started');
    else if (s.role === 'preCandidate') this.logger.debug({ term: this.raft.status().term }, 'pre-vote started');
    this.isLeader = s.role === 'leader';
    if (s.leaderId !== this.leaderId) {
      this.metrics.leaderChanges.inc();
      this.logger.info({ leaderId: s.leaderId, previousLeaderId: this.leaderId, term: this.raft.status().term, raftRole: s.role }, 'raft leader changed');
      this.leaderId = s.leaderId;
    }
    if (this.isLeader && !wasLeader) {
      this.matchIndex.clear();
      this.activeFromIndex = this.raft.status().lastIndex; // includes the noop entry of the new term
      this.logger.info({ term: this.raft.status().term, activeFromIndex: this.activeFromIndex }, 'elected raft leader; applying the log before serving');
    } else if (!this.isLeader && wasLeader) {
      this.active = false;
      this.metrics.followerLagEntries.reset();
      this.pending.failAll(new NotControllerError(s.leaderId));
      this.logger.info({ term: this.raft.status().term, leaderId: s.leaderId }, 'no longer active controller');
    }
    this.updateMetrics();
  }

  private maybeActivate(): void {
    if (!this.isLeader || this.active || this.raft.status().applied < this.activeFromIndex) return;
    this.active = true;
    // A new active controller gives every broker a fresh lease: it has not seen their heartbeats yet.
    const now = Date.now();
    this.leases.clear();
    for (const id of this.image.brokers.keys()) this.leases.set(id, now);
    this.fencing.clear();
    this.unfencing.clear();
    this.logger.info({ term: this.raft.status().term, appliedIndex: this.raft.status().applied }, 'became active controller');
    this.updateMetrics();
  }

  private async maybeSnapshot(): Promise<void> {
    const applied = this.raft.status().applied;
    const snap = this.storage.snapshot();
    if (applied - snap.index < this.config.snapshotIntervalEntries) return;
    const data = Buffer.from(JSON.stringify(imageToJson(this.image)));
    await this.storage.createSnapshot(applied, this.raft.appliedConfState(), data, this.config.snapshotRetainEntries);
    this.metrics.snapshots.inc();
    this.logger.info({ index: applied, sizeBytes: data.length, firstIndex: this.storage.firstIndex() }, 'metadata snapshot taken, log compacted');
  }

  private updateMetrics(): void {
    const s = this.raft.status();
    this.metrics.term.set(s.term);
    this.metrics.commitIndex.set(s.commit);
    this.metrics.appliedIndex.set(s.applied);
    this.metrics.leaderId.set(s.leaderId ?? -1);
    this.metrics.isActive.set(this.active ? 1 : 0);
    if (this.isLeader) for (const v of s.voters) if (v !== this.nodeId) this.metrics.followerLagEntries.set({ voter: String(v) }, s.lastIndex - (this.matchIndex.get(v) ?? 0));
    this.clusterGaugesIndex = setClusterGauges(this.metrics, this.active ? this.image : null, this.clusterGaugesIndex);
  }

  // ---- proposals ----------------------------------------------------------------------------------------

  private requireLeader(): void {
    if (this.stopped || !this.isLeader) throw new NotControllerError(this.stopped ? null : this.leaderId);
    if (!this.active) throw new NotControllerError(this.nodeId, `node ${this.nodeId} leads but is still applying the metadata log; retry`);
  }

  /** Proposes one batch; resolves once applied with no conflict. */
  private async propose(records: readonly MetadataRecord[]): Promise<Committed> {
    this.requireLeader();
    this.pending.checkCapacity();
    const data = encodeRecords(records);
    if (data.byteLength > this.config.maxAppendBytes) throw new KafkaProtocolError(ErrorCode.MESSAGE_TOO_LARGE, `metadata batch of ${data.byteLength} bytes`);
    let position;
    try {
      position = this.raft.propose(data);
    } catch (err) {
      if (err instanceof ProposalDroppedError) {
        if (err.reason === 'notLeader' || err.reason === 'leaderTransferInProgress') throw new NotControllerError(err.leaderId);
        throw new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, err.message);
      }
      throw err;
    }
    const committed = this.pending.add(position.index, position.term);
    this.kick();
    return committed;
  }

  async createTopic(args: CreateTopicArgs): Promise<{ topicId: string; index: number }> {
    this.requireLeader();
    validateTopicName(args.name);
    for (const [key, value] of Object.entries(args.configs)) TOPIC_CONFIG.parseValue(key, value); // INVALID_CONFIG naming the key
    if (this.image.topics.has(args.name)) throw new KafkaProtocolError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${args.name}' already exists.`);
    const numPartitions = args.numPartitions === -1 ? 1 : args.numPartitions;
    const replicationFactor = args.replicationFactor === -1 ? 1 : args.replicationFactor;
    if (numPartitions * replicationFactor > MAX_REPLICAS_PER_TOPIC_CREATION) {
      throw new KafkaProtocolError(ErrorCode.INVALID_PARTITIONS, `${numPartitions} partitions x ${replicationFactor} replicas exceeds ${MAX_REPLICAS_PER_TOPIC_CREATION} replicas per request`);
    }
    const brokers = [...this.image.brokers.values()].filter((b) => !b.fenced).map((b) => ({ id: b.nodeId, rack: b.rack }));
    if (replicationFactor > brokers.length) {
      throw new KafkaProtocolError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${brokers.length} broker(s) are registered.`,
      );
    }
    const partitions = assignReplicas(brokers, numPartitions, replicationFactor);
    const topicId = randomUuid();
    const committed = await this.propose([{ type: 'TopicCreated', name: args.name, topicId, partitionCount: numPartitions, configs: { ...args.configs }, partitions }]);
    return { topicId, index: committed.index };
  }

  /**
   * A broker's forwarded metadata change. Topic admin records are checked again when applied (a conflict
   * fails the batch on every node alike); broker records are the controller's own. A PartitionChanged from a
   * broker is Kafka's AlterPartition: only the partition's current leader, unfenced and at its current broker
   * epoch, may change the ISR (not the leader), and only to unfenced replicas (KIP-841).
   */
  async commitRecords(brokerId: number, brokerEpoch: number, records: readonly MetadataRecord[]): Promise<{ index: number }> {
    this.requireLeader();
    for (const r of records) {
      switch (r.type) {
        case 'BrokerRegistered':
        case 'BrokerFenced':
        case 'BrokerUnfenced':
        case 'PartitionReassigned':
          throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `${r.type} records are written by the controller only`);
        case 'PartitionChanged':
          validateAlterPartition(this.image, brokerId, brokerEpoch, r);
          break;
        case 'ProducerIdsAllocated':
          // A broker takes blocks for itself only.
          if (r.brokerId !== brokerId) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `broker ${brokerId} cannot take producer ids for broker ${r.brokerId}`);
          break;
        default:
          break;
      }
    }
    const committed = await this.propose(records);
    return { index: committed.index };
  }

  /** Kafka's ElectLeaders (see PartitionControl). */
  electLeaders(electionType: number, partitions: readonly { topic: string; partition: number }[] | null): Promise<PartitionOutcome[]> {
    this.requireLeader();
    return this.partitions.electLeaders(electionType, partitions);
  }

  /** Kafka's AlterPartitionReassignments (see PartitionControl). */
  alterReassignments(targets: readonly { topic: string; partition: number; replicas: readonly number[] | null }[]): Promise<PartitionOutcome[]> {
    this.requireLeader();
    return this.partitions.alterReassignments(targets);
  }

  async registerBroker(args: RegisterBrokerArgs): Promise<{ brokerEpoch: number }> {
    this.requireLeader();
    if (!Number.isInteger(args.brokerId) || args.brokerId < 0) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `bad broker id ${args.brokerId}`);
    const first = args.endpoints[0];
    if (first === undefined) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'a broker registration needs at least one endpoint');
    const existing = this.image.brokers.get(args.brokerId);
    const leaseMs = this.leases.get(args.brokerId);
    if (
      existing !== undefined &&
      existing.incarnationId !== args.incarnationId &&
      !existing.fenced &&
      leaseMs !== undefined &&
      Date.now() - leaseMs < this.config.brokerSessionTimeoutMs
    ) {
      throw new KafkaProtocolError(ErrorCode.DUPLICATE_BROKER_REGISTRATION, `Another broker is registered with id ${args.brokerId} and its lease has not expired.`);
    }
    const records: MetadataRecord[] = [];
    // Re-registration replaces the old incarnation: fence it first so its partitions move (new epoch, starts fenced).
    if (existing !== undefined && !existing.fenced) records.push(...fenceBrokerRecords(this.image, args.brokerId));
    records.push({
      type: 'BrokerRegistered',
      nodeId: args.brokerId,
      host: first.host,
      port: first.port,
      rack: args.rack,
      incarnationId: args.incarnationId,
      endpoints: args.endpoints,
    });
    const committed = await this.propose(records);
    this.leases.set(args.brokerId, Date.now());
    this.logger.info({ brokerId: args.brokerId, brokerEpoch: committed.index, rack: args.rack }, 'broker registered');
    return { brokerEpoch: committed.index };
  }

  async brokerHeartbeat(brokerId: number, brokerEpoch: number, wantFence: boolean): Promise<{ isFenced: boolean }> {
    this.requireLeader();
    const broker = this.image.brokers.get(brokerId);
    if (broker === undefined) throw new KafkaProtocolError(ErrorCode.BROKER_ID_NOT_REGISTERED, `broker ${brokerId} is not registered`);
    if (broker.brokerEpoch !== brokerEpoch) throw new KafkaProtocolError(ErrorCode.STALE_BROKER_EPOCH, `broker ${brokerId} epoch is ${broker.brokerEpoch}, not ${brokerEpoch}`);
    this.leases.set(brokerId, Date.now());
    if (broker.fenced && !wantFence && !this.unfencing.has(brokerId)) {
      this.unfencing.add(brokerId);
      try {
        await this.propose(unfenceBrokerRecords(this.image, brokerId));
        this.logger.info({ brokerId, brokerEpoch }, 'broker unfenced');
      } finally {
        this.unfencing.delete(brokerId);
      }
    } else if (!broker.fenced && wantFence) {
      await this.fence(brokerId, 'broker asked to be fenced');
    }
    return { isFenced: this.image.brokers.get(brokerId)?.fenced ?? true };
  }

  private checkLeases(): void {
    // One fencing proposal at a time: each is computed from the image, which the previous one changes.
    if (this.fencing.size > 0) return;
    const now = Date.now();
    for (const b of this.image.brokers.values()) {
      if (b.fenced) continue;
      const last = this.leases.get(b.nodeId);
      if (last === undefined) this.leases.set(b.nodeId, now);
      else if (now - last > this.config.brokerSessionTimeoutMs) {
        void this.fence(b.nodeId, `no heartbeat for ${now - last} ms`).catch((err: unknown) =>
          this.logger.warn({ err, brokerId: b.nodeId }, 'fencing proposal failed; retried on a later tick'),
        );
        return;
      }
    }
  }

  private async fence(brokerId: number, reason: string): Promise<void> {
    const records = fenceBrokerRecords(this.image, brokerId);
    if (records.length === 0) return;
    this.fencing.add(brokerId);
    try {
      const moved = records.filter((r) => r.type === 'PartitionChanged').length;
      this.logger.warn({ brokerId, reason, partitionChanges: moved }, 'fencing broker');
      await this.propose(records);
      this.metrics.fencedBrokers.inc();
    } finally {
      this.fencing.delete(brokerId);
    }
  }

  // ---- queries ------------------------------------------------------------------------------------------

  describeQuorum(): QuorumDescription {
    const s = this.raft.status();
    const now = Date.now();
    return {
      nodeId: this.nodeId,
      leaderId: s.leaderId,
      term: s.term,
      role: s.role,
      commitIndex: s.commit,
      appliedIndex: s.applied,
      lastIndex: s.lastIndex,
      voters: s.voters,
      voterStates: this.isLeader
        ? s.voters.map((v) => {
            const match = v === this.nodeId ? s.lastIndex : (this.matchIndex.get(v) ?? 0);
            const contact = this.lastContactMs.get(v);
            return { nodeId: v, matchIndex: match, lagEntries: s.lastIndex - match, lastContactMsAgo: v === this.nodeId ? 0 : contact === undefined ? -1 : now - contact };
          })
        : [],
    };
  }

  metadataImage(): MetadataImage {
    return this.image;
  }

  watch(sink: WatchSink, afterIndex: number): () => void {
    if (this.stopped) throw new NotControllerError(null);
    // Between Readies (never inside one), so raft's applied index is exactly what the image reflects.
    return this.watchers.add(sink, afterIndex, this.image, this.raft.status().applied);
  }

  /** Rate-limited warning for bad input (one line per reason per second). */
  warnThrottled(reason: string, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - (this.lastWarnMs.get(reason) ?? 0) < 1000) return;
    this.lastWarnMs.set(reason, now);
    this.logger.warn({ reason, ...fields }, msg);
  }

  countRejectedBatch(reason: string): void {
    this.metrics.rejectedRaftBatches.inc({ reason });
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters.has(id);
  }
}

