import type { MemoryStorage } from '../memory-storage.js';
import type { RaftNode } from '../raft.js';
import type { Entry, HardState, Message, NodeId } from '../types.js';
import { hashBytes } from './state-machine.js';

/** An invariant did not hold: the message says which and where. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new InvariantViolation(message());
}

export interface LiveView {
  readonly id: NodeId;
  readonly raft: RaftNode;
  readonly disk: MemoryStorage;
}

interface Seen {
  term: number;
  commit: number;
  applied: number;
}

/**
 * Safety invariants, checked incrementally as the hosts persist, send and apply, and after every step:
 * election safety, leader append-only, log matching, leader completeness, state machine safety, committed
 * entries durable on a quorum, persist-before-send, monotonic durable term/vote/commit and live
 * term/commit/applied.
 */
export class InvariantChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** (index, term) -> hash of data and term of the previous entry: log matching by induction. */
  private readonly entryIdentity = new Map<number, number>();
  /** Hash of the state machine after applying index i, first seen anywhere. */
  private readonly appliedHash: number[] = [];
  /** Term of the entry at index i once anyone saw it committed. */
  private readonly committedTerm: number[] = [];
  private highestCommit = 0;
  /** Highest commit index a node observed while in term t: committed in term <= t. */
  private readonly commitSeenInTerm: number[] = [];
  private readonly seen = new Map<NodeId, Seen>();
  private readonly leaderChecked = new Map<NodeId, number>();

  /** A node (re)started: its live monotonic counters restart from what it recovered. */
  onStart(id: NodeId): void {
    this.seen.delete(id);
    this.leaderChecked.delete(id);
  }

  onPersistEntries(node: LiveView, entries: readonly Entry[]): void {
    const st = node.raft.status();
    const first = entries[0] as Entry;
    if (st.role === 'leader' && first.term === st.term) {
      check(first.index > node.disk.lastIndex(), () => `leader ${node.id} overwrote its persisted log at ${first.index}`);
    }
    let prevTerm: number | undefined;
    const firstKnown = node.disk.firstIndex() - 1;
    for (const e of entries) {
      if (e.index - 1 < firstKnown) continue;
      if (prevTerm === undefined) prevTerm = e.index - 1 === firstKnown ? node.disk.term(firstKnown) : node.disk.term(e.index - 1);
      check(e.term >= prevTerm, () => `node ${node.id}: term decreases along the log at ${e.index}`);
      const key = e.index * 65536 + e.term;
      const identity = (hashBytes(e.data) ^ (e.type === 'confChange' ? 0x55555555 : 0)) * 65536 + prevTerm;
      const known = this.entryIdentity.get(key);
      if (known === undefined) this.entryIdentity.set(key, identity);
      else check(known === identity, () => `log matching: node ${node.id} entry (${e.index}, term ${e.term}) differs from another node's`);
      prevTerm = e.term;
    }
  }

  onPersistHardState(node: LiveView, hs: HardState): void {
    const durable = node.disk.hardStateNow();
    check(hs.term >= durable.term, () => `node ${node.id}: durable term went back ${durable.term} -> ${hs.term}`);
    if (hs.term === durable.term && durable.vote !== null) {
      check(hs.vote === durable.vote, () => `node ${node.id}: changed vote in term ${hs.term}: ${durable.vote} -> ${hs.vote}`);
    }
    check(hs.commit >= durable.commit, () => `node ${node.id}: durable commit went back ${durable.commit} -> ${hs.commit}`);
  }

  /** Persist before send: nothing leaves with a term or vote the sender has not made durable. */
  onSend(node: LiveView, m: Message): void {
    const durable = node.disk.hardStateNow();
    if (m.type === 'preVote' || m.type === 'preVoteResp') return;
    check(m.term <= durable.term, () => `node ${node.id} sent ${m.type} in term ${m.term} before persisting it (durable ${durable.term})`);
    // a vote is durable once persisted, or superseded by a durable higher term (it can never vote in m.term again)
    if (m.type === 'vote') {
      check(durable.term > m.term || durable.vote === node.id, () => `node ${node.id} asked for votes before persisting its own`);
    }
    if (m.type === 'voteResp' && !m.reject) {
      check(durable.term > m.term || durable.vote === m.to, () => `node ${node.id} granted a vote to ${m.to} before persisting it`);
    }
    if (m.type === 'appendResp' && !m.reject) {
      check(m.index <= node.disk.lastIndex(), () => `node ${node.id} acked ${m.index} before persisting it`);
      // an ack sent in term t vouches for entries of terms <= t; a later term there means they were replaced
      if (m.index >= node.disk.firstIndex()) {
        const term = node.disk.term(m.index);
        check(term <= m.term, () => `node ${node.id} acked ${m.index} in term ${m.term} but holds an entry of term ${term} there`);
      }
    }
  }

  /** State machine safety: the state after index i is the same on every node. */
  onApplied(node: LiveView, index: number, hash: number): void {
    const known = this.appliedHash[index];
    if (known === undefined) this.appliedHash[index] = hash;
    else check(known === hash, () => `state machine safety: node ${node.id} state after ${index} differs from another node's`);
  }

  afterStep(nodes: readonly LiveView[]): void {
    for (const node of nodes) {
      const st = node.raft.status();
      const prev = this.seen.get(node.id);
      if (prev !== undefined) {
        check(st.term >= prev.term, () => `node ${node.id}: term went back ${prev.term} -> ${st.term}`);
        check(st.commit >= prev.commit, () => `node ${node.id}: commit went back ${prev.commit} -> ${st.commit}`);
        check(st.applied >= prev.applied, () => `node ${node.id}: applied went back ${prev.applied} -> ${st.applied}`);
        prev.term = st.term;
        prev.commit = st.commit;
        prev.applied = st.applied;
      } else this.seen.set(node.id, { term: st.term, commit: st.commit, applied: st.applied });
      check(st.applied <= st.commit, () => `node ${node.id}: applied ${st.applied} past commit ${st.commit}`);

      // committed entries never change, anywhere
      const commitTerm = node.raft.termAt(st.commit);
      if (commitTerm !== undefined && st.commit > 0) {
        const known = this.committedTerm[st.commit];
        if (known === undefined) this.committedTerm[st.commit] = commitTerm;
        else check(known === commitTerm, () => `node ${node.id}: committed entry ${st.commit} has term ${commitTerm}, elsewhere ${known}`);
      }
      // a leadership whose term is not durable yet has had no effect (nothing leaves before it is persisted)
      // and vanishes if the node crashes now: count leaders from the moment their term is on disk
      if (st.role === 'leader' && node.disk.hardStateNow().term === st.term) {
        const other = this.leaderOfTerm.get(st.term);
        if (other === undefined) this.leaderOfTerm.set(st.term, node.id);
        else check(other === node.id, () => `election safety: ${other} and ${node.id} both lead term ${st.term}`);
        if (this.leaderChecked.get(node.id) !== st.term) {
          this.leaderChecked.set(node.id, st.term);
          this.checkLeaderCompleteness(node, st.term);
        }
        if (st.commit > this.highestCommit) this.checkQuorumDurable(nodes, node, st.commit, st.voters);
      }
      if (st.commit > this.highestCommit && commitTerm !== undefined) this.highestCommit = st.commit;
      if (commitTerm !== undefined && st.commit > (this.commitSeenInTerm[st.term] ?? 0)) this.commitSeenInTerm[st.term] = st.commit;
    }
  }

  /**
   * Leader completeness: a leader of term T holds every entry committed in an earlier term. A commit seen by
   * a node in term t happened in a term <= t, so check the highest commit seen in terms < T (it implies the
   * rest by log matching). A leader of an older term may still win late, with delayed votes: not checked.
   */
  private checkLeaderCompleteness(node: LiveView, term: number): void {
    let index = 0;
    for (let t = 0; t < term && t < this.commitSeenInTerm.length; t++) index = Math.max(index, this.commitSeenInTerm[t] ?? 0);
    const expected = this.committedTerm[index];
    if (index === 0 || expected === undefined) return;
    const st = node.raft.status();
    if (index < st.firstIndex - 1) return; // compacted into its snapshot: committed there too
    const actual = node.raft.termAt(index);
    check(actual === expected, () => `leader completeness: leader ${node.id} of term ${term} lacks committed entry ${index} (has term ${actual}, want ${expected})`);
  }

  /** A leader's commit index is durable on a quorum of its voters. */
  private checkQuorumDurable(nodes: readonly LiveView[], leader: LiveView, commit: number, voters: readonly NodeId[]): void {
    const term = leader.raft.termAt(commit);
    let durableOn = 0;
    for (const id of voters) {
      const node = nodes.find((n) => n.id === id) ?? this.allDisks.get(id);
      if (node === undefined) continue;
      const disk = node.disk;
      if (disk.firstIndex() - 1 >= commit || (disk.lastIndex() >= commit && disk.term(commit) === term)) durableOn++;
    }
    check(durableOn >= Math.floor(voters.length / 2) + 1, () => `leader ${leader.id} committed ${commit} but it is durable on only ${durableOn} of ${voters.length} voters`);
  }

  /** Every node's disk, including crashed ones (set by the simulator). */
  allDisks = new Map<NodeId, { disk: MemoryStorage }>();
}
