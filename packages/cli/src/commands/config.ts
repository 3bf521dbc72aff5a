import type { NodeConfigSources } from '@fluxo/broker';
import { BROKER_CONFIG, configFromEnv, formatValue, parseAssignments, readPropertiesFile, type ResolvedConfig } from '@fluxo/common';
import { listOption, requirePositionals, type ParsedArgs } from '../args.js';
import { EXIT_OK, EXIT_USAGE } from '../cli-error.js';
import type { Io } from '../io.js';
import type { Command } from './command.js';

/** Where an effective value came from, in precedence order (lowest first). */
type Source = 'file' | 'env' | 'set' | 'derived';

const SOURCE_TITLES: Record<Source, string> = {
  file: 'from the file',
  env: 'from the environment (FLUXO_*)',
  set: 'from --set',
  derived: 'derived (e.g. log.retention.hours -> log.retention.ms)',
};

export interface ConfigWarning {
  /** The config key (or environment variable) the warning is about. */
  readonly key: string;
  readonly message: string;
}

/**
 * Keys a node ignores, as Kafka warns "The configuration 'x' was supplied but isn't a known config": unknown
 * keys in the properties file and FLUXO_* variables that map to no broker key.
 */
export function configWarnings(config: ResolvedConfig, env: NodeJS.ProcessEnv | undefined): ConfigWarning[] {
  const warnings: ConfigWarning[] = config.unknown.map((key) => ({ key, message: `the configuration '${key}' was supplied but isn't a known config (ignored)${didYouMean(key)}` }));
  for (const [name, value] of Object.entries(env ?? {})) {
    if (value === undefined) continue;
    const mapped = Object.keys(configFromEnv({ [name]: value }));
    const key = mapped[0];
    if (key === undefined || BROKER_CONFIG.has(key)) continue;
    warnings.push({ key: name, message: `environment variable ${name} maps to '${key}', which isn't a known config (ignored)${didYouMean(key)}` });
  }
  return warnings;
}

/** "; did you mean 'x'?" for a key within two edits of a known one (typos), else "". */
function didYouMean(key: string): string {
  let best: { name: string; distance: number } | null = null;
  for (const name of BROKER_CONFIG.names()) {
    const distance = editDistance(key, name, 2);
    if (distance <= 2 && (best === null || distance < best.distance)) best = { name, distance };
  }
  return best === null ? '' : `; did you mean '${best.name}'?`;
}

/** Levenshtein distance, or more than `max` once it is certain to exceed it. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return max + 1;
    previous = current;
  }
  return previous[b.length]!;
}

export const configCheckCommand: Command = {
  name: 'config check',
  summary: 'validate a node properties file (plus FLUXO_* environment) and print its non-default settings',
  help: `Usage: fluxo config check FILE [--set key=value ...] [--no-env] [--strict]

Validates FILE (Java .properties with Kafka's broker keys, like server.properties) the way \`fluxo start
--config FILE\` does: FLUXO_* environment variables override it (FLUXO_LOG_RETENTION_MS -> log.retention.ms;
\`_\` is written \`__\`, \`-\` is written \`___\`), then --set. Prints the settings that differ from the
defaults, grouped by where they come from, as key=value lines.

Unknown keys are reported as warnings on stderr and ignored, as Kafka does; --strict makes them an error.

Options:
  --set key=value      override one broker config key; repeatable
  --no-env             ignore FLUXO_* environment variables
  --strict             fail on unknown keys
  -h, --help           show this help

Exit codes: 0 valid, 2 invalid (the message names the key).`,
  options: {
    set: { type: 'string', multiple: true },
    'no-env': { type: 'boolean' },
    strict: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const [file] = requirePositionals(args, 'config check', ['file']);
    const env = args.values['no-env'] === true ? undefined : process.env;
    const set = parseAssignments(listOption(args, 'set'));
    const sources: NodeConfigSources = { file: file!, set };
    if (env) sources.env = env;
    // Loaded on demand, as `fluxo start` does: resolveNodeConfig is exactly what a starting node runs.
    const { resolveNodeConfig } = await import('@fluxo/broker');
    const config = resolveNodeConfig(sources);

    const warnings = configWarnings(config, env);
    for (const w of warnings) io.stderr.write(`warning: ${w.message}\n`);
    if (args.values.strict === true && warnings.length > 0) {
      io.stderr.write(`fluxo: ${file} is invalid with --strict: unknown ${warnings.map((w) => w.key).join(', ')}\n`);
      return EXIT_USAGE;
    }

    const changed = nonDefaultSettings(config, sourcesOf(file!, env, set));
    io.stdout.write(`# ${file} is valid: ${changed.length} setting${changed.length === 1 ? '' : 's'} differ from the defaults\n`);
    for (const source of ['file', 'env', 'set', 'derived'] as const) {
      const lines = changed.filter((c) => c.source === source);
      if (lines.length === 0) continue;
      io.stdout.write(`# ${SOURCE_TITLES[source]}\n`);
      for (const c of lines) io.stdout.write(`${c.key}=${c.value}\n`);
    }
    return EXIT_OK;
  },
};

/** For each key, the highest-precedence input that sets it (null: none; the value is derived or default). */
function sourcesOf(file: string, env: NodeJS.ProcessEnv | undefined, set: Record<string, string>): (key: string) => Source {
  const fromFile = new Set(Object.keys(readPropertiesFile(file)));
  const fromEnv = new Set(Object.keys(configFromEnv(env ?? {})));
  return (key) => (key in set ? 'set' : fromEnv.has(key) ? 'env' : fromFile.has(key) ? 'file' : 'derived');
}

function nonDefaultSettings(config: ResolvedConfig, sourceOf: (key: string) => Source): { key: string; value: string; source: Source }[] {
  const out: { key: string; value: string; source: Source }[] = [];
  for (const [key, value] of config.entries()) {
    const def = BROKER_CONFIG.key(key);
    if (def === undefined) continue;
    const dflt = def.default === undefined ? undefined : formatValue(def.default);
    if (value === dflt) continue;
    const shown = def.type === 'password' ? '[hidden]' : (value ?? '');
    out.push({ key, value: shown, source: sourceOf(key) });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}
