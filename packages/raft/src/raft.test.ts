import { ConfigError } from '@fluxo/common';
import { describe, expect, it } from 'vitest';
import { InvalidConfChangeError, MemoryStorage, ProposalDroppedError, RaftNode, SeededRandom, type Entry } from './index.js';
import { TestCluster, bytes, text } from './testing/cluster.js';

const normalData = (entries: readonly Entry[]): string[] => entries.filter((e) => e.type === 'normal' && e.data.byteLength > 0).map(text);

describe('elections', () => {
  it('a single voter elects itself and commits once its own entry is persisted', () => {
    const c = new TestCluster([1]);
    c.tick([1], 20);
    expect(c.raft(1).status().role).toBe('leader');
    c.raft(1).propose(bytes('a'));
    c.drain();
    expect(normalData(c.node(1).applied)).toEqual(['a']);
  });

  it('elects exactly one leader and replicates to everyone', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(c.raft(2).status().leaderId).toBe(1);
    expect(c.raft(3).status().leaderId).toBe(1);
    c.raft(1).propose(bytes('x'));
    c.drain();
    for (const id of [1, 2, 3]) expect(normalData(c.node(id).applied)).toEqual(['x']);
    // bootstrap entries are the membership, committed and handed to the host like any other entry
    expect(c.node(2).applied.filter((e) => e.type === 'confChange')).toHaveLength(3);
  });

  it('a candidate without a quorum stays in its term and steps down when rejected', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false });
    c.elect(1);
    c.raft(1).propose(bytes('x'));
    c.drain();
    // node 3 missed entries: its campaign is rejected (log not up to date)
    c.isolate(3);
    c.raft(1).propose(bytes('y'));
    c.drain();
    c.heal();
    c.tick([3], 25);
    expect(c.raft(3).status().role).not.toBe('leader');
    expect(c.count('voteResp')).toBeGreaterThan(0);
  });

  it('with pre-vote a partitioned node does not inflate its term', () => {
    const c = new TestCluster([1, 2, 3], { preVote: true });
    c.elect(1);
    const term = c.raft(1).status().term;
    c.isolate(3);
    c.tick([3], 100);
    expect(c.raft(3).status().term).toBe(term);
    expect(c.raft(3).status().role).toBe('preCandidate');
    c.heal();
    c.tick([1, 2, 3], 5);
    expect(c.raft(1).status().role).toBe('leader');
    expect(c.raft(1).status().term).toBe(term);
  });

  it('without pre-vote the rejoining node disrupts the leader with its inflated term', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false });
    c.elect(1);
    const term = c.raft(1).status().term;
    c.isolate(3);
    c.tick([3], 100);
    expect(c.raft(3).status().term).toBeGreaterThan(term + 2);
    c.heal();
    c.tick([1, 2, 3], 40);
    expect(c.raft(1).status().term).toBeGreaterThan(term);
  });

  it('check-quorum: an isolated leader steps down after an election timeout', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true });
    c.elect(1);
    c.isolate(1);
    c.tick([1], 25);
    expect(c.raft(1).status().role).toBe('follower');
    expect(c.raft(1).status().leaderId).toBeNull();
  });

  it('check-quorum lease: followers ignore a higher-term vote request while their leader is alive', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true, preVote: false });
    c.elect(1);
    const term = c.raft(1).status().term;
    const lastIndex = c.raft(2).status().lastIndex;
    c.raft(2).step({ type: 'vote', from: 3, to: 2, term: term + 5, lastLogIndex: lastIndex + 10, lastLogTerm: term + 4, leaderTransfer: false });
    c.drain();
    expect(c.raft(2).status().term).toBe(term);
    expect(c.raft(2).status().leaderId).toBe(1);
  });

  it('answers a stale candidate with its term, so candidates outside its configuration catch up', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false });
    c.elect(1);
    const term = c.raft(1).status().term;
    c.raft(2).step({ type: 'vote', from: 3, to: 2, term: term - 1, lastLogIndex: 100, lastLogTerm: term, leaderTransfer: false });
    const ready = c.raft(2).readyIfAny();
    expect(ready?.messages).toEqual([expect.objectContaining({ type: 'voteResp', to: 3, term, reject: true })]);
  });

  it('durable term and vote survive a restart, so a node never votes twice in a term', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false });
    c.elect(1);
    const st = c.raft(2).status();
    c.restart(2);
    expect(c.raft(2).status()).toMatchObject({ term: st.term, vote: 1, commit: st.commit });
    c.raft(2).step({ type: 'vote', from: 3, to: 2, term: st.term, lastLogIndex: 100, lastLogTerm: st.term, leaderTransfer: false });
    const ready = c.raft(2).readyIfAny();
    expect(ready?.messages).toEqual([expect.objectContaining({ type: 'voteResp', to: 3, reject: true })]);
  });
});

describe('log replication', () => {
  it('fast backtracking skips a follower’s whole conflicting term', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false, maxSizePerMsgBytes: 1 });
    c.elect(1);
    // node 1 leads a term whose 50 entries reach nobody
    c.isolate(1);
    for (let i = 0; i < 50; i++) c.raft(1).propose(bytes(`lost${i}`));
    c.drain();
    // node 2 leads a later term and commits with node 3
    c.elect(2);
    for (let i = 0; i < 5; i++) c.raft(2).propose(bytes(`kept${i}`));
    c.drain();
    c.heal();
    const rejectsBefore = c.delivered.filter((m) => m.type === 'appendResp' && m.reject).length;
    c.tick([2], 3);
    const rejects = c.delivered.filter((m) => m.type === 'appendResp' && m.reject && m.from === 1).length - rejectsBefore;
    expect(c.raft(1).status().role).toBe('follower');
    expect(c.raft(1).status().lastIndex).toBe(c.raft(2).status().lastIndex);
    expect(rejects).toBeLessThanOrEqual(2); // one per term, not one per entry
    expect(normalData(c.node(1).applied)).toEqual(normalData(c.node(2).applied));
    expect(normalData(c.node(1).applied)).toEqual(['kept0', 'kept1', 'kept2', 'kept3', 'kept4']);
  });

  it('never commits an older term’s entry by counting replicas (Figure 8 of the Raft paper)', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false, maxSizePerMsgBytes: 1 });
    c.elect(1); // term 2
    c.isolate(1);
    const { index } = c.raft(1).propose(bytes('old')); // (index, term 2) only on node 1
    c.drain();
    c.heal();
    c.isolate(1);
    c.dropIf = (m) => m.from === 2 && m.type === 'append';
    c.elect(2); // term 3: its no-op at `index` reaches nobody
    c.dropIf = null;
    c.heal();
    c.isolate(2);
    c.restart(1); // a crash ends its term-2 leadership
    // node 1 wins term 4 with node 3's vote and re-replicates (index, term 2), but its own no-op never arrives
    let firstProbe = true;
    c.dropIf = (m) => {
      if (m.type !== 'append' || !m.entries.some((e) => e.term === 4)) return false;
      if (firstProbe && m.to === 3) return (firstProbe = false); // rejected: node 3 lacks prevLogIndex
      return true;
    };
    c.elect(1);
    c.tick([1], 3);
    expect(c.raft(3).termAt(index)).toBe(2);
    expect(c.raft(1).status().commit).toBeLessThan(index); // a majority holds it, yet it is not committed
    c.dropIf = null;
    c.heal();
    c.isolate(1);
    c.restart(2);
    c.elect(2); // term 5: node 3 votes for node 2 (last term 3 > 2) which overwrites index
    c.tick([2], 2);
    expect(c.raft(3).termAt(index)).toBe(3);
    expect(c.raft(3).status().commit).toBeGreaterThanOrEqual(index);
  });

  it('limits entries per message and in-flight appends', () => {
    const c = new TestCluster([1, 2], { maxSizePerMsgBytes: 100, maxInflightMsgs: 2 });
    c.elect(1);
    c.cutLink(2, 1); // no acks: the leader must stop after the in-flight window
    const before = c.count('append', 1);
    for (let i = 0; i < 40; i++) c.raft(1).propose(bytes(`v${i}`));
    c.drain();
    const sent = c.delivered.filter((m) => m.type === 'append').slice(-(c.count('append', 1) - before));
    expect(sent.length).toBeLessThanOrEqual(3);
    for (const m of sent) if (m.type === 'append') expect(m.entries.length).toBeLessThanOrEqual(3);
    c.heal();
    c.tick([1], 3);
    expect(c.raft(2).status().commit).toBe(c.raft(1).status().lastIndex);
  });

  it('proposals to a follower are refused with the leader id', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    try {
      c.raft(2).propose(bytes('x'));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProposalDroppedError);
      expect((err as ProposalDroppedError).reason).toBe('notLeader');
      expect((err as ProposalDroppedError).leaderId).toBe(1);
      expect((err as ProposalDroppedError).code).toBe(6);
    }
  });

  it('refuses proposals beyond the uncommitted byte limit', () => {
    const c = new TestCluster([1, 2, 3], { maxUncommittedEntriesBytes: 1000 });
    c.elect(1);
    c.isolate(1);
    expect(() => {
      for (let i = 0; i < 100; i++) c.raft(1).propose(new Uint8Array(100));
    }).toThrow(ProposalDroppedError);
  });

  it('a restarted node re-delivers committed entries after its snapshot and keeps its log', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    for (const v of ['a', 'b', 'c']) c.raft(1).propose(bytes(v));
    c.drain();
    c.tick([1], 2); // followers learn the commit index
    c.restart(3);
    c.drain();
    expect(normalData(c.node(3).applied)).toEqual(['a', 'b', 'c']);
    // with a durable state machine the host passes applied: nothing is re-delivered
    c.restart(2, c.raft(2).status().commit);
    c.drain();
    expect(c.node(2).applied).toEqual([]);
  });
});

describe('snapshots', () => {
  it('a follower behind the compacted log gets the snapshot, then the rest', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 20; i++) c.raft(1).propose(bytes(`v${i}`));
    c.drain();
    const leader = c.node(1);
    const applied = leader.raft.status().applied;
    leader.storage.createSnapshot(applied, leader.raft.appliedConfState(), bytes(`state@${applied}`));
    leader.storage.compact(applied);
    c.raft(1).propose(bytes('after'));
    c.heal();
    c.tick([1], 3);
    expect(c.count('snapshot', 1)).toBe(1);
    const st3 = c.raft(3).status();
    expect(st3.commit).toBe(c.raft(1).status().commit);
    expect(c.node(3).storage.snapshot().data).toEqual(bytes(`state@${applied}`));
    expect(normalData(c.node(3).applied)).toEqual(['after']);
    expect(c.raft(3).appliedConfState().voters).toEqual([1, 2, 3]);
  });

  it('a lost snapshot is resent after an election timeout', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.raft(1).propose(bytes(`v${i}`));
    c.drain();
    const leader = c.node(1);
    const applied = leader.raft.status().applied;
    leader.storage.createSnapshot(applied, leader.raft.appliedConfState(), bytes('s'));
    leader.storage.compact(applied);
    c.heal();
    c.dropIf = (m) => m.type === 'snapshot';
    c.tick([1], 3);
    c.dropIf = null;
    expect(c.raft(3).status().commit).toBeLessThan(applied);
    c.tick([1], 25);
    expect(c.raft(3).status().commit).toBe(c.raft(1).status().commit);
  });
});

describe('leadership transfer', () => {
  it('hands leadership to a caught-up voter, refusing proposals meanwhile', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    const term = c.raft(1).status().term;
    c.isolate(3);
    c.raft(1).propose(bytes('x'));
    c.drain();
    c.heal();
    c.cutLink(1, 3); // the target is behind: the leader must catch it up first
    expect(c.raft(1).transferLeadership(3)).toBe(true);
    expect(() => c.raft(1).propose(bytes('y'))).toThrow(ProposalDroppedError);
    c.heal();
    c.tick([1], 1);
    expect(c.raft(3).status().role).toBe('leader');
    expect(c.raft(3).status().term).toBe(term + 1);
    expect(c.raft(1).status().leaderId).toBe(3);
  });

  it('gives up after an election timeout if the target never catches up', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: false });
    c.elect(1);
    c.isolate(3);
    c.raft(1).transferLeadership(3);
    c.tick([1], 12);
    expect(c.raft(1).status().leadTransferee).toBeNull();
    c.raft(1).propose(bytes('ok'));
  });
});

describe('membership', () => {
  it('adds a voter that joins empty and catches up', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.raft(1).propose(bytes('before'));
    c.drain();
    c.add(4);
    c.raft(1).proposeConfChange({ type: 'addVoter', nodeId: 4 });
    c.drain();
    c.tick([1], 3);
    expect(c.raft(1).status().voters).toEqual([1, 2, 3, 4]);
    expect(c.raft(4).status().voters).toEqual([1, 2, 3, 4]);
    expect(normalData(c.node(4).applied)).toEqual(['before']);
    // the new voter counts: with 2 and 3 gone, 1 and 4 are not a quorum of 4
    c.node(2).down = true;
    c.node(3).down = true;
    c.raft(1).propose(bytes('blocked'));
    c.tick([1], 3);
    expect(normalData(c.node(4).applied)).toEqual(['before']);
  });

  it('allows one change at a time and rejects invalid ones', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(() => c.raft(1).proposeConfChange({ type: 'addVoter', nodeId: 2 })).toThrow(InvalidConfChangeError);
    expect(() => c.raft(1).proposeConfChange({ type: 'removeVoter', nodeId: 9 })).toThrow(InvalidConfChangeError);
    c.isolate(1);
    c.raft(1).proposeConfChange({ type: 'removeVoter', nodeId: 3 });
    // takes effect on append, before commit
    expect(c.raft(1).status().voters).toEqual([1, 2]);
    try {
      c.raft(1).proposeConfChange({ type: 'removeVoter', nodeId: 2 });
      expect.unreachable();
    } catch (err) {
      expect((err as ProposalDroppedError).reason).toBe('confChangePending');
    }
  });

  it('an uncommitted change is reverted when its entry is overwritten', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false });
    c.elect(1);
    c.isolate(1);
    c.raft(1).proposeConfChange({ type: 'removeVoter', nodeId: 3 });
    c.drain();
    c.elect(2);
    c.raft(2).propose(bytes('x'));
    c.heal();
    c.tick([2], 3);
    expect(c.raft(1).status().voters).toEqual([1, 2, 3]);
    expect(c.raft(1).status().leaderId).toBe(2);
  });

  it('a leader that removes itself steps down once the change commits and another takes over', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.raft(1).proposeConfChange({ type: 'removeVoter', nodeId: 1 });
    c.drain();
    c.tick([1], 2);
    c.tick([2, 3], 2);
    const st1 = c.raft(1).status();
    expect(st1.role).toBe('follower');
    expect(st1.voters).toEqual([2, 3]);
    const leaders = [2, 3].filter((id) => c.raft(id).status().role === 'leader');
    expect(leaders).toHaveLength(1);
    const leader = leaders[0] as number;
    c.raft(leader).propose(bytes('after'));
    c.drain();
    c.tick([leader], 2);
    expect(normalData(c.node(leader === 2 ? 3 : 2).applied)).toEqual(['after']);
    // the removed node never campaigns again
    c.tick([1], 50);
    expect(c.raft(1).status().role).toBe('follower');
  });

  it('restarts with the membership from its snapshot plus later conf entries', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.add(4);
    c.raft(1).proposeConfChange({ type: 'addVoter', nodeId: 4 });
    c.drain();
    c.tick([1], 2);
    const n2 = c.node(2);
    const applied = n2.raft.status().applied;
    n2.storage.createSnapshot(applied - 1, { voters: [1, 2, 3] }, bytes('s'));
    n2.storage.compact(applied - 1);
    c.restart(2);
    expect(c.raft(2).status().voters).toEqual([1, 2, 3, 4]);
  });
});

describe('regressions found by the simulator', () => {
  const node = (id: number, storage = new MemoryStorage(), voters: number[] = [1, 2, 3]) =>
    new RaftNode({ id, storage, random: new SeededRandom(id), voters, electionTicks: 10, heartbeatTicks: 1, preVote: false, checkQuorum: false });
  const persist = (r: RaftNode, storage: MemoryStorage) => {
    const ready = r.readyIfAny();
    if (ready === null) return null;
    if (ready.snapshot) storage.applySnapshot(ready.snapshot);
    storage.append(ready.entries);
    if (ready.hardState) storage.setHardState(ready.hardState);
    r.advance(ready);
    return ready;
  };
  const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: bytes(`${index}@${term}`) });

  it('a crash during bootstrap that persisted only some entries bootstraps again, never from a partial membership', () => {
    const storage = new MemoryStorage();
    const first = node(1, storage);
    const ready = first.readyIfAny();
    storage.append(ready!.entries.slice(0, 1)); // crash: one of three entries, no hard state
    const restarted = node(1, storage);
    expect(restarted.status().voters).toEqual([1, 2, 3]);
    for (let i = 0; i < 30; i++) restarted.tick();
    expect(restarted.status().role).not.toBe('leader');
  });

  it('does not ack entries that a newer leader replaced before they were persisted', () => {
    const storage = new MemoryStorage();
    const r = node(3, storage);
    persist(r, storage); // bootstrap: entries 1..3, term 1
    r.step({ type: 'append', from: 1, to: 3, term: 2, prevLogIndex: 3, prevLogTerm: 1, entries: [entry(4, 2), entry(5, 2)], commit: 3 });
    r.step({ type: 'append', from: 2, to: 3, term: 3, prevLogIndex: 3, prevLogTerm: 1, entries: [entry(4, 3)], commit: 3 });
    const ready = persist(r, storage)!;
    expect(ready.entries.map((e) => [e.index, e.term])).toEqual([[4, 3]]);
    const acks = ready.messages.filter((m) => m.type === 'appendResp' && !m.reject);
    expect(acks).toEqual([expect.objectContaining({ to: 2, index: 4, term: 3 })]);
  });

  it('a node whose log ends in its own uncommitted removal can still win and finish the change', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false });
    c.elect(1);
    c.cutLink(1, 3);
    c.raft(1).proposeConfChange({ type: 'removeVoter', nodeId: 1 }); // reaches node 2 only; not committed
    c.drain();
    c.node(1).down = true;
    expect(c.raft(2).status().voters).toEqual([2, 3]);
    c.node(1).down = false;
    c.restart(1);
    c.heal();
    // node 1 is not in its latest configuration but was in the committed one: it campaigns, wins with the
    // votes of the new configuration, commits its removal and hands over, all within the same exchange
    const term = c.raft(1).status().term;
    c.tick([1], 25);
    expect(c.count('vote', 1)).toBeGreaterThan(0);
    expect(c.raft(3).status().voters).toEqual([2, 3]);
    c.tick([2, 3], 30);
    expect(c.raft(2).status().term).toBeGreaterThan(term);
    expect(c.raft(1).status().role).toBe('follower');
    expect(c.raft(2).status().commit).toBeGreaterThanOrEqual(c.raft(2).status().configIndex);
    expect([2, 3].filter((id) => c.raft(id).status().role === 'leader')).toHaveLength(1);
  });
});

describe('configuration and storage', () => {
  it('rejects bad configuration with a ConfigError', () => {
    const base = { id: 1, storage: new MemoryStorage(), random: new SeededRandom(1), electionTicks: 10, heartbeatTicks: 1 };
    expect(() => new RaftNode({ ...base, heartbeatTicks: 10 })).toThrow(ConfigError);
    expect(() => new RaftNode({ ...base, electionTicks: 0 })).toThrow(ConfigError);
    expect(() => new RaftNode({ ...base, maxInflightMsgs: -1 })).toThrow(ConfigError);
  });

  it('readyIfAny requires advance of the previous Ready', () => {
    const r = new RaftNode({ id: 1, storage: new MemoryStorage(), random: new SeededRandom(1), voters: [1], electionTicks: 10, heartbeatTicks: 1 });
    const ready = r.readyIfAny();
    expect(ready?.hardState).toEqual({ term: 1, vote: null, commit: 1 });
    expect(ready?.entries).toHaveLength(1);
    expect(() => r.readyIfAny()).toThrow(/advance/);
    r.advance(ready!);
    expect(r.hasReady()).toBe(false);
  });

  it('MemoryStorage truncates conflicting suffixes, compacts and guards ranges', () => {
    const s = new MemoryStorage();
    const e = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: bytes(`${index}`) });
    s.append([e(1, 1), e(2, 1), e(3, 1)]);
    s.append([e(2, 2)]);
    expect(s.lastIndex()).toBe(2);
    expect(s.term(2)).toBe(2);
    expect(() => s.append([e(5, 2)])).toThrow(/gap/);
    expect(() => s.compact(2)).toThrow(/snapshot/);
    s.createSnapshot(2, { voters: [1] }, bytes('x'));
    s.compact(2);
    expect(s.firstIndex()).toBe(3);
    expect(s.term(2)).toBe(2);
    expect(() => s.term(1)).toThrow(/compacted/);
    expect(() => s.entries(2, 3, 100)).toThrow(/compacted/);
    s.append([e(3, 2), e(4, 2)]);
    expect(s.entries(3, 5, 1).map((x) => x.index)).toEqual([3]);
    expect(s.entries(3, 5, 1000).map((x) => x.index)).toEqual([3, 4]);
    expect(s.initialState().confIndex).toBe(2);
  });
});
