import type { Logger } from '@fluxo/common';

/** Most distinct keys remembered; beyond that the oldest are forgotten (bounded memory under garbage input). */
const MAX_KEYS = 4096;

/**
 * Logs a warning at most once per `intervalMs` per key (a refused follower retries every backoff; one line per
 * episode is enough). Counts what it suppressed and reports it with the next line.
 */
export class ThrottledLog {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    this.log('warn', key, fields, msg);
  }

  /** For refusals that are part of normal operation (a leadership change in flight). */
  info(key: string, fields: Record<string, unknown>, msg: string): void {
    this.log('info', key, fields, msg);
  }

  private log(level: 'warn' | 'info', key: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.nowMs();
    const seen = this.last.get(key);
    if (seen !== undefined && now - seen.atMs < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    if (seen === undefined && this.last.size >= MAX_KEYS) this.last.delete(this.last.keys().next().value!);
    this.last.set(key, { atMs: now, suppressed: 0 });
    this.logger[level](seen !== undefined && seen.suppressed > 0 ? { ...fields, suppressedSinceLast: seen.suppressed } : fields, msg);
  }
}
