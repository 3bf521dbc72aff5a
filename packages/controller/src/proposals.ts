import { ErrorCode, FluxoError, KafkaProtocolError, assert, type MetadataImage } from '@fluxo/common';

export interface Committed {
  readonly index: number;
  readonly image: MetadataImage;
}

interface Pending {
  readonly term: number;
  readonly resolve: (c: Committed) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Proposals waiting for their entry to be applied. A proposal at (index, term) succeeds when the entry
 * applied at `index` has that `term`; another term there means the proposal was lost with a leadership
 * change (NOT_CONTROLLER). Each waits at most timeoutMs (REQUEST_TIMED_OUT: it may still commit later).
 */
export class PendingProposals {
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly timeoutMs: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  checkCapacity(): void {
    if (this.pending.size >= this.max) throw new KafkaProtocolError(ErrorCode.THROTTLING_QUOTA_EXCEEDED, `${this.max} proposals already pending`);
  }

  add(index: number, term: number): Promise<Committed> {
    const old = this.pending.get(index);
    if (old !== undefined) this.settle(index, old, new KafkaProtocolError(ErrorCode.NOT_CONTROLLER, 'proposal lost to a leadership change'));
    return new Promise<Committed>((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.pending.get(index);
        if (p !== undefined && p.timer === timer) {
          this.pending.delete(index);
          reject(new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, `proposal at index ${index} not committed within ${this.timeoutMs} ms`));
        }
      }, this.timeoutMs);
      this.pending.set(index, { term, resolve, reject, timer });
    });
  }

  /** Entry (index, term) was applied; `error` if its batch conflicted with the state. */
  applied(index: number, term: number, image: MetadataImage, error: FluxoError | null): void {
    const p = this.pending.get(index);
    if (p === undefined) return;
    if (p.term !== term) this.settle(index, p, new KafkaProtocolError(ErrorCode.NOT_CONTROLLER, 'proposal lost to a leadership change'));
    else this.settle(index, p, error ?? { index, image });
  }

  /** A snapshot replaced the state up to `index`: proposals at or below it cannot be matched any more. */
  snapshotApplied(index: number): void {
    for (const [i, p] of this.pending) if (i <= index) this.settle(i, p, new KafkaProtocolError(ErrorCode.NOT_CONTROLLER, 'proposal outcome unknown: state replaced by a snapshot'));
  }

  failAll(err: Error): void {
    for (const [i, p] of this.pending) this.settle(i, p, err);
  }

  private settle(index: number, p: Pending, outcome: Error | Committed): void {
    assert(this.pending.get(index) === p, 'settling a proposal that is not pending');
    this.pending.delete(index);
    clearTimeout(p.timer);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }
}
