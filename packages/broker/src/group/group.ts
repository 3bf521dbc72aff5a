import { assert } from '@fluxo/common';

/** Kafka's classic group states. */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export interface JoinGroupResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leaderId: string;
  readonly memberId: string;
  readonly skipAssignment: boolean;
  /** Every member's metadata for the chosen protocol: only in the leader's response. */
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null; readonly metadata: Buffer }[];
}

export interface SyncGroupResult {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

export const NO_ASSIGNMENT: Buffer = Buffer.alloc(0);

export function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leaderId: '', memberId, skipAssignment: false, members: [] };
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: NO_ASSIGNMENT };
}

export interface Protocol {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface CommittedOffset {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
  readonly expireTimestampMs: number | null;
}

export class Member {
  protocols: readonly Protocol[];
  assignment: Buffer = NO_ASSIGNMENT;
  awaitingJoin: ((r: JoinGroupResult) => void) | null = null;
  awaitingSync: ((r: SyncGroupResult) => void) | null = null;
  /** Joined during the current rebalance and not yet through a completed join. */
  isNew = false;
  cancelHeartbeat: (() => void) | null = null;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    protocols: readonly Protocol[],
  ) {
    this.protocols = protocols;
  }

  metadataFor(protocol: string): Buffer {
    const p = this.protocols.find((x) => x.name === protocol);
    assert(p !== undefined, `member ${this.memberId} does not support protocol ${protocol}`);
    return p.metadata;
  }

  /** Same protocols with the same metadata, in the same order (Kafka's MemberMetadata.matches). */
  matches(protocols: readonly Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata));
  }

  /** Kafka's vote: the first of this member's protocols among the candidates. */
  vote(candidates: ReadonlySet<string>): string {
    const p = this.protocols.find((x) => candidates.has(x.name));
    assert(p !== undefined, `member ${this.memberId} supports none of the candidate protocols`);
    return p.name;
  }
}

/** One consumer group's membership and committed offsets (Kafka's GroupMetadata). */
export class Group {
  state: GroupState = 'Empty';
  currentStateTimestampMs: number;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** group.instance.id -> member id */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out by MEMBER_ID_REQUIRED and not yet joined with, each with its expiry timer. */
  readonly pendingMembers = new Map<string, () => void>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** A member joined while the initial rebalance delay was running (extend the delay once more). */
  newMemberAdded = false;
  /** topic -> partition -> committed offset */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  cancelJoinTimer: (() => void) | null = null;
  /** The running join timer is group.initial.rebalance.delay.ms: it completes only when it fires. */
  joinIsInitialDelay = false;
  cancelSyncTimer: (() => void) | null = null;

  constructor(
    readonly groupId: string,
    nowMs: number,
  ) {
    this.currentStateTimestampMs = nowMs;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(state: GroupState, nowMs: number): void {
    assert(VALID_PREVIOUS[state].includes(this.state), `group ${this.groupId}: illegal transition ${this.state} -> ${state}`);
    this.state = state;
    this.currentStateTimestampMs = nowMs;
  }

  canRebalance(): boolean {
    return this.state === 'Stable' || this.state === 'CompletingRebalance' || this.state === 'Empty';
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  add(member: Member): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    assert(this.protocolType === member.protocolType, 'member protocol type differs from the group');
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (this.leaderId === null) this.leaderId = member.memberId;
  }

  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      member.cancelHeartbeat?.();
      member.cancelHeartbeat = null;
      if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.members.size > 0 ? this.members.keys().next().value! : null;
    this.pendingSyncMembers.delete(memberId);
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  /** A static member whose instance id now belongs to a newer member id (Kafka's isStaticMemberFenced). */
  isStaticMemberFenced(memberId: string, groupInstanceId: string | null | undefined): boolean {
    if (groupInstanceId === null || groupInstanceId === undefined) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /** Kafka's supportsProtocols: an empty group takes any non-empty type; otherwise same type and one common protocol. */
  supportsProtocols(protocolType: string, protocols: readonly Protocol[]): boolean {
    if (this.members.size === 0) return protocolType.length > 0 && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    return protocols.some((p) => this.supportCount(p.name) === this.members.size);
  }

  private supportCount(protocol: string): number {
    let n = 0;
    for (const m of this.members.values()) if (m.protocols.some((p) => p.name === protocol)) n++;
    return n;
  }

  /** The protocol every member supports that most members prefer (Kafka's selectProtocol); null if none is common. */
  selectProtocol(): string | null {
    if (this.members.size === 0) return null;
    const candidates = new Set<string>();
    for (const p of this.members.values().next().value!.protocols) if (this.supportCount(p.name) === this.members.size) candidates.add(p.name);
    if (candidates.size === 0) return null;
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.vote(candidates);
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  /** Makes a member that rejoined the leader when the old leader did not rejoin; false when nobody rejoined. */
  electJoinedLeader(): boolean {
    const leader = this.leaderId === null ? undefined : this.members.get(this.leaderId);
    if (leader?.awaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  /** Re-keys a static member under its new member id (a restarted instance rejoining). */
  replaceMemberId(member: Member, newMemberId: string): void {
    const oldMemberId = member.memberId;
    assert(this.members.get(oldMemberId) === member, 'replacing a member the group does not have');
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, newMemberId);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
  }

  awaitingJoinCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.awaitingJoin !== null) n++;
    return n;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.awaitingJoinCount() && this.pendingMembers.size === 0;
  }

  /** Largest rebalance timeout of the members: how long a rebalance waits for them to rejoin. */
  rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  hasOffsets(): boolean {
    return this.offsets.size > 0;
  }

  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  setOffset(topic: string, partition: number, offset: CommittedOffset): void {
    let byPartition = this.offsets.get(topic);
    if (!byPartition) {
      byPartition = new Map();
      this.offsets.set(topic, byPartition);
    }
    byPartition.set(partition, offset);
  }

  removeOffset(topic: string, partition: number): boolean {
    const byPartition = this.offsets.get(topic);
    if (!byPartition) return false;
    const removed = byPartition.delete(partition);
    if (byPartition.size === 0) this.offsets.delete(topic);
    return removed;
  }

  leaderOrEmpty(): string {
    return this.leaderId ?? '';
  }

  /** Cancels every timer of the group and answers its waiting requests with `errorCode` (unload, deletion). */
  abort(errorCode: number): void {
    this.cancelJoinTimer?.();
    this.cancelJoinTimer = null;
    this.cancelSyncTimer?.();
    this.cancelSyncTimer = null;
    for (const cancel of this.pendingMembers.values()) cancel();
    this.pendingMembers.clear();
    for (const m of this.members.values()) {
      m.cancelHeartbeat?.();
      m.cancelHeartbeat = null;
      const join = m.awaitingJoin;
      m.awaitingJoin = null;
      join?.(joinError(m.memberId, errorCode));
      const sync = m.awaitingSync;
      m.awaitingSync = null;
      sync?.(syncError(errorCode));
    }
  }
}
