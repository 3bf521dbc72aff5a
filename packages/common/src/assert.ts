/** Thrown when an invariant of Fluxo's own code does not hold: a bug, never bad input. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/** Invariant check kept in production code (TigerBeetle style): a failure is a bug, so fail loudly. */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks a switch as exhaustive: the compiler proves `value` is `never`, the runtime check catches bad casts. */
export function assertNever(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${String(value)}`);
}
