/** Time and timers for the coordinator: injectable so unit tests drive them deterministically. */
export interface Scheduler {
  nowMs(): number;
  /** Runs `fn` after `delayMs`; returns a cancel function (idempotent). */
  schedule(delayMs: number, fn: () => void): () => void;
}

/** setTimeout fires at once for delays above int32 milliseconds; longer timers (a client's huge rebalance timeout) wait this long. */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

export const systemScheduler: Scheduler = {
  nowMs: () => Date.now(),
  schedule(delayMs, fn) {
    const t = setTimeout(fn, Math.min(MAX_TIMER_DELAY_MS, Math.max(0, delayMs)));
    // Group timers never keep the process alive on their own.
    t.unref();
    return () => clearTimeout(t);
  },
};

interface Task {
  readonly dueMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told: `advance(ms)` fires due timers in due-time order. */
export class ManualScheduler implements Scheduler {
  private now: number;
  private seq = 0;
  private tasks: Task[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  schedule(delayMs: number, fn: () => void): () => void {
    const task: Task = { dueMs: this.now + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.tasks.push(task);
    return () => {
      task.cancelled = true;
    };
  }

  /** Moves time forward, firing every timer due on the way (timers scheduled by timers included). */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      this.tasks = this.tasks.filter((t) => !t.cancelled);
      let next: Task | undefined;
      for (const t of this.tasks) if (t.dueMs <= target && (next === undefined || t.dueMs < next.dueMs || (t.dueMs === next.dueMs && t.seq < next.seq))) next = t;
      if (next === undefined) break;
      this.now = Math.max(this.now, next.dueMs);
      next.cancelled = true;
      next.fn();
    }
    this.now = target;
  }

  pendingTimers(): number {
    return this.tasks.filter((t) => !t.cancelled).length;
  }
}
