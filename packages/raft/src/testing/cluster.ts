import { MemoryStorage } from '../memory-storage.js';
import { RaftNode } from '../raft.js';
import { SeededRandom } from '../random.js';
import type { RaftConfig } from '../config.js';
import type { Entry, Message, MessageType, NodeId } from '../types.js';

export interface TestNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  raft: RaftNode;
  applied: Entry[];
  down: boolean;
}

type Options = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random' | 'voters'>>;

/**
 * Unit-test harness: nodes with MemoryStorage connected by an instant, in-order network. Every host loop
 * persists, sends, applies and advances. Links can be cut; a filter can drop chosen messages.
 */
export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  private queue: Message[] = [];
  private readonly cut = new Set<string>();
  /** Every message delivered, for assertions. */
  readonly delivered: Message[] = [];
  dropIf: ((m: Message) => boolean) | null = null;

  constructor(
    voters: readonly NodeId[],
    private readonly options: Options = {},
  ) {
    for (const id of voters) this.add(id, voters);
  }

  add(id: NodeId, bootstrapVoters: readonly NodeId[] = []): TestNode {
    const storage = new MemoryStorage();
    const node: TestNode = { id, storage, raft: this.newRaft(id, storage, bootstrapVoters), applied: [], down: false };
    this.nodes.set(id, node);
    this.drain();
    return node;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: NodeId): RaftNode {
    return this.node(id).raft;
  }

  /** Restart from storage, losing everything not persisted. */
  restart(id: NodeId, applied?: number): void {
    const n = this.node(id);
    n.raft = this.newRaft(id, n.storage, [], applied);
    n.applied = [];
    n.down = false;
    this.drain();
  }

  tick(ids: readonly NodeId[] = [...this.nodes.keys()], times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of ids) if (!this.node(id).down) this.raft(id).tick();
      this.drain();
    }
  }

  /** Ticks only `id` until it is leader (others stay quiet, so no competing campaigns). */
  elect(id: NodeId): void {
    for (let i = 0; i < 100 && this.raft(id).status().role !== 'leader'; i++) this.tick([id]);
    if (this.raft(id).status().role !== 'leader') throw new Error(`node ${id} did not become leader`);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  count(type: MessageType, from?: NodeId): number {
    return this.delivered.filter((m) => m.type === type && (from === undefined || m.from === from)).length;
  }

  /** Runs host loops and delivers messages until nothing moves. */
  drain(): void {
    for (let round = 0; round < 10_000; round++) {
      let progressed = false;
      for (const n of this.nodes.values()) {
        if (n.down) continue;
        for (let ready = n.raft.readyIfAny(); ready !== null; ready = n.raft.readyIfAny()) {
          progressed = true;
          if (ready.snapshot !== undefined) n.storage.applySnapshot(ready.snapshot);
          n.storage.append(ready.entries);
          if (ready.hardState !== undefined) n.storage.setHardState(ready.hardState);
          this.queue.push(...ready.messages);
          n.applied.push(...ready.committedEntries);
          n.raft.advance(ready);
        }
      }
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        const to = this.nodes.get(m.to);
        if (to === undefined || to.down || this.cut.has(`${m.from}>${m.to}`) || this.dropIf?.(m) === true) continue;
        progressed = true;
        this.delivered.push(m);
        to.raft.step(m);
      }
      if (!progressed) return;
    }
    throw new Error('cluster did not settle');
  }

  private newRaft(id: NodeId, storage: MemoryStorage, voters: readonly NodeId[], applied?: number): RaftNode {
    return new RaftNode({
      id,
      storage,
      random: new SeededRandom(id * 7919),
      voters,
      electionTicks: 10,
      heartbeatTicks: 1,
      ...(applied !== undefined ? { applied } : {}),
      ...this.options,
    });
  }
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(entry: Entry): string {
  return new TextDecoder().decode(entry.data);
}
