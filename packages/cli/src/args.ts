import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-error.js';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export const DEFAULT_BOOTSTRAP_SERVER = '127.0.0.1:9092';

/** Options every command that talks to a cluster accepts (FLUXO_BOOTSTRAP_SERVER sets the default, e.g. in a container). */
export const CLIENT_OPTIONS = {
  'bootstrap-server': { type: 'string', short: 'b', default: process.env.FLUXO_BOOTSTRAP_SERVER ?? DEFAULT_BOOTSTRAP_SERVER },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** node:util parseArgs in strict mode, with its errors turned into UsageErrors naming the command. */
export function parseCommandArgs(command: string, argv: string[], options: OptionSpecs): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: attachNegativeValues(argv, options), options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(message, command);
  }
}

/**
 * parseArgs refuses `--offset -3` (a value that starts with a dash); kcat users type it that way, so a
 * negative number after a value-taking option is attached to it (`--offset=-3`, `-o-3`).
 */
export function attachNegativeValues(argv: string[], options: OptionSpecs): string[] {
  const takesValue = (token: string): boolean => {
    if (token.startsWith('--')) return options[token.slice(2)]?.type === 'string';
    if (/^-[A-Za-z]$/.test(token)) return Object.values(options).some((o) => o.short === token[1] && o.type === 'string');
    return false;
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const next = argv[i + 1];
    if (token === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (next !== undefined && /^-\d+$/.test(next) && takesValue(token)) {
      out.push(token.startsWith('--') ? `${token}=${next}` : `${token}${next}`);
      i++;
    } else {
      out.push(token);
    }
  }
  return out;
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${name} needs a value`);
  return v;
}

export function listOption(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** An integer option within [min, max]; `what` names it in the error. */
export function parseInteger(text: string, what: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${what} must be an integer, not "${text}"`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, not ${text}`);
  return n;
}

export function intOption(args: ParsedArgs, name: string, min?: number, max?: number): number | undefined {
  const v = stringOption(args, name);
  return v === undefined ? undefined : parseInteger(v, `--${name}`, min, max);
}

/** `key=value` pairs (the value may contain '='); later keys win. */
export function parseKeyValues(pairs: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what} expects key=value, not "${pair}"`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  return out;
}

/** Ordered `key=value` pairs, keeping repeats (record headers may repeat a key). */
export function parseKeyValueList(pairs: string[], what: string): { key: string; value: string }[] {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what} expects key=value, not "${pair}"`);
    return { key: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
}

export function requirePositionals(args: ParsedArgs, command: string, names: string[], allowMore = false): string[] {
  if (args.positionals.length < names.length) {
    throw new UsageError(`missing ${names.slice(args.positionals.length).map((n) => n.toUpperCase()).join(' ')}`, command);
  }
  if (!allowMore && args.positionals.length > names.length) {
    throw new UsageError(`unexpected argument "${args.positionals[names.length]}"`, command);
  }
  return args.positionals;
}

/** --acks: 0, 1, -1 or all. */
export function parseAcks(text: string): 0 | 1 | -1 {
  if (text === 'all' || text === '-1') return -1;
  if (text === '0') return 0;
  if (text === '1') return 1;
  throw new UsageError(`--acks must be 0, 1, -1 or all, not "${text}"`);
}
