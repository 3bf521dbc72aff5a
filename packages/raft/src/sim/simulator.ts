import { ProposalDroppedError, InvalidConfChangeError } from '../errors.js';
import { MemoryStorage } from '../memory-storage.js';
import { RaftNode } from '../raft.js';
import { SeededRandom } from '../random.js';
import type { Message, NodeId, Ready } from '../types.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { SimNetwork, type NetworkFaults } from './network.js';
import { HashChainStateMachine } from './state-machine.js';

export interface SimOptions {
  readonly seed: number;
  /** Ticks of chaos (faults, crashes, membership changes) before healing. */
  readonly steps: number;
  /** After healing, a leader must commit a new proposal within this many ticks. */
  readonly livenessBoundTicks?: number;
  /** Events kept for the failure trace. */
  readonly traceSize?: number;
}

export interface SimResult {
  readonly seed: number;
  readonly steps: number;
  readonly ok: boolean;
  readonly error?: string;
  /** Last events before the failure, oldest first. */
  readonly trace: string[];
  readonly stats: SimStats;
}

export interface SimStats {
  ticks: number;
  elections: number;
  committed: number;
  proposalsAcked: number;
  crashes: number;
  snapshotsSent: number;
  confChanges: number;
  transfers: number;
  messagesDelivered: number;
  messagesDropped: number;
  maxTerm: number;
}

const MAX_NODES = 9;
const MAX_ROUNDS_PER_TICK = 64;

interface SimNode {
  readonly id: NodeId;
  /** What survives a crash: the host's synced storage. */
  readonly disk: MemoryStorage;
  /** Voters this node bootstraps with if its disk is empty ([] for nodes that join later). */
  readonly bootstrapVoters: readonly NodeId[];
  raft: RaftNode | null;
  sm: HashChainStateMachine;
  /** Permanently stopped (removed from the cluster during the liveness phase). */
  retired: boolean;
  /** Readies handled in this node's life. */
  readies: number;
}

/** Per-seed knobs, all drawn from the seed. */
interface Knobs {
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxInflightMsgs: number;
  maxSizePerMsgBytes: number;
  maxUncommittedEntriesBytes: number;
  faults: NetworkFaults;
  proposeProbability: number;
  crashProbability: number;
  crashInReadyProbability: number;
  restartProbability: number;
  partitionProbability: number;
  healProbability: number;
  confChangeProbability: number;
  transferProbability: number;
  snapshotProbability: number;
  clockSkewProbability: number;
  /** A host skips a round (slow fsync): more messages are stepped between two Readies. */
  slowDiskProbability: number;
}

class TraceRing {
  private readonly items: (() => string)[] = [];
  private next = 0;
  constructor(private readonly size: number) {}
  add(now: number, item: () => string): void {
    const f = (): string => `t${now} ${item()}`;
    if (this.items.length < this.size) this.items.push(f);
    else this.items[this.next] = f;
    this.next = (this.next + 1) % this.size;
  }
  lines(): string[] {
    const ordered = this.items.length < this.size ? this.items : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
    return ordered.map((f) => f());
  }
}

/**
 * One deterministic run: a cluster of RaftNodes driven by host loops over a faulty simulated network and
 * crashing disks, all randomness from `seed`. Chaos for `steps` ticks, then heal and require liveness.
 */
export class Simulation {
  private readonly rng: SeededRandom;
  private readonly knobs: Knobs;
  private readonly network: SimNetwork;
  private readonly checker = new InvariantChecker();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly trace: TraceRing;
  private now = 0;
  private nextValue = 1;
  private nextNodeId: NodeId;
  /** value -> proposer, for acknowledgements. */
  private readonly proposals = new Map<number, NodeId>();
  private readonly acked: { index: number; term: number }[] = [];
  readonly stats: SimStats = {
    ticks: 0,
    elections: 0,
    committed: 0,
    proposalsAcked: 0,
    crashes: 0,
    snapshotsSent: 0,
    confChanges: 0,
    transfers: 0,
    messagesDelivered: 0,
    messagesDropped: 0,
    maxTerm: 0,
  };

  constructor(private readonly options: SimOptions) {
    this.rng = new SeededRandom(options.seed);
    this.trace = new TraceRing(options.traceSize ?? 200);
    const r = this.rng;
    const chaos = r.next(); // some seeds calm, some brutal
    this.knobs = {
      electionTicks: 10,
      heartbeatTicks: 1 + r.int(3),
      preVote: r.chance(0.7),
      checkQuorum: r.chance(0.7),
      maxInflightMsgs: 0,
      maxSizePerMsgBytes: 0,
      // flow control: a leader refuses proposals beyond ~30..250 uncommitted entries
      maxUncommittedEntriesBytes: 1000 + r.int(7000),
      faults: {
        dropProbability: chaos * 0.2 * r.next(),
        duplicateProbability: 0.1 * r.next(),
        delayProbability: r.next(),
        maxDelayTicks: r.int(6),
        reorderProbability: r.chance(0.5) ? 0.3 * r.next() : 0.01,
      },
      proposeProbability: 0.1 + 0.5 * r.next(),
      crashProbability: chaos * 0.02,
      crashInReadyProbability: chaos * 0.002,
      restartProbability: 0.05 + 0.1 * r.next(),
      partitionProbability: chaos * 0.01,
      healProbability: 0.01 + 0.03 * r.next(),
      confChangeProbability: 0.01 * r.next(),
      transferProbability: 0.01 * r.next(),
      snapshotProbability: 0.05 * r.next(),
      clockSkewProbability: 0.1 * r.next(),
      slowDiskProbability: r.chance(0.5) ? 0.5 * r.next() : 0,
    };
    // sometimes one entry per append: a new leader's old entries then travel without its own (Figure 8);
    // with a window of a few appends so catching up stays possible within the liveness bound
    const oneEntryPerAppend = r.chance(0.25);
    this.knobs.maxSizePerMsgBytes = oneEntryPerAppend ? 1 : 100 + r.int(1000);
    this.knobs.maxInflightMsgs = oneEntryPerAppend ? 4 + r.int(5) : 1 + r.int(8);
    this.network = new SimNetwork(new SeededRandom(r.int(0x7fffffff)), this.knobs.faults);
    const size = r.pick([1, 3, 3, 3, 5, 5]);
    const voters = Array.from({ length: size }, (_, i) => i + 1);
    this.nextNodeId = size + 1;
    for (const id of voters) this.addNode(id, voters);
  }

  run(): SimResult {
    try {
      for (let i = 0; i < this.options.steps; i++) this.step(true);
      this.checkLiveness();
      this.finishStats();
      return { seed: this.options.seed, steps: this.options.steps, ok: true, trace: [], stats: this.stats };
    } catch (err) {
      this.finishStats();
      const error = err instanceof InvariantViolation ? `${err.message}` : `${(err as Error).name}: ${(err as Error).message}\n${(err as Error).stack ?? ''}`;
      return { seed: this.options.seed, steps: this.options.steps, ok: false, error: `tick ${this.now}: ${error}`, trace: this.trace.lines(), stats: this.stats };
    }
  }

  // ---- one tick -----------------------------------------------------------------------------------------

  private step(chaos: boolean): void {
    this.now++;
    this.stats.ticks++;
    if (chaos) this.randomEvents();
    else if (this.rng.chance(this.knobs.snapshotProbability)) {
      // hosts keep taking snapshots after healing: routine work, not a fault
      const live = this.liveNodes();
      if (live.length > 0) this.snapshot(this.rng.pick(live));
    }
    for (const node of this.rng.shuffle([...this.liveNodes()])) {
      const raft = node.raft as RaftNode;
      if (this.rng.chance(this.knobs.clockSkewProbability)) continue; // a slow clock misses a tick
      raft.tick();
      if (this.rng.chance(this.knobs.clockSkewProbability)) raft.tick(); // a fast one gets two
    }
    for (let round = 0; round < MAX_ROUNDS_PER_TICK; round++) {
      for (const node of this.rng.shuffle([...this.liveNodes()])) {
        if (chaos && this.rng.chance(this.knobs.slowDiskProbability)) continue;
        this.runHost(node, chaos);
      }
      const due = this.network.takeDue(this.now);
      if (due.length === 0) break;
      for (const m of due) {
        const node = this.nodes.get(m.to);
        if (node === undefined || node.raft === null) continue;
        this.trace.add(this.now, () => `deliver ${describe(m)}`);
        node.raft.step(m);
      }
    }
    this.checker.afterStep(this.liveViews());
  }

  /** The host loop: persist (maybe crash part-way), send, apply, advance. */
  private runHost(node: SimNode, chaos: boolean): void {
    for (let guard = 0; guard < 100; guard++) {
      const raft = node.raft;
      if (raft === null) return;
      const ready = raft.readyIfAny();
      if (ready === null) return;
      const view = { id: node.id, raft, disk: node.disk };
      if (ready.softState !== undefined) {
        const ss = ready.softState;
        if (ss.role === 'leader') this.stats.elections++;
        const term = raft.status().term;
        this.trace.add(this.now, () => `n${node.id} is ${ss.role} (leader ${ss.leaderId}) term ${term}`);
      }
      // crashes inside the first Ready of a node's life (bootstrap) are rare by chance, so make them likelier
      const crashChance = node.readies++ === 0 ? 0.1 : this.knobs.crashInReadyProbability;
      const crashAt = chaos && this.rng.chance(crashChance) ? 1 + this.rng.int(4) : 0;
      if (crashAt === 1) return this.crash(node, 'before persisting');
      if (ready.snapshot !== undefined) node.disk.applySnapshot(ready.snapshot);
      if (ready.entries.length > 0) {
        const entries = crashAt === 2 ? ready.entries.slice(0, this.rng.int(ready.entries.length)) : ready.entries;
        if (entries.length > 0) {
          this.checker.onPersistEntries(view, entries);
          node.disk.append(entries);
        }
        if (crashAt === 2) return this.crash(node, `after persisting ${entries.length}/${ready.entries.length} entries`);
      }
      if (ready.hardState !== undefined) {
        this.checker.onPersistHardState(view, ready.hardState);
        node.disk.setHardState(ready.hardState);
      }
      const sendCount = crashAt === 3 ? this.rng.int(ready.messages.length + 1) : ready.messages.length;
      for (let i = 0; i < sendCount; i++) {
        const m = ready.messages[i] as Message;
        this.checker.onSend(view, m);
        if (m.type === 'snapshot') this.stats.snapshotsSent++;
        this.network.send(m, this.now);
      }
      if (crashAt === 3) return this.crash(node, `after sending ${sendCount}/${ready.messages.length} messages`);
      this.apply(node, view, ready);
      if (crashAt === 4) return this.crash(node, 'after applying, before advance');
      raft.advance(ready);
    }
    throw new Error(`node ${node.id}: Ready loop did not settle`);
  }

  private apply(node: SimNode, view: { id: NodeId; raft: RaftNode; disk: MemoryStorage }, ready: Ready): void {
    if (ready.snapshot !== undefined) {
      const snap = ready.snapshot;
      node.sm = HashChainStateMachine.decode(snap.data);
      this.trace.add(this.now, () => `n${node.id} installs snapshot at ${snap.index} (term ${snap.term})`);
      if (node.sm.index > 0) this.checker.onApplied(view, node.sm.index, node.sm.hash);
    }
    for (const e of ready.committedEntries) {
      node.sm.apply(e);
      this.checker.onApplied(view, e.index, node.sm.hash);
      if (e.type === 'normal' && e.data.byteLength === 8) {
        const value = new DataView(e.data.buffer, e.data.byteOffset, 8).getFloat64(0);
        if (this.proposals.get(value) === node.id) {
          this.proposals.delete(value);
          this.acked.push({ index: e.index, term: e.term });
          this.stats.proposalsAcked++;
        }
      }
    }
    const last = ready.committedEntries[ready.committedEntries.length - 1];
    if (last !== undefined) this.stats.committed = Math.max(this.stats.committed, last.index);
  }

  // ---- faults and workload ------------------------------------------------------------------------------

  private randomEvents(): void {
    const r = this.rng;
    const k = this.knobs;
    this.proposeSometimes();
    if (r.chance(k.crashProbability)) {
      // leaders crash more often: unreplicated entries of short-lived leaders are what log repair must handle
      const leader = this.leader();
      const live = this.liveNodes();
      if (leader !== undefined && r.chance(0.5)) this.crash(leader, 'leader crash');
      else if (live.length > 0) this.crash(r.pick(live), 'random crash');
    }
    if (r.chance(k.partitionProbability)) {
      const leader = this.leader();
      if (leader !== undefined) {
        for (const other of this.nodes.keys()) {
          if (other === leader.id) continue;
          this.network.block(leader.id, other);
          this.network.block(other, leader.id);
        }
        this.trace.add(this.now, () => `leader n${leader.id} isolated`);
      }
    }
    for (const node of this.nodes.values()) {
      if (node.raft === null && !node.retired && r.chance(k.restartProbability)) this.restart(node);
    }
    if (r.chance(k.partitionProbability)) this.partition();
    if (r.chance(k.healProbability)) {
      this.network.heal();
      this.trace.add(this.now, () => `partitions healed`);
    }
    if (r.chance(k.confChangeProbability)) this.changeMembership();
    if (r.chance(k.transferProbability)) this.transfer();
    if (r.chance(k.snapshotProbability)) {
      const live = this.liveNodes();
      if (live.length > 0) this.snapshot(r.pick(live));
    }
  }

  private proposeSometimes(): void {
    if (!this.rng.chance(this.knobs.proposeProbability)) return;
    const live = this.liveNodes();
    if (live.length === 0) return;
    const leaders = live.filter((n) => (n.raft as RaftNode).status().role === 'leader');
    const node = leaders.length > 0 && this.rng.chance(0.9) ? this.rng.pick(leaders) : this.rng.pick(live);
    const value = this.nextValue++;
    const data = new Uint8Array(8);
    new DataView(data.buffer).setFloat64(0, value);
    try {
      const pos = (node.raft as RaftNode).propose(data);
      this.proposals.set(value, node.id);
      this.trace.add(this.now, () => `n${node.id} proposes v${value} at ${pos.index} term ${pos.term}`);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
  }

  private crash(node: SimNode, why: string): void {
    node.raft = null;
    this.stats.crashes++;
    const last = node.disk.lastIndex();
    const term = node.disk.hardStateNow().term;
    this.trace.add(this.now, () => `n${node.id} CRASH (${why}); disk last ${last} term ${term}`);
  }

  private restart(node: SimNode): void {
    const snap = node.disk.snapshot();
    node.sm = HashChainStateMachine.decode(snap.data);
    node.raft = this.newRaft(node);
    this.checker.onStart(node.id);
    const st = node.raft.status();
    this.trace.add(this.now, () => `n${node.id} RESTART term ${st.term} commit ${st.commit} last ${st.lastIndex} voters [${st.voters}]`);
  }

  private newRaft(node: SimNode): RaftNode {
    return new RaftNode({
      id: node.id,
      storage: node.disk,
      random: new SeededRandom(this.rng.int(0x7fffffff)),
      voters: node.bootstrapVoters,
      electionTicks: this.knobs.electionTicks,
      heartbeatTicks: this.knobs.heartbeatTicks,
      preVote: this.knobs.preVote,
      checkQuorum: this.knobs.checkQuorum,
      maxInflightMsgs: this.knobs.maxInflightMsgs,
      maxSizePerMsgBytes: this.knobs.maxSizePerMsgBytes,
      maxUncommittedEntriesBytes: this.knobs.maxUncommittedEntriesBytes,
    });
  }

  private addNode(id: NodeId, bootstrapVoters: readonly NodeId[]): SimNode {
    const node: SimNode = { id, disk: new MemoryStorage(), bootstrapVoters, raft: null, sm: new HashChainStateMachine(), retired: false, readies: 0 };
    this.nodes.set(id, node);
    this.checker.allDisks.set(id, node);
    node.raft = this.newRaft(node);
    this.checker.onStart(id);
    return node;
  }

  private partition(): void {
    const ids = [...this.nodes.keys()];
    const r = this.rng;
    const kind = r.next();
    if (kind < 0.2) {
      // flaky links: heavy loss on some directed links
      const flaky: string[] = [];
      for (const a of ids) {
        for (const b of ids) {
          if (a === b || !r.chance(0.3)) continue;
          const loss = 0.3 + 0.6 * r.next();
          this.network.setLinkLoss(a, b, loss);
          flaky.push(`${a}->${b}:${loss.toFixed(2)}`);
        }
      }
      this.trace.add(this.now, () => `flaky links ${flaky.join(' ')}`);
    } else if (kind < 0.6) {
      // symmetric: split in two
      const side = new Set(ids.filter(() => r.chance(0.5)));
      for (const a of ids) for (const b of ids) if (a !== b && side.has(a) !== side.has(b)) this.network.block(a, b);
      this.trace.add(this.now, () => `partition {${[...side]}} | rest`);
    } else {
      // one-way: some directed links fail
      for (const a of ids) for (const b of ids) if (a !== b && r.chance(0.25)) this.network.block(a, b);
      const links = this.network.blockedLinks().join(' ');
      this.trace.add(this.now, () => `one-way partition: ${links}`);
    }
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const node of this.liveNodes()) {
      const st = (node.raft as RaftNode).status();
      if (st.role === 'leader' && st.term > bestTerm) {
        best = node;
        bestTerm = st.term;
      }
    }
    return best;
  }

  private changeMembership(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const raft = leader.raft as RaftNode;
    const voters = raft.status().voters;
    const add = voters.length < 2 || (voters.length < 5 && this.nodes.size < MAX_NODES && this.rng.chance(0.5));
    try {
      if (add) {
        const id = this.nextNodeId;
        const pos = raft.proposeConfChange({ type: 'addVoter', nodeId: id });
        this.nextNodeId++;
        this.addNode(id, []);
        this.stats.confChanges++;
        this.trace.add(this.now, () => `n${leader.id} proposes addVoter ${id} at ${pos.index}`);
      } else {
        const id = this.rng.pick(voters);
        const pos = raft.proposeConfChange({ type: 'removeVoter', nodeId: id });
        this.stats.confChanges++;
        this.trace.add(this.now, () => `n${leader.id} proposes removeVoter ${id} at ${pos.index}`);
      }
    } catch (err) {
      if (!(err instanceof ProposalDroppedError) && !(err instanceof InvalidConfChangeError)) throw err;
    }
  }

  private transfer(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const raft = leader.raft as RaftNode;
    const others = raft.status().voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    const to = this.rng.pick(others);
    if (raft.transferLeadership(to)) {
      this.stats.transfers++;
      this.trace.add(this.now, () => `n${leader.id} transfers leadership to ${to}`);
    }
  }

  /** The host snapshots its state machine at the applied index and compacts, keeping a few entries. */
  private snapshot(node: SimNode): void {
    const raft = node.raft as RaftNode;
    const applied = raft.status().applied;
    if (applied !== node.sm.index || applied <= node.disk.snapshot().index) return;
    node.disk.createSnapshot(applied, raft.appliedConfState(), node.sm.encode());
    const keep = this.rng.int(8);
    node.disk.compact(Math.max(0, applied - keep));
    this.trace.add(this.now, () => `n${node.id} snapshot at ${applied}, compacted to ${Math.max(0, applied - keep)}`);
  }

  // ---- liveness -----------------------------------------------------------------------------------------

  /**
   * Heal everything: no partitions or drops, crashed members restarted, nodes outside the membership
   * retired. A leader must then commit a fresh proposal within the bound.
   */
  private checkLiveness(): void {
    this.network.heal();
    // a healed network loses and duplicates nothing and delays little (it still reorders)
    this.network.faults = { ...this.network.faults, dropProbability: 0, duplicateProbability: 0, maxDelayTicks: Math.min(2, this.network.faults.maxDelayTicks) };
    this.trace.add(this.now, () => `HEAL: liveness phase`);
    // one entry per append ships a long uncommitted backlog slowly: allow it more time
    const bound = this.options.livenessBoundTicks ?? (this.knobs.maxSizePerMsgBytes === 1 ? 150 : 60) * this.knobs.electionTicks;
    let marker: { node: SimNode; index: number; term: number } | null = null;
    for (let t = 0; t < bound; t++) {
      this.reconcileMembership();
      this.step(false);
      if (marker !== null) {
        const st = (marker.node.raft as RaftNode | null)?.status();
        if (st !== undefined && st.applied >= marker.index && marker.node.raft?.termAt(marker.index) === marker.term) {
          this.checkAckedDurable(marker.node);
          return;
        }
      }
      const leader = this.leader();
      if (leader !== undefined && (marker === null || marker.node !== leader || (leader.raft as RaftNode).status().term !== marker.term)) {
        try {
          const data = new Uint8Array(8);
          new DataView(data.buffer).setFloat64(0, -t - 1);
          const pos = (leader.raft as RaftNode).propose(data);
          marker = { node: leader, index: pos.index, term: pos.term };
          this.trace.add(this.now, () => `liveness marker at ${pos.index} via n${leader.id}`);
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err;
        }
      }
    }
    const states = [...this.nodes.values()].map((n) => {
      const st = n.raft?.status();
      return st === undefined ? `n${n.id}: down${n.retired ? ' (retired)' : ''}` : `n${n.id}: ${st.role} term ${st.term} commit ${st.commit} last ${st.lastIndex} voters [${st.voters}]`;
    });
    throw new InvariantViolation(`liveness: no proposal committed within ${bound} ticks after healing\n  ${states.join('\n  ')}`);
  }

  /**
   * Restart crashed members; retire nodes outside the leader's membership (an operator would shut them
   * down; a removed node that never learnt of its removal disrupts elections when pre-vote and
   * check-quorum are off) once that membership is committed, or if no other node counts on them.
   */
  private reconcileMembership(): void {
    const leader = this.leader();
    const st = leader?.raft?.status();
    const neededBy = (id: NodeId): boolean =>
      [...this.nodes.values()].some((n) => n.id !== id && n.raft !== null && n.raft.status().voters.includes(id));
    for (const node of this.nodes.values()) {
      if (node.retired) continue;
      if (st !== undefined && !st.voters.includes(node.id) && node !== leader && (st.commit >= st.configIndex || !neededBy(node.id))) {
        node.raft = null;
        node.retired = true;
        this.trace.add(this.now, () => `n${node.id} retired (not in [${st.voters}])`);
      } else if (node.raft === null) this.restart(node);
    }
  }

  /** Every acknowledged proposal is still in the log of the leader that committed the marker. */
  private checkAckedDurable(leader: SimNode): void {
    const raft = leader.raft as RaftNode;
    const first = raft.status().firstIndex;
    for (const a of this.acked) {
      if (a.index < first - 1) continue;
      const term = raft.termAt(a.index);
      if (term !== a.term) throw new InvariantViolation(`acknowledged proposal at ${a.index} (term ${a.term}) lost: leader has term ${term}`);
    }
  }

  private liveNodes(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.raft !== null) out.push(n);
    return out;
  }

  private liveViews(): { id: NodeId; raft: RaftNode; disk: MemoryStorage }[] {
    return this.liveNodes().map((n) => ({ id: n.id, raft: n.raft as RaftNode, disk: n.disk }));
  }

  private finishStats(): void {
    this.stats.messagesDelivered = this.network.delivered;
    this.stats.messagesDropped = this.network.dropped;
    for (const n of this.nodes.values()) this.stats.maxTerm = Math.max(this.stats.maxTerm, n.disk.hardStateNow().term);
  }
}

function describe(m: Message): string {
  const base = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case 'append':
      return `${base} prev (${m.prevLogIndex},${m.prevLogTerm}) n=${m.entries.length} commit ${m.commit}`;
    case 'appendResp':
      return `${base}${m.reject ? ` REJECT ${m.index} hint (${m.conflictTerm},${m.conflictIndex})` : ` ok ${m.index}`}`;
    case 'heartbeat':
      return `${base} commit ${m.commit}`;
    case 'preVote':
    case 'vote':
      return `${base} last (${m.lastLogIndex},${m.lastLogTerm})${m.leaderTransfer ? ' transfer' : ''}`;
    case 'preVoteResp':
    case 'voteResp':
      return `${base}${m.reject ? ' REJECT' : ' grant'}`;
    case 'snapshot':
      return `${base} snap (${m.snapshot.index},${m.snapshot.term}) voters [${m.snapshot.confState.voters}]`;
    default:
      return base;
  }
}

export function runSimulation(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

export function formatFailure(result: SimResult): string {
  return [
    `raft simulation FAILED for seed ${result.seed}: ${result.error}`,
    `reproduce: RAFT_SIM_SEED=${result.seed} RAFT_SIM_STEPS=${result.steps} npx vitest run --config test/vitest.config.ts packages/raft/src/sim.test.ts`,
    `last ${result.trace.length} events:`,
    ...result.trace.map((l) => `  ${l}`),
  ].join('\n');
}
