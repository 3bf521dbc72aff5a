import {
  BROKER_CONFIG,
  ConfigError,
  configFromEnv,
  formatValue,
  readPropertiesFile,
  type ConfigValue,
  type ResolvedConfig,
} from '@fluxo/common';
import { clientListener, formatListener, parseListeners } from './listeners.js';

export interface NodeConfigSources {
  /** Java-style .properties file (`--config`). Keys other components own are kept in `unknown`. */
  file?: string;
  /** `--set key=value` overrides: must be known broker keys. */
  set?: Record<string, string>;
  /** Environment; FLUXO_LOG_RETENTION_MS -> log.retention.ms. Unknown FLUXO_ names are ignored. */
  env?: NodeJS.ProcessEnv;
  /** `--data-dir` -> log.dirs */
  dataDir?: string;
  /** `--host` / `--port` -> the host/port of the PLAINTEXT listener. */
  host?: string;
  port?: number;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/**
 * Builds the node's BROKER_CONFIG from (lowest to highest precedence) defaults, the properties file, FLUXO_*
 * environment variables, `--set`, then the dedicated flags. Like Kafka, log.retention.ms wins over
 * log.retention.minutes, which wins over log.retention.hours (and log.roll.ms over log.roll.hours); the
 * winning value is folded into log.retention.ms / log.roll.ms so every reader uses one key.
 */
export function resolveNodeConfig(sources: NodeConfigSources): ResolvedConfig {
  const raw: Record<string, string | ConfigValue> = {};
  if (sources.file !== undefined) Object.assign(raw, readPropertiesFile(sources.file));
  if (sources.env) {
    for (const [key, value] of Object.entries(configFromEnv(sources.env))) if (BROKER_CONFIG.has(key)) raw[key] = value;
  }
  if (sources.set) {
    for (const [key, value] of Object.entries(sources.set)) {
      if (!BROKER_CONFIG.has(key)) throw new ConfigError(key, 'unknown configuration key');
      raw[key] = value;
    }
  }
  if (sources.dataDir !== undefined) raw['log.dirs'] = sources.dataDir;
  if (sources.host !== undefined || sources.port !== undefined) {
    if (sources.port !== undefined && (!Number.isInteger(sources.port) || sources.port < 0 || sources.port > 65535)) {
      throw new ConfigError('listeners', `port out of range: ${sources.port}`);
    }
    const current = raw['listeners'] === undefined ? BROKER_CONFIG.key('listeners')!.default : BROKER_CONFIG.parseValue('listeners', raw['listeners']);
    const entries = (current as string[] | null) ?? [];
    const base = clientListener('listeners', entries);
    const replaced = formatListener({ name: base.name, host: sources.host ?? base.host, port: sources.port ?? base.port });
    raw['listeners'] = entries.map((e) => (e.trim().toUpperCase().startsWith('PLAINTEXT://') ? replaced : e)).join(',');
  }
  foldDuration(raw, 'log.retention.ms', [
    ['log.retention.minutes', MINUTE_MS],
    ['log.retention.hours', HOUR_MS],
  ]);
  foldDuration(raw, 'log.roll.ms', [['log.roll.hours', HOUR_MS]]);

  const config = BROKER_CONFIG.resolve(raw, { allowUnknown: true });
  // Validate listener syntax now so a bad value fails at startup with the key named.
  // A controller-only node (cluster mode) has no client listener.
  parseListeners('listeners', config.list('listeners'));
  const brokerRole = config.stringOrNull('controller.quorum.voters') === null || config.list('process.roles').includes('broker');
  if (brokerRole) clientListener('listeners', config.list('listeners'));
  if (brokerRole && config.list('advertised.listeners').length > 0) clientListener('advertised.listeners', config.list('advertised.listeners'));
  return config;
}

/** When `msKey` is not set, the first set coarser key (in precedence order) supplies it; -1 stays -1. */
function foldDuration(raw: Record<string, string | ConfigValue>, msKey: string, coarser: [string, number][]): void {
  if (raw[msKey] !== undefined) return;
  for (const [key, unitMs] of coarser) {
    if (raw[key] === undefined) continue;
    const value = BROKER_CONFIG.parseValue(key, raw[key]);
    if (value === null) continue;
    raw[msKey] = formatValue(value === -1 ? -1 : (value as number) * unitMs);
    return;
  }
}
