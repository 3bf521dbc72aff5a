import { FluxoError, KafkaProtocolError } from '@fluxo/common';

export interface RetryOptions {
  /** Attempts after the first one. */
  retries?: number;
  /** Backoff before the first retry; doubles per attempt with jitter, capped at maxRetryBackoffMs. */
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
}

export interface ResolvedRetryOptions {
  retries: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
}

export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  return {
    retries: options.retries ?? 5,
    retryBackoffMs: options.retryBackoffMs ?? 100,
    maxRetryBackoffMs: options.maxRetryBackoffMs ?? 1000,
  };
}

/** Exponential backoff with ±20% jitter so many clients do not retry in lockstep. */
export function backoffMs(options: ResolvedRetryOptions, attempt: number): number {
  const base = Math.min(options.maxRetryBackoffMs, options.retryBackoffMs * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function isRetriableError(err: unknown): err is KafkaProtocolError {
  return err instanceof KafkaProtocolError && err.retriable;
}

/** Kafka error code of an error, or -1 when it is not a Kafka error. */
export function errorCodeOf(err: unknown): number {
  return err instanceof FluxoError ? err.code : -1;
}

/**
 * Runs `fn` until it succeeds, a non-retriable error occurs or retries run out. `onRetriable` runs before
 * each backoff (e.g. to refresh metadata).
 */
export async function withRetries<T>(
  options: ResolvedRetryOptions,
  fn: (attempt: number) => Promise<T>,
  onRetriable?: (err: KafkaProtocolError, attempt: number) => Promise<void> | void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetriableError(err) || attempt >= options.retries) throw err;
      await onRetriable?.(err, attempt);
      await sleep(backoffMs(options, attempt));
    }
  }
}
