import type { SeededRandom } from '../random.js';
import type { Message, NodeId } from '../types.js';

/** Per-run fault model of the simulated network. */
export interface NetworkFaults {
  dropProbability: number;
  duplicateProbability: number;
  /** Extra delay in ticks, uniform in [1, maxDelayTicks], applied with delayProbability (else same tick). */
  delayProbability: number;
  maxDelayTicks: number;
  /** A link is FIFO (like a stream per peer) except for messages that overtake with this probability. */
  reorderProbability: number;
}

interface InFlight {
  /** Delivery time in ticks; the fraction orders deliveries within a tick. */
  readonly deliverAt: number;
  readonly msg: Message;
}

/**
 * Simulated network: drops (globally and per flaky link), duplicates, delays, reordering, and partitions
 * given as blocked directed links (a symmetric partition blocks both directions, a one-way partition one).
 */
export class SimNetwork {
  private inFlight: InFlight[] = [];
  private readonly blocked = new Set<number>();
  /** Per-link loss overriding faults.dropProbability (a flaky link). */
  private readonly linkLoss = new Map<number, number>();
  /** Latest delivery time queued per link, to keep links FIFO. */
  private readonly linkTail = new Map<number, number>();
  dropped = 0;
  delivered = 0;

  constructor(
    private readonly rng: SeededRandom,
    public faults: NetworkFaults,
  ) {}

  send(msg: Message, now: number): void {
    const loss = this.linkLoss.size > 0 ? (this.linkLoss.get(linkKey(msg.from, msg.to)) ?? this.faults.dropProbability) : this.faults.dropProbability;
    if (this.rng.chance(loss)) {
      this.dropped++;
      return;
    }
    this.enqueue(msg, now);
    if (this.rng.chance(this.faults.duplicateProbability)) this.enqueue(msg, now);
  }

  private enqueue(msg: Message, now: number): void {
    let deliverAt = now + this.delay() + this.rng.next() * 0.999;
    const link = linkKey(msg.from, msg.to);
    if (!this.rng.chance(this.faults.reorderProbability)) {
      const tail = this.linkTail.get(link) ?? 0;
      if (deliverAt <= tail) deliverAt = tail + 1e-6;
      this.linkTail.set(link, deliverAt);
    }
    this.inFlight.push({ deliverAt, msg });
  }

  /** Messages due by the end of tick `now` whose link is open, in delivery order; blocked ones are lost. */
  takeDue(now: number): Message[] {
    const due: InFlight[] = [];
    const keep: InFlight[] = [];
    for (const f of this.inFlight) {
      if (f.deliverAt >= now + 1) keep.push(f);
      else if (this.isBlocked(f.msg.from, f.msg.to)) this.dropped++;
      else due.push(f);
    }
    this.inFlight = keep;
    this.delivered += due.length;
    due.sort((a, b) => a.deliverAt - b.deliverAt);
    return due.map((f) => f.msg);
  }

  pending(): number {
    return this.inFlight.length;
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(linkKey(from, to));
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && this.blocked.has(linkKey(from, to));
  }

  setLinkLoss(from: NodeId, to: NodeId, probability: number): void {
    this.linkLoss.set(linkKey(from, to), probability);
  }

  heal(): void {
    this.blocked.clear();
    this.linkLoss.clear();
  }

  blockedLinks(): string[] {
    return [...this.blocked].map((k) => `${Math.floor(k / 1024)}->${k % 1024}`);
  }

  private delay(): number {
    if (this.faults.maxDelayTicks === 0 || !this.rng.chance(this.faults.delayProbability)) return 0;
    return 1 + this.rng.int(this.faults.maxDelayTicks);
  }
}

function linkKey(from: NodeId, to: NodeId): number {
  return from * 1024 + to;
}
