import type { OptionSpecs, ParsedArgs } from '../args.js';
import type { Io } from '../io.js';

export interface Command {
  /** Words after `fluxo`, e.g. "topic create". */
  readonly name: string;
  readonly summary: string;
  /** Full --help text. */
  readonly help: string;
  readonly options: OptionSpecs;
  /** Resolves with the exit code. */
  run(args: ParsedArgs, io: Io): Promise<number>;
}
