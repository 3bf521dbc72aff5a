import { ConfigError, FluxoError, KafkaProtocolError } from '@fluxo/common';

/** Bad command line: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command: string = '',
  ) {
    super(message);
  }
}

export const EXIT_OK = 0;
/** A request failed (Kafka error, broker unreachable). */
export const EXIT_FAILURE = 1;
/** Bad arguments or configuration. */
export const EXIT_USAGE = 2;

/** One line for stderr and the exit code for an error. */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof UsageError) {
    const help = err.command ? `fluxo ${err.command} --help` : 'fluxo --help';
    return { message: `${err.message}\n(see ${help})`, exitCode: EXIT_USAGE };
  }
  if (err instanceof ConfigError) return { message: err.message, exitCode: EXIT_USAGE };
  if (err instanceof KafkaProtocolError) {
    // Messages from @fluxo/client already end with the error name; add it where they do not.
    const message = err.message.includes(err.type) ? err.message : `${err.message} (${err.type})`;
    return { message, exitCode: EXIT_FAILURE };
  }
  if (err instanceof FluxoError) return { message: err.message, exitCode: EXIT_FAILURE };
  if (err instanceof Error) return { message: err.message, exitCode: EXIT_FAILURE };
  return { message: String(err), exitCode: EXIT_FAILURE };
}
