import { assert, assertNever } from '@fluxo/common';
import { applyConfChange, bootstrapEntries, decodeConfChange, encodeConfChange, validateConfChange, type ConfChange } from './conf-change.js';
import { resolveRaftConfig, type RaftConfig, type ResolvedRaftConfig } from './config.js';
import { ProposalDroppedError } from './errors.js';
import { Membership } from './membership.js';
import { Progress } from './progress.js';
import { RaftLog } from './raft-log.js';
import type { RaftStorage } from './storage.js';
import {
  entrySizeBytes,
  type AppendRequest,
  type AppendResponse,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type Message,
  type NodeId,
  type Ready,
  type Role,
  type SnapshotRequest,
  type SoftState,
  type VoteRequest,
  type VoteResponse,
} from './types.js';

const EMPTY = new Uint8Array(0);

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly role: Role;
  readonly leaderId: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  /** Membership in effect now (latest configuration in the log). */
  readonly voters: readonly NodeId[];
  /** Index of the entry that set `voters`; the change is final once commit >= configIndex. */
  readonly configIndex: number;
  readonly leadTransferee: NodeId | null;
}

/** Where a proposal landed; it is durable once committedEntries hands back an entry with this index and term. */
export interface ProposalPosition {
  readonly index: number;
  readonly term: number;
}

/**
 * Raft as a deterministic state machine (etcd raft style): feed it messages (step), time (tick) and
 * proposals; take Ready work out (readyIfAny), do it, and advance(ready). No clocks, timers, randomness
 * (injected) or I/O inside.
 *
 * Membership: single-server changes that take effect when appended to the log (dissertation §4.1). The
 * leader accepts a new change only after the previous one and an entry of its own term committed. A
 * leader that removes itself keeps leading until the removal commits, then hands over (TimeoutNow to an
 * up-to-date voter) and steps down.
 */
export class RaftNode {
  readonly id: NodeId;
  private readonly cfg: ResolvedRaftConfig;
  private readonly storage: RaftStorage;
  private readonly log: RaftLog;
  private readonly membership: Membership;
  private appliedVoters: NodeId[];

  private term: number;
  private vote: NodeId | null;
  private role: Role = 'follower';
  private leaderId: NodeId | null = null;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private leadTransferee: NodeId | null = null;
  /** Leader: index of the last conf change (or of its first entry); no new change until it commits. */
  private pendingConfIndex = 0;
  /** Leader: (index, size) of its uncommitted entries, oldest first, for maxUncommittedEntriesBytes. */
  private uncommitted: { index: number; sizeBytes: number }[] = [];
  private uncommittedBytes = 0;

  private msgs: Message[] = [];
  private prevHardState: HardState;
  private prevSoftState: SoftState = { leaderId: null, role: 'follower' };
  private outstanding: Ready | null = null;

  constructor(config: RaftConfig) {
    this.cfg = resolveRaftConfig(config);
    this.id = this.cfg.id;
    this.storage = this.cfg.storage;
    const { hardState, confState, confIndex } = this.storage.initialState();
    const firstIndex = this.storage.firstIndex();
    const lastIndex = this.storage.lastIndex();
    assert(confIndex >= firstIndex - 1 && confIndex <= lastIndex, `storage confIndex ${confIndex} outside log`);
    const applied = Math.max(this.cfg.applied ?? confIndex, firstIndex - 1);
    assert(applied <= Math.max(hardState.commit, confIndex), `applied ${applied} past commit ${hardState.commit}`);
    this.log = new RaftLog(this.storage, Math.max(hardState.commit, confIndex), applied);
    this.membership = new Membership(confState.voters, confIndex);
    this.appliedVoters = [...confState.voters];
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.prevHardState = hardState;
    this.replayConfChanges(confIndex, lastIndex, applied);
    this.membership.onCommit(this.log.committed);

    // Bootstrap unless a hard state was persisted: a crash may have left only part of the bootstrap entries
    // on disk, and a node must never start from a partial membership (it could elect itself alone).
    const bootstrapped = hardState.term > 0 || confIndex > 0;
    if (!bootstrapped && this.cfg.voters.length > 0) {
      const entries = bootstrapEntries(this.cfg.voters);
      this.term = 1;
      this.log.append(entries);
      this.membership.onAppend(entries);
      this.commitTo(entries.length);
    }
    this.becomeFollower(this.term, null);
  }

  // ---- inputs -------------------------------------------------------------------------------------------

  /** One logical clock tick (the host decides how long a tick is). */
  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** Appends `data` if this node is the leader; throws ProposalDroppedError otherwise. */
  propose(data: Uint8Array): ProposalPosition {
    return this.proposeEntry('normal', data);
  }

  /** Proposes one membership change; throws InvalidConfChangeError or ProposalDroppedError. */
  proposeConfChange(change: ConfChange): ProposalPosition {
    this.checkCanPropose();
    if (this.log.committed < this.pendingConfIndex) throw new ProposalDroppedError('confChangePending', this.leaderId);
    validateConfChange(this.membership.voters(), change);
    const position = this.proposeEntry('confChange', encodeConfChange(change));
    this.pendingConfIndex = position.index;
    return position;
  }

  /**
   * Leader only: hand leadership to `to` once it has caught up (it gets TimeoutNow). Proposals are refused
   * meanwhile; the attempt is abandoned after an election timeout. Returns false if not leader.
   */
  transferLeadership(to: NodeId): boolean {
    if (this.role !== 'leader') return false;
    if (to === this.id || !this.membership.isVoter(to)) return false;
    if (this.leadTransferee === to) return true;
    this.leadTransferee = to;
    this.electionElapsed = 0;
    const pr = this.progress.get(to) as Progress;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', from: this.id, to, term: this.term });
    else this.sendAppend(to);
    return true;
  }

  /** The host could not deliver a snapshot (or did): lets the leader retry without waiting for a timeout. */
  reportSnapshot(to: NodeId, delivered: boolean): void {
    const pr = this.progress.get(to);
    if (this.role !== 'leader' || pr === undefined || pr.state !== 'snapshot') return;
    if (!delivered) pr.pendingSnapshot = 0;
    pr.becomeProbe();
  }

  /** A message from the network (any term, possibly stale, duplicated or reordered). */
  step(m: Message): void {
    assert(m.to === this.id, `message for ${m.to} delivered to ${this.id}`);
    if (m.from === this.id) return;
    if (m.term > this.term) {
      if (m.type === 'preVote' || m.type === 'vote') {
        const inLease = this.cfg.checkQuorum && this.leaderId !== null && this.electionElapsed < this.cfg.electionTicks;
        if (inLease && !m.leaderTransfer) return; // a leader we heard from recently: ignore the disruption
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResp' && !m.reject)) {
        // pre-votes never change terms: a granted response carries the term we would campaign in
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      if (m.type === 'append' || m.type === 'heartbeat') {
        // a deposed leader: our higher term makes it step down (with pre-vote or a leader lease nothing
        // else might ever tell it)
        this.send({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.term });
      } else if (m.type === 'preVote' || m.type === 'vote') {
        // tell a stale candidate our term: we may not be in its configuration, so it might never hear it
        const type = m.type === 'preVote' ? 'preVoteResp' : 'voteResp';
        this.send({ type, from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case 'preVote':
      case 'vote':
        this.handleVoteRequest(m);
        return;
      case 'preVoteResp':
      case 'voteResp':
        this.handleVoteResponse(m);
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        assert(this.role !== 'leader', `two leaders in term ${this.term}: ${this.id} and ${m.from}`);
        if (this.role !== 'follower') this.becomeFollower(this.term, m.from);
        this.leaderId = m.from;
        this.electionElapsed = 0;
        if (m.type === 'append') this.handleAppend(m);
        else if (m.type === 'heartbeat') {
          this.commitTo(m.commit);
          this.send({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.term });
        } else this.handleSnapshot(m);
        return;
      case 'appendResp':
        if (this.role === 'leader') this.handleAppendResponse(m);
        return;
      case 'heartbeatResp':
        if (this.role === 'leader') this.handleHeartbeatResponse(m.from);
        return;
      case 'timeoutNow':
        this.hup(true);
        return;
      default:
        assertNever(m, 'message type');
    }
  }

  // ---- Ready --------------------------------------------------------------------------------------------

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    return (
      this.log.unstableEntries.length > 0 ||
      this.log.unstableSnapshot !== null ||
      this.msgs.length > 0 ||
      this.log.hasNextCommittedEntries() ||
      !sameHardState(this.hardState(), this.prevHardState) ||
      this.prevSoftState.leaderId !== this.leaderId ||
      this.prevSoftState.role !== this.role
    );
  }

  /** Work for the host, or null. Call advance(ready) before asking for the next one. */
  readyIfAny(): Ready | null {
    assert(this.outstanding === null, 'readyIfAny() before advance() of the previous Ready');
    if (!this.hasReady()) return null;
    const hardState = this.hardState();
    const softState: SoftState = { leaderId: this.leaderId, role: this.role };
    const ready: Ready = {
      entries: this.log.unstableEntries.slice(),
      messages: this.msgs,
      committedEntries: this.log.nextCommittedEntries(this.cfg.maxCommittedSizePerReadyBytes),
      ...(this.log.unstableSnapshot !== null ? { snapshot: this.log.unstableSnapshot } : {}),
      ...(sameHardState(hardState, this.prevHardState) ? {} : { hardState }),
      ...(softState.leaderId === this.prevSoftState.leaderId && softState.role === this.prevSoftState.role ? {} : { softState }),
    };
    this.msgs = [];
    this.outstanding = ready;
    return ready;
  }

  /** The host persisted, sent and applied `ready`. */
  advance(ready: Ready): void {
    assert(ready === this.outstanding, 'advance() of a Ready that is not the outstanding one');
    this.outstanding = null;
    if (ready.hardState !== undefined) this.prevHardState = ready.hardState;
    if (ready.softState !== undefined) this.prevSoftState = ready.softState;
    if (ready.snapshot !== undefined) {
      this.log.stableSnapTo(ready.snapshot.index);
      this.log.applied = ready.snapshot.index;
      this.appliedVoters = [...ready.snapshot.confState.voters];
    }
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined) this.log.stableTo(lastEntry.index, lastEntry.term);
    for (const e of ready.committedEntries) {
      assert(e.index === this.log.applied + 1, `applied ${e.index} after ${this.log.applied}`);
      if (e.type === 'confChange') this.appliedVoters = applyConfChange(this.appliedVoters, decodeConfChange(e.data));
      this.log.applied = e.index;
    }
    if (this.role === 'leader' && this.maybeCommit()) this.bcastAppend();
  }

  // ---- queries ------------------------------------------------------------------------------------------

  status(): RaftStatus {
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leaderId: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      voters: this.membership.voters(),
      configIndex: this.membership.configIndex(),
      leadTransferee: this.leadTransferee,
    };
  }

  /** Membership as of the applied index: what a host snapshot at that index must carry. */
  appliedConfState(): ConfState {
    return { voters: [...this.appliedVoters] };
  }

  /** Term of the entry at `index` in this node's log (persisted or not), undefined if compacted or absent. */
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  // ---- roles --------------------------------------------------------------------------------------------

  private becomeFollower(term: number, leaderId: NodeId | null): void {
    assert(term >= this.term, 'term went backwards');
    if (term > this.term) {
      this.term = term;
      this.vote = null;
    }
    this.role = 'follower';
    this.leaderId = leaderId;
    this.resetRoleState();
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become pre-candidate');
    this.role = 'preCandidate';
    this.leaderId = null;
    this.resetRoleState();
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become candidate');
    this.term += 1;
    this.vote = this.id;
    this.role = 'candidate';
    this.leaderId = null;
    this.resetRoleState();
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', `only a candidate becomes leader (was ${this.role})`);
    this.role = 'leader';
    this.leaderId = this.id;
    this.resetRoleState();
    this.syncProgress();
    this.appendEntries([{ type: 'normal', data: EMPTY }]);
    this.pendingConfIndex = this.log.lastIndex();
  }

  private resetRoleState(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.cfg.random.int(this.cfg.electionTicks);
    this.votes.clear();
    this.progress.clear();
    this.leadTransferee = null;
    this.uncommitted = [];
    this.uncommittedBytes = 0;
    this.pendingConfIndex = 0;
  }

  /**
   * May campaign: a voter in the latest configuration, or in the committed one. The latter covers a node
   * whose log ends with its own uncommitted removal: it may hold the only up-to-date log, so it must be able
   * to win (counting votes of the new configuration, not its own), commit the removal, and step down.
   */
  private promotable(): boolean {
    const member = this.membership.isVoter(this.id) || this.membership.isCommittedVoter(this.id);
    return member && this.log.unstableSnapshot === null;
  }

  // ---- time ---------------------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
      this.leadTransferee = null; // a transfer that did not finish within an election timeout is abandoned
    }
    for (const pr of this.progress.values()) {
      if (pr.state === 'snapshot' && ++pr.snapshotTicks >= this.cfg.electionTicks) {
        pr.pendingSnapshot = 0; // presumed lost: probe again (and resend if still needed)
        pr.becomeProbe();
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** Check-quorum: did a quorum of voters (this node counts if it is one) talk to us since the last check? */
  private quorumActive(): boolean {
    const voters = this.membership.voters();
    let active = 0;
    for (const id of voters) {
      if (id === this.id) active++;
      else {
        const pr = this.progress.get(id) as Progress;
        if (pr.recentActive) active++;
        pr.recentActive = false;
      }
    }
    return active >= quorumSize(voters.length);
  }

  // ---- elections ----------------------------------------------------------------------------------------

  private hup(leaderTransfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    if (this.cfg.preVote && !leaderTransfer) this.campaign('preVote', false);
    else this.campaign('vote', leaderTransfer);
  }

  private campaign(type: 'preVote' | 'vote', leaderTransfer: boolean): void {
    if (type === 'preVote') this.becomePreCandidate();
    else this.becomeCandidate();
    const voteTerm = type === 'preVote' ? this.term + 1 : this.term;
    if (this.recordVote(this.id, true)) return;
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    for (const to of this.membership.voters()) {
      if (to === this.id) continue;
      this.send({ type, from: this.id, to, term: voteTerm, lastLogIndex, lastLogTerm, leaderTransfer });
    }
  }

  /** Records a vote; returns true when it decided the campaign (won or lost). */
  private recordVote(from: NodeId, granted: boolean): boolean {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    const voters = this.membership.voters();
    let yes = 0;
    let no = 0;
    for (const id of voters) {
      const v = this.votes.get(id);
      if (v === true) yes++;
      else if (v === false) no++;
    }
    const quorum = quorumSize(voters.length);
    if (yes >= quorum) {
      if (this.role === 'preCandidate') this.campaign('vote', false);
      else {
        this.becomeLeader();
        this.bcastAppend();
      }
      return true;
    }
    if (no > voters.length - quorum) {
      this.becomeFollower(this.term, null);
      return true;
    }
    return false;
  }

  private handleVoteRequest(m: VoteRequest): void {
    const respType = m.type === 'preVote' ? 'preVoteResp' : 'voteResp';
    const canVote =
      this.vote === m.from || (this.vote === null && this.leaderId === null) || (m.type === 'preVote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  private handleVoteResponse(m: VoteResponse): void {
    if (m.type === 'preVoteResp') {
      if (this.role !== 'preCandidate') return;
      // grants carry our campaign term (term + 1); rejections our current term
      if (m.reject ? m.term !== this.term : m.term !== this.term + 1) return;
    } else {
      if (this.role !== 'candidate' || m.term !== this.term) return;
    }
    this.recordVote(m.from, !m.reject);
  }

  // ---- replication: follower side -----------------------------------------------------------------------

  private handleAppend(m: AppendRequest): void {
    const committed = this.log.committed;
    if (m.prevLogIndex < committed) {
      this.sendAppendResponse(m.from, false, committed, 0, 0);
      return;
    }
    if (this.log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
      const conflict = this.log.findConflict(m.entries);
      if (conflict !== 0) {
        assert(conflict > committed, `entry ${conflict} conflicts with committed ${committed}`);
        if (conflict <= this.log.lastIndex()) this.dropPendingAcksFrom(conflict);
        const fresh = m.entries.slice(conflict - (m.prevLogIndex + 1));
        this.log.append(fresh);
        this.membership.onAppend(fresh);
      }
      const lastNew = m.prevLogIndex + m.entries.length;
      this.commitTo(Math.min(m.commit, lastNew));
      this.sendAppendResponse(m.from, false, lastNew, 0, 0);
      return;
    }
    const lastIndex = this.log.lastIndex();
    if (m.prevLogIndex > lastIndex) {
      this.sendAppendResponse(m.from, true, m.prevLogIndex, 0, lastIndex + 1);
      return;
    }
    const conflictTerm = this.log.term(m.prevLogIndex);
    assert(conflictTerm !== undefined, 'term of an uncommitted index unknown');
    const conflictIndex = this.log.firstIndexWithTermAtLeast(committed + 1, m.prevLogIndex, conflictTerm);
    this.sendAppendResponse(m.from, true, m.prevLogIndex, conflictTerm, conflictIndex);
  }

  private handleSnapshot(m: SnapshotRequest): void {
    const snap = m.snapshot;
    if (snap.index <= this.log.committed) {
      // nothing new; tell the leader where we are
    } else if (this.log.matchTerm(snap.index, snap.term)) {
      this.commitTo(snap.index); // we already have it: fast-forward instead of discarding our log
    } else {
      this.dropPendingAcksFrom(this.log.committed + 1);
      this.log.restore(snap);
      this.membership.reset(snap.confState.voters, snap.index);
    }
    this.sendAppendResponse(m.from, false, this.log.committed, 0, 0);
  }

  /**
   * Entries from `index` on are being replaced before the host persisted them: acks for them that have not
   * left yet would tell their leader we hold entries we never will. Dropping a message is always safe.
   */
  private dropPendingAcksFrom(index: number): void {
    this.msgs = this.msgs.filter((m) => m.type !== 'appendResp' || m.reject || m.index < index);
  }

  private sendAppendResponse(to: NodeId, reject: boolean, index: number, conflictTerm: number, conflictIndex: number): void {
    this.send({ type: 'appendResp', from: this.id, to, term: this.term, reject, index, conflictTerm, conflictIndex });
  }

  private commitTo(index: number): void {
    if (index <= this.log.committed) return;
    this.log.commitTo(index);
    this.membership.onCommit(index);
    while (this.uncommitted.length > 0 && (this.uncommitted[0] as { index: number }).index <= index) {
      this.uncommittedBytes -= (this.uncommitted.shift() as { sizeBytes: number }).sizeBytes;
    }
  }

  // ---- replication: leader side -------------------------------------------------------------------------

  private checkCanPropose(): void {
    if (this.role !== 'leader') throw new ProposalDroppedError('notLeader', this.leaderId);
    if (this.leadTransferee !== null) throw new ProposalDroppedError('leaderTransferInProgress', this.leaderId);
  }

  private proposeEntry(type: EntryType, data: Uint8Array): ProposalPosition {
    this.checkCanPropose();
    const sizeBytes = data.byteLength + 24;
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + sizeBytes > this.cfg.maxUncommittedEntriesBytes) {
      throw new ProposalDroppedError('tooManyUncommittedBytes', this.leaderId);
    }
    this.appendEntries([{ type, data }]);
    this.bcastAppend();
    return { index: this.log.lastIndex(), term: this.term };
  }

  private appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): void {
    assert(this.role === 'leader', 'only the leader appends new entries');
    const first = this.log.lastIndex() + 1;
    const entries: Entry[] = items.map((it, i) => ({ index: first + i, term: this.term, type: it.type, data: it.data }));
    this.log.append(entries);
    this.membership.onAppend(entries);
    for (const e of entries) {
      const sizeBytes = entrySizeBytes(e);
      this.uncommitted.push({ index: e.index, sizeBytes });
      this.uncommittedBytes += sizeBytes;
    }
    this.syncProgress();
    // a single-voter cluster commits once the entry is persisted (see advance)
  }

  /** Leader: one Progress per voter other than itself, new voters probed from the end of the log. */
  private syncProgress(): void {
    const voters = this.membership.voters();
    for (const id of voters) {
      if (id !== this.id && !this.progress.has(id)) {
        const pr = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs);
        pr.recentActive = true;
        this.progress.set(id, pr);
      }
    }
    for (const id of [...this.progress.keys()]) if (!voters.includes(id)) this.progress.delete(id);
    if (this.leadTransferee !== null && !voters.includes(this.leadTransferee)) this.leadTransferee = null;
  }

  /** Advances commit to what a quorum of voters has durably; only entries of this term count directly. */
  private maybeCommit(): boolean {
    const voters = this.membership.voters();
    if (voters.length === 0) return false;
    const matches = voters.map((id) => (id === this.id ? this.log.stableLastIndex() : (this.progress.get(id) as Progress).match));
    matches.sort((a, b) => b - a);
    const quorumIndex = matches[quorumSize(voters.length) - 1] as number;
    if (quorumIndex <= this.log.committed || this.log.term(quorumIndex) !== this.term) return false;
    this.commitTo(quorumIndex);
    if (!this.membership.isVoter(this.id) && this.log.committed >= this.membership.configIndex()) this.stepDownRemoved();
    return true;
  }

  /** Our own removal committed: let the most up-to-date voter take over at once, then follow. */
  private stepDownRemoved(): void {
    const lastIndex = this.log.lastIndex();
    for (const [id, pr] of this.progress) {
      if (pr.match === lastIndex) {
        this.send({ type: 'timeoutNow', from: this.id, to: id, term: this.term });
        break;
      }
    }
    this.bcastAppend(); // the new commit index, so the others learn the removal committed
    this.becomeFollower(this.term, null);
  }

  private bcastAppend(): void {
    if (this.role !== 'leader') return;
    for (const id of this.progress.keys()) this.sendAppend(id);
  }

  private bcastHeartbeat(): void {
    for (const [to, pr] of this.progress) {
      this.send({ type: 'heartbeat', from: this.id, to, term: this.term, commit: Math.min(pr.match, this.log.committed) });
    }
  }

  /** Sends the next append (or a snapshot) to `to` unless its progress is paused. */
  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const lastIndex = this.log.lastIndex();
    assert(pr.next <= lastIndex + 1, `progress next ${pr.next} past last index ${lastIndex}`);
    const prevLogIndex = pr.next - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) return this.sendSnapshot(to, pr);
    const entries = pr.next <= lastIndex ? this.log.entries(pr.next, lastIndex + 1, this.cfg.maxSizePerMsgBytes) : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'append', from: this.id, to, term: this.term, prevLogIndex, prevLogTerm, entries, commit: this.log.committed });
    pr.sentEntries(prevLogIndex + entries.length, entries.length);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snapshot = this.storage.snapshot();
    if (snapshot === null) return false; // being produced; the next heartbeat response retries
    assert(snapshot.index >= this.log.firstIndex() - 1, 'storage compacted past its snapshot');
    pr.becomeSnapshot(snapshot.index);
    this.send({ type: 'snapshot', from: this.id, to, term: this.term, snapshot });
    return true;
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      if (pr.maybeDecrTo(m.index, this.nextFromHint(m))) this.sendAppend(m.from);
      return;
    }
    assert(m.index <= this.log.lastIndex(), `follower ${m.from} matched ${m.index} past our last index`);
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
    if (this.maybeCommit()) this.bcastAppend();
    else if (wasPaused) this.sendAppend(m.from);
    if (this.role !== 'leader') return;
    while (this.sendAppend(m.from, false)) {
      // stream while the in-flight window allows
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeoutNow', from: this.id, to: m.from, term: this.term });
    }
  }

  /** Fast backtracking (dissertation §5.3): skip the follower's whole conflicting term at once. */
  private nextFromHint(m: AppendResponse): number {
    if (m.conflictTerm === 0) return m.conflictIndex;
    const idx = this.log.lastIndexWithTermAtMost(m.index, m.conflictTerm);
    if (this.log.term(idx) === m.conflictTerm) return idx + 1;
    return m.conflictIndex;
  }

  private handleHeartbeatResponse(from: NodeId): void {
    const pr = this.progress.get(from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.isPaused()) pr.freeFirstInflight();
    if (pr.match < this.log.lastIndex()) this.sendAppend(from);
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  private send(m: Message): void {
    this.msgs.push(m);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Builds the membership from conf entries after confIndex; also the membership as of `applied`. */
  private replayConfChanges(confIndex: number, lastIndex: number, applied: number): void {
    let lo = confIndex + 1;
    while (lo <= lastIndex) {
      const chunk = this.storage.entries(lo, lastIndex + 1, 4 * 1024 * 1024);
      assert(chunk.length > 0, 'storage returned no entries');
      this.membership.onAppend(chunk.filter((e) => e.type === 'confChange'));
      for (const e of chunk) {
        if (e.type === 'confChange' && e.index <= applied) this.appliedVoters = applyConfChange(this.appliedVoters, decodeConfChange(e.data));
      }
      lo += chunk.length;
    }
  }
}

function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
