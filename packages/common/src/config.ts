import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

/**
 * Configuration with Kafka's key names. A ConfigDef lists the keys a component understands, with type,
 * default and validation; values come from (lowest to highest precedence) defaults, a Java-style
 * .properties file, FLUXO_* environment variables, and explicit overrides (`--set key=value`).
 */
export type ConfigType = 'int' | 'long' | 'double' | 'boolean' | 'string' | 'list' | 'password';
export type ConfigValue = number | boolean | string | string[] | null;

export interface ConfigKey {
  readonly name: string;
  readonly type: ConfigType;
  /** `undefined` means required; `null` means optional with no value. */
  readonly default: ConfigValue | undefined;
  readonly doc: string;
  readonly min?: number;
  readonly max?: number;
  readonly oneOf?: readonly string[];
  /** Every list element must be one of these (e.g. cleanup.policy=compact,delete). */
  readonly eachOf?: readonly string[];
}

export class ConfigDef {
  private readonly keys = new Map<string, ConfigKey>();

  define(key: ConfigKey): this {
    if (this.keys.has(key.name)) throw new Error(`config key defined twice: ${key.name}`);
    this.keys.set(key.name, key);
    return this;
  }

  has(name: string): boolean {
    return this.keys.has(name);
  }

  key(name: string): ConfigKey | undefined {
    return this.keys.get(name);
  }

  names(): string[] {
    return [...this.keys.keys()];
  }

  /** Parses and validates one raw value; throws ConfigError naming the key. */
  parseValue(name: string, raw: string | ConfigValue): ConfigValue {
    const key = this.keys.get(name);
    if (!key) throw new ConfigError(name, 'unknown configuration key');
    return parseTyped(key, raw);
  }

  /**
   * Resolves a full set of values. Unknown keys are an error unless `allowUnknown` (a properties file may
   * carry keys for other components; those are kept in `unknown` for the caller to warn about).
   */
  resolve(raw: Record<string, string | ConfigValue>, options: { allowUnknown?: boolean } = {}): ResolvedConfig {
    const values = new Map<string, ConfigValue>();
    const unknown: string[] = [];
    for (const [name, value] of Object.entries(raw)) {
      if (!this.keys.has(name)) {
        if (options.allowUnknown) unknown.push(name);
        else throw new ConfigError(name, 'unknown configuration key');
        continue;
      }
      values.set(name, this.parseValue(name, value));
    }
    for (const key of this.keys.values()) {
      if (values.has(key.name)) continue;
      if (key.default === undefined) throw new ConfigError(key.name, 'is required and has no default');
      values.set(key.name, key.default);
    }
    return new ResolvedConfig(values, unknown, new Set(Object.keys(raw).filter((k) => this.keys.has(k))));
  }
}

export class ResolvedConfig {
  constructor(
    private readonly values: Map<string, ConfigValue>,
    /** Keys present in the input that this definition does not know. */
    readonly unknown: readonly string[],
    /** Keys that were set explicitly rather than defaulted. */
    readonly explicit: ReadonlySet<string>,
  ) {}

  private get(name: string): ConfigValue {
    if (!this.values.has(name)) throw new ConfigError(name, 'not defined');
    return this.values.get(name) as ConfigValue;
  }
  number(name: string): number {
    const v = this.get(name);
    if (typeof v !== 'number') throw new ConfigError(name, `expected a number, have ${String(v)}`);
    return v;
  }
  numberOrNull(name: string): number | null {
    const v = this.get(name);
    return v === null ? null : this.number(name);
  }
  boolean(name: string): boolean {
    const v = this.get(name);
    if (typeof v !== 'boolean') throw new ConfigError(name, `expected a boolean, have ${String(v)}`);
    return v;
  }
  string(name: string): string {
    const v = this.get(name);
    if (typeof v !== 'string') throw new ConfigError(name, `expected a string, have ${String(v)}`);
    return v;
  }
  stringOrNull(name: string): string | null {
    const v = this.get(name);
    return v === null ? null : this.string(name);
  }
  list(name: string): string[] {
    const v = this.get(name);
    if (v === null) return [];
    if (!Array.isArray(v)) throw new ConfigError(name, `expected a list, have ${String(v)}`);
    return v;
  }
  isExplicit(name: string): boolean {
    return this.explicit.has(name);
  }
  /** All values, as strings the way Kafka's DescribeConfigs shows them. */
  entries(): [string, string | null][] {
    return [...this.values].map(([k, v]) => [k, formatValue(v)]);
  }
}

export function formatValue(v: ConfigValue): string | null {
  if (v === null) return null;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

function parseTyped(key: ConfigKey, raw: string | ConfigValue): ConfigValue {
  const fail = (why: string): never => {
    throw new ConfigError(key.name, why);
  };
  if (raw === null) {
    if (key.default === null) return null;
    return fail('may not be null');
  }
  const text = typeof raw === 'string' ? raw.trim() : raw;
  let value: ConfigValue;
  switch (key.type) {
    case 'int':
    case 'long': {
      const n = typeof text === 'number' ? text : /^-?\d+$/.test(String(text)) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n)) fail(`expected an integer, got "${String(raw)}"`);
      if (key.type === 'int' && (n < -(2 ** 31) || n > 2 ** 31 - 1)) fail(`out of int range: ${n}`);
      value = n;
      break;
    }
    case 'double': {
      const n = typeof text === 'number' ? text : Number(text);
      if (!Number.isFinite(n) || String(text) === '') fail(`expected a number, got "${String(raw)}"`);
      value = n;
      break;
    }
    case 'boolean': {
      if (typeof text === 'boolean') value = text;
      else if (String(text).toLowerCase() === 'true') value = true;
      else if (String(text).toLowerCase() === 'false') value = false;
      else return fail(`expected true or false, got "${String(raw)}"`);
      break;
    }
    case 'list': {
      value = Array.isArray(text)
        ? text.map(String)
        : String(text)
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0);
      if (key.eachOf) for (const item of value) if (!key.eachOf.includes(item)) fail(`"${item}" is not one of ${key.eachOf.join(', ')}`);
      break;
    }
    case 'string':
    case 'password':
      value = String(text);
      if (key.oneOf && !key.oneOf.includes(value)) fail(`"${value}" is not one of ${key.oneOf.join(', ')}`);
      break;
  }
  if (typeof value === 'number') {
    if (key.min !== undefined && value < key.min) fail(`${value} is below the minimum ${key.min}`);
    if (key.max !== undefined && value > key.max) fail(`${value} is above the maximum ${key.max}`);
  }
  return value;
}

/** Parses Java .properties text: `key=value` or `key: value`, `#`/`!` comments, `\` line continuations. */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trim();
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(line, `line ${i + 1} is not key=value`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

export function readPropertiesFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, `cannot read config file: ${(err as Error).message}`);
  }
  return parseProperties(text);
}

/**
 * Maps environment variables to config keys the way the apache/kafka image does, with our prefix:
 * FLUXO_LOG_RETENTION_MS -> log.retention.ms; `__` -> `_`, `___` -> `-`.
 */
export function configFromEnv(env: NodeJS.ProcessEnv, prefix = 'FLUXO_'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(prefix) || value === undefined) continue;
    const key = name
      .slice(prefix.length)
      .toLowerCase()
      .replace(/___/g, '\u0001')
      .replace(/__/g, '\u0002')
      .replace(/_/g, '.')
      .replace(/\u0001/g, '-')
      .replace(/\u0002/g, '_');
    out[key] = value;
  }
  return out;
}

/** Parses `key=value` strings (from `--set`). */
export function parseAssignments(assignments: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new ConfigError(a, 'expected key=value');
    out[a.slice(0, eq).trim()] = a.slice(eq + 1);
  }
  return out;
}
