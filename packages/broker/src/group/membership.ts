import { randomUUID } from 'node:crypto';
import { ErrorCode, assert, type Counter, type Logger } from '@fluxo/common';
import type { JoinGroupParams, MemberIdentity, SyncGroupParams } from './coordinator-api.js';
import { MAX_MEMBER_METADATA_BYTES, NEW_MEMBER_JOIN_TIMEOUT_MS, type GroupCoordinatorConfig } from './group-config.js';
import { Group, Member, NO_ASSIGNMENT, joinError, syncError, type JoinGroupResult, type Protocol, type SyncGroupResult } from './group.js';
import type { GroupStore } from './group-store.js';
import type { Scheduler } from './scheduler.js';

function protocolMetadataBytes(protocols: readonly Protocol[]): number {
  let n = 0;
  for (const p of protocols) n += p.metadata.length + Buffer.byteLength(p.name);
  return n;
}

/**
 * Kafka's classic rebalance protocol (GroupCoordinator.scala): JoinGroup (MEMBER_ID_REQUIRED, static members,
 * initial rebalance delay, join completion when every known member rejoined or the rebalance timeout
 * passed), SyncGroup (the leader's assignment is stored, then handed out), Heartbeat (session expiry removes
 * members) and LeaveGroup. State changes are synchronous; after an awaited append every continuation
 * re-checks the group's generation and state.
 */
export class GroupMembership {
  constructor(
    private readonly store: GroupStore,
    private readonly config: GroupCoordinatorConfig,
    private readonly scheduler: Scheduler,
    private readonly logger: Logger,
    private readonly rebalances: Counter<string> | null,
  ) {}

  /** Kafka's onGroupLoaded: members of a loaded group must heartbeat within their session timeout. */
  onGroupLoaded(group: Group): void {
    for (const m of group.members.values()) this.scheduleHeartbeatExpiry(group, m, m.sessionTimeoutMs);
  }

  async joinGroup(p: JoinGroupParams): Promise<JoinGroupResult> {
    if (p.sessionTimeoutMs < this.config.minSessionTimeoutMs || p.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    if (protocolMetadataBytes(p.protocols) > MAX_MEMBER_METADATA_BYTES) {
      this.logger.warn({ groupId: p.groupId, clientId: p.clientId, sizeBytes: protocolMetadataBytes(p.protocols), maxBytes: MAX_MEMBER_METADATA_BYTES }, 'JoinGroup member metadata too large; refused');
      return joinError(p.memberId, ErrorCode.INVALID_REQUEST);
    }
    const isUnknown = p.memberId === '';
    let group = this.store.get(p.groupId);
    if (!group) {
      if (!isUnknown) return joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      group = this.store.addGroup(p.groupId);
    }
    if (!this.acceptJoiningMember(group, p.memberId)) {
      this.store.dropIfUnused(group);
      return joinError(isUnknown ? '' : p.memberId, ErrorCode.GROUP_MAX_SIZE_REACHED);
    }
    const result = isUnknown ? this.doUnknownJoin(group, p) : this.doCurrentMemberJoin(group, p);
    // A member joining may be the last one the rebalance waited for.
    if (group.is('PreparingRebalance')) this.maybeCompleteJoin(group);
    const answered = await result;
    if (answered.errorCode !== ErrorCode.NONE) this.store.dropIfUnused(group);
    return answered;
  }

  private acceptJoiningMember(group: Group, memberId: string): boolean {
    const max = this.config.maxGroupSize;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (group.members.get(memberId)?.awaitingJoin ?? null) !== null || group.awaitingJoinCount() < max;
      default:
        return group.has(memberId) || group.members.size < max;
    }
  }

  private doUnknownJoin(group: Group, p: JoinGroupParams): JoinGroupResult | Promise<JoinGroupResult> {
    if (group.is('Dead')) return joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!group.supportsProtocols(p.protocolType, p.protocols)) return joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const newMemberId = `${p.clientId}-${randomUUID()}`;
    if (p.groupInstanceId !== null) {
      const oldMemberId = group.staticMemberId(p.groupInstanceId);
      if (oldMemberId !== undefined) return this.updateStaticMember(group, group.members.get(oldMemberId)!, newMemberId, p);
      return this.addMemberAndRebalance(group, newMemberId, p);
    }
    if (p.requireKnownMemberId) {
      // KIP-394: hand out the id first so a client that times out does not leave a defunct member behind.
      // Bounded like members: a client looping on MEMBER_ID_REQUIRED cannot grow the group without limit.
      if (group.pendingMembers.size >= this.config.maxGroupSize) return joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED);
      const cancel = this.scheduler.schedule(p.sessionTimeoutMs, () => {
        if (group.pendingMembers.delete(newMemberId)) {
          this.logger.info({ groupId: group.groupId, memberId: newMemberId }, 'pending member expired');
          if (group.is('PreparingRebalance')) this.maybeCompleteJoin(group);
          this.store.dropIfUnused(group);
        }
      });
      group.pendingMembers.set(newMemberId, cancel);
      return joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED);
    }
    return this.addMemberAndRebalance(group, newMemberId, p);
  }

  private doCurrentMemberJoin(group: Group, p: JoinGroupParams): JoinGroupResult | Promise<JoinGroupResult> {
    const memberId = p.memberId;
    if (group.is('Dead')) return joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!group.supportsProtocols(p.protocolType, p.protocols)) return joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (group.pendingMembers.has(memberId)) {
      if (p.groupInstanceId !== null) return joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      return this.addMemberAndRebalance(group, memberId, p);
    }
    if (group.isStaticMemberFenced(memberId, p.groupInstanceId)) return joinError(memberId, ErrorCode.FENCED_INSTANCE_ID);
    const member = group.members.get(memberId);
    if (!member) return joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, p, `member ${memberId} rejoined`);
      case 'CompletingRebalance':
        // A retried JoinGroup of this generation: answer it again.
        if (member.matches(p.protocols)) return this.currentJoinResult(group, member);
        return this.updateMemberAndRebalance(group, member, p, `member ${memberId} changed its protocols`);
      case 'Stable':
        if (group.isLeader(memberId) || !member.matches(p.protocols)) return this.updateMemberAndRebalance(group, member, p, `leader or changed member ${memberId} rejoined`);
        return { ...this.currentJoinResult(group, member), members: [] };
      default:
        return joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private currentJoinResult(group: Group, member: Member): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderOrEmpty(),
      memberId: member.memberId,
      skipAssignment: false,
      members: group.isLeader(member.memberId) ? this.memberMetadata(group) : [],
    };
  }

  private memberMetadata(group: Group): JoinGroupResult['members'] {
    const protocol = group.protocolName;
    assert(protocol !== null, 'member metadata of a group without a protocol');
    return [...group.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(protocol) }));
  }

  private awaitJoin(member: Member): Promise<JoinGroupResult> {
    // An earlier JoinGroup of this member still waiting (its client gave up and retried): answer it now.
    const previous = member.awaitingJoin;
    member.awaitingJoin = null;
    previous?.(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    return new Promise((resolve) => {
      member.awaitingJoin = resolve;
    });
  }

  private addMemberAndRebalance(group: Group, memberId: string, p: JoinGroupParams): Promise<JoinGroupResult> {
    const member = new Member(memberId, p.groupInstanceId, p.clientId, p.clientHost, p.rebalanceTimeoutMs, p.sessionTimeoutMs, p.protocolType, p.protocols);
    member.isNew = true;
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    const cancelPending = group.pendingMembers.get(memberId);
    if (cancelPending) {
      cancelPending();
      group.pendingMembers.delete(memberId);
    }
    group.add(member);
    const result = this.awaitJoin(member);
    // New members cannot heartbeat yet; a JoinGroup that waits too long drops them (the client retries).
    this.scheduleHeartbeatExpiry(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalance(group, `adding new member ${memberId}`);
    return result;
  }

  private updateMemberAndRebalance(group: Group, member: Member, p: JoinGroupParams, reason: string): Promise<JoinGroupResult> {
    member.protocols = p.protocols;
    member.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    member.sessionTimeoutMs = p.sessionTimeoutMs;
    member.clientId = p.clientId;
    member.clientHost = p.clientHost;
    const result = this.awaitJoin(member);
    this.maybePrepareRebalance(group, reason);
    return result;
  }

  private async updateStaticMember(group: Group, member: Member, newMemberId: string, p: JoinGroupParams): Promise<JoinGroupResult> {
    const oldMemberId = member.memberId;
    const currentLeader = group.leaderOrEmpty();
    // The old incarnation of this instance is fenced.
    const oldJoin = member.awaitingJoin;
    member.awaitingJoin = null;
    oldJoin?.(joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    const oldSync = member.awaitingSync;
    member.awaitingSync = null;
    oldSync?.(syncError(ErrorCode.FENCED_INSTANCE_ID));
    group.replaceMemberId(member, newMemberId);
    this.scheduleHeartbeatExpiry(group, member, member.sessionTimeoutMs);
    const old = { protocols: member.protocols, rebalanceTimeoutMs: member.rebalanceTimeoutMs, sessionTimeoutMs: member.sessionTimeoutMs };
    member.protocols = p.protocols;
    member.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    member.sessionTimeoutMs = p.sessionTimeoutMs;
    const result = this.awaitJoin(member);
    this.logger.info({ groupId: group.groupId, groupInstanceId: p.groupInstanceId, oldMemberId, memberId: newMemberId, state: group.state }, 'static member rejoined');
    switch (group.state) {
      case 'Stable': {
        if (group.selectProtocol() !== group.protocolName) {
          this.maybePrepareRebalance(group, `static member ${newMemberId} changed the group protocol`);
          break;
        }
        // Same protocol: keep the generation and the assignment (no rebalance), persist the new member id.
        const generation = group.generationId;
        const assignments = new Map([...group.members.values()].map((m) => [m.memberId, m.assignment] as const));
        const code = await this.store.storeGroup(group, assignments);
        // (awaitJoin set it through a closure; TypeScript still sees the earlier null.)
        const answer = member.awaitingJoin as ((r: JoinGroupResult) => void) | null;
        if (answer === null) break;
        member.awaitingJoin = null;
        if (code !== ErrorCode.NONE) {
          if (group.members.get(newMemberId) === member) {
            group.replaceMemberId(member, oldMemberId);
            member.protocols = old.protocols;
            member.rebalanceTimeoutMs = old.rebalanceTimeoutMs;
            member.sessionTimeoutMs = old.sessionTimeoutMs;
          }
          answer(joinError('', code));
        } else {
          // The old leader id is returned so a returning static leader does not assign (its SyncGroup would
          // not be broadcast by a stable group).
          answer({
            errorCode: ErrorCode.NONE,
            generationId: generation,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            leaderId: currentLeader,
            memberId: newMemberId,
            skipAssignment: false,
            members: [],
          });
        }
        break;
      }
      case 'CompletingRebalance':
        this.prepareRebalance(group, `static member ${newMemberId} rejoined while completing a rebalance`);
        break;
      default:
        break;
    }
    return result;
  }

  private maybePrepareRebalance(group: Group, reason: string): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: Group, reason: string): void {
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    group.cancelSyncTimer?.();
    group.cancelSyncTimer = null;
    group.pendingSyncMembers.clear();
    const wasEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance', this.scheduler.nowMs());
    this.rebalances?.inc();
    this.logger.info({ groupId: group.groupId, generationId: group.generationId, members: group.members.size, reason }, 'preparing to rebalance group');
    if (wasEmpty) {
      // group.initial.rebalance.delay.ms: let more of a starting fleet join before the first generation.
      const delay = this.config.initialRebalanceDelayMs;
      this.scheduleInitialJoin(group, delay, Math.max(group.rebalanceTimeoutMs() - delay, 0));
    } else {
      this.scheduleJoin(group, group.rebalanceTimeoutMs());
      this.maybeCompleteJoin(group);
    }
  }

  private scheduleJoin(group: Group, timeoutMs: number): void {
    group.cancelJoinTimer?.();
    group.joinIsInitialDelay = false;
    group.cancelJoinTimer = this.scheduler.schedule(timeoutMs, () => {
      group.cancelJoinTimer = null;
      this.completeJoin(group);
    });
  }

  private scheduleInitialJoin(group: Group, delayMs: number, remainingMs: number): void {
    group.cancelJoinTimer?.();
    group.joinIsInitialDelay = true;
    group.cancelJoinTimer = this.scheduler.schedule(delayMs, () => {
      group.cancelJoinTimer = null;
      if (group.newMemberAdded && remainingMs > 0) {
        group.newMemberAdded = false;
        const delay = Math.min(this.config.initialRebalanceDelayMs, remainingMs);
        this.scheduleInitialJoin(group, delay, Math.max(remainingMs - delayMs, 0));
      } else {
        this.completeJoin(group);
      }
    });
  }

  /** Completes the join phase early once every known member rejoined (not during the initial delay). */
  private maybeCompleteJoin(group: Group): void {
    if (group.is('PreparingRebalance') && !group.joinIsInitialDelay && group.hasAllMembersJoined()) this.completeJoin(group);
  }

  /** Kafka's onCompleteJoin: next generation, join responses (the leader gets everyone's metadata). */
  private completeJoin(group: Group): void {
    if (!group.is('PreparingRebalance')) return;
    group.cancelJoinTimer?.();
    group.cancelJoinTimer = null;
    group.joinIsInitialDelay = false;
    group.newMemberAdded = false;
    // Dynamic members that did not rejoin are gone; static ones keep their place.
    for (const m of [...group.members.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) {
        this.logger.info({ groupId: group.groupId, memberId: m.memberId }, 'member did not rejoin in time; removed');
        group.remove(m.memberId);
      }
    }
    if (!group.electJoinedLeader() && group.members.size > 0) {
      // Only static members that did not rejoin remain: wait for them or for their sessions to expire.
      this.scheduleJoin(group, group.rebalanceTimeoutMs());
      return;
    }
    const now = this.scheduler.nowMs();
    group.generationId++;
    if (group.members.size === 0) {
      group.protocolName = null;
      group.transitionTo('Empty', now);
      this.logger.info({ groupId: group.groupId, generationId: group.generationId }, 'group is now empty');
      void this.store.storeGroup(group, new Map());
      return;
    }
    const protocol = group.selectProtocol();
    assert(protocol !== null, `group ${group.groupId} members share no protocol`);
    group.protocolName = protocol;
    group.transitionTo('CompletingRebalance', now);
    this.logger.info({ groupId: group.groupId, generationId: group.generationId, protocol, members: group.members.size, leaderId: group.leaderId }, 'group rebalanced; awaiting assignment');
    const leaderMetadata = this.memberMetadata(group);
    for (const m of group.members.values()) {
      const answer = m.awaitingJoin;
      m.awaitingJoin = null;
      m.isNew = false;
      group.pendingSyncMembers.add(m.memberId);
      answer?.({ ...this.currentJoinResult(group, m), members: group.isLeader(m.memberId) ? leaderMetadata : [] });
      this.scheduleHeartbeatExpiry(group, m, m.sessionTimeoutMs);
    }
    this.schedulePendingSync(group);
  }

  /** Members of the new generation that never send SyncGroup are removed after the rebalance timeout. */
  private schedulePendingSync(group: Group): void {
    group.cancelSyncTimer?.();
    const generation = group.generationId;
    group.cancelSyncTimer = this.scheduler.schedule(group.rebalanceTimeoutMs(), () => {
      group.cancelSyncTimer = null;
      if (group.generationId !== generation || !(group.is('CompletingRebalance') || group.is('Stable')) || group.pendingSyncMembers.size === 0) return;
      const missing = [...group.pendingSyncMembers];
      this.logger.info({ groupId: group.groupId, generationId: generation, members: missing }, 'members did not sync in time; removing them');
      for (const id of missing) {
        const m = group.members.get(id);
        if (m) {
          m.awaitingJoin = null;
          group.remove(id);
        }
      }
      group.pendingSyncMembers.clear();
      this.prepareRebalance(group, 'members failed to sync');
    });
  }

  private resetAndPropagateAssignmentError(group: Group, errorCode: number): void {
    assert(group.is('CompletingRebalance'), 'assignment error outside CompletingRebalance');
    for (const m of group.members.values()) {
      m.assignment = NO_ASSIGNMENT;
      const answer = m.awaitingSync;
      m.awaitingSync = null;
      answer?.(syncError(errorCode));
    }
  }

  private setAndPropagateAssignment(group: Group, assignments: ReadonlyMap<string, Buffer>): void {
    assert(group.is('CompletingRebalance'), 'assignment outside CompletingRebalance');
    for (const m of group.members.values()) m.assignment = assignments.get(m.memberId) ?? NO_ASSIGNMENT;
    for (const m of group.members.values()) {
      const answer = m.awaitingSync;
      if (answer === null) continue;
      m.awaitingSync = null;
      group.pendingSyncMembers.delete(m.memberId);
      answer({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment });
      this.scheduleHeartbeatExpiry(group, m, m.sessionTimeoutMs);
    }
    group.transitionTo('Stable', this.scheduler.nowMs());
    if (group.pendingSyncMembers.size === 0) {
      group.cancelSyncTimer?.();
      group.cancelSyncTimer = null;
    }
  }

  async syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    const group = this.store.get(p.groupId);
    if (!group) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.is('Dead')) return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (group.isStaticMemberFenced(p.memberId, p.groupInstanceId)) return syncError(ErrorCode.FENCED_INSTANCE_ID);
    const member = group.members.get(p.memberId);
    if (!member) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (p.generationId !== group.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION);
    if ((p.protocolType !== null && p.protocolType !== group.protocolType) || (p.protocolName !== null && p.protocolName !== group.protocolName)) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (group.state) {
      case 'PreparingRebalance':
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        group.pendingSyncMembers.delete(member.memberId);
        this.scheduleHeartbeatExpiry(group, member, member.sessionTimeoutMs);
        return { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment };
      case 'CompletingRebalance': {
        const previous = member.awaitingSync;
        previous?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        const result = new Promise<SyncGroupResult>((resolve) => {
          member.awaitingSync = resolve;
        });
        group.pendingSyncMembers.delete(member.memberId);
        if (group.isLeader(member.memberId)) {
          const assignments = new Map<string, Buffer>();
          for (const a of p.assignments) if (group.has(a.memberId)) assignments.set(a.memberId, a.assignment);
          const generation = group.generationId;
          const code = await this.store.storeGroup(group, assignments);
          if (group.is('CompletingRebalance') && group.generationId === generation) {
            if (code !== ErrorCode.NONE) {
              this.resetAndPropagateAssignmentError(group, code);
              this.maybePrepareRebalance(group, 'storing the group assignment failed');
            } else {
              this.setAndPropagateAssignment(group, assignments);
            }
          }
        }
        return result;
      }
      default:
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  async heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): Promise<number> {
    const group = this.store.get(groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.isStaticMemberFenced(memberId, groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleHeartbeatExpiry(group, member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
      case 'PreparingRebalance':
        this.scheduleHeartbeatExpiry(group, member, member.sessionTimeoutMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
  }

  async leaveGroup(groupId: string, leaving: readonly MemberIdentity[]): Promise<{ errorCode: number; members: (MemberIdentity & { errorCode: number })[] }> {
    const group = this.store.get(groupId);
    if (!group) return { errorCode: ErrorCode.NONE, members: leaving.map((l) => ({ ...l, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })) };
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((l) => ({ ...l, errorCode: this.leaveOne(group, l) }));
    return { errorCode: ErrorCode.NONE, members };
  }

  private leaveOne(group: Group, l: MemberIdentity): number {
    const memberId = l.memberId === '' && l.groupInstanceId !== null ? (group.staticMemberId(l.groupInstanceId) ?? '') : l.memberId;
    if (group.isStaticMemberFenced(memberId, l.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    const cancelPending = group.pendingMembers.get(memberId);
    if (cancelPending) {
      cancelPending();
      group.pendingMembers.delete(memberId);
      if (group.is('PreparingRebalance')) this.maybeCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.logger.info({ groupId: group.groupId, memberId, groupInstanceId: member.groupInstanceId }, 'member left the group');
    this.removeMemberAndUpdateGroup(group, member, `member ${memberId} left the group`);
    return ErrorCode.NONE;
  }

  private removeMemberAndUpdateGroup(group: Group, member: Member, reason: string): void {
    const join = member.awaitingJoin;
    member.awaitingJoin = null;
    join?.(joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    const sync = member.awaitingSync;
    member.awaitingSync = null;
    sync?.(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    group.remove(member.memberId);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, reason);
        break;
      case 'PreparingRebalance':
        this.maybeCompleteJoin(group);
        break;
      default:
        break;
    }
  }

  /** (Re)arms the member's session timer; expiry removes it unless it is waiting in a rebalance. */
  scheduleHeartbeatExpiry(group: Group, member: Member, timeoutMs: number): void {
    member.cancelHeartbeat?.();
    member.cancelHeartbeat = this.scheduler.schedule(timeoutMs, () => {
      member.cancelHeartbeat = null;
      if (group.members.get(member.memberId) !== member) return;
      // Members waiting in a join or sync satisfy their heartbeats (the rebalance timeout governs them).
      if (!member.isNew && (member.awaitingJoin !== null || member.awaitingSync !== null)) return;
      this.logger.info({ groupId: group.groupId, memberId: member.memberId, sessionTimeoutMs: timeoutMs }, 'member session expired; removing it');
      this.removeMemberAndUpdateGroup(group, member, `member ${member.memberId} session expired`);
    });
  }
}
