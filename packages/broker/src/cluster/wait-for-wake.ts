/**
 * A fetch long poll's wait: resolves true as soon as any of `subscriptions` wakes (each registers a one-shot
 * callback and returns its cancel function), false at `waitMs` or when `signal` aborts (the connection or
 * the node is going away). Every registration is cancelled once it settles.
 */
export function waitForWake(subscriptions: readonly ((wake: () => void) => () => void)[], waitMs: number, signal: AbortSignal): Promise<boolean> {
  if (waitMs <= 0 || signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const cancels: (() => void)[] = [];
    let settled = false;
    const finish = (more: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      for (const c of cancels) c();
      resolve(more);
    };
    const onAbort = (): void => finish(false);
    const timer = setTimeout(() => finish(false), waitMs);
    signal.addEventListener('abort', onAbort, { once: true });
    for (const subscribe of subscriptions) {
      if (settled) break;
      cancels.push(subscribe(() => finish(true)));
    }
  });
}
