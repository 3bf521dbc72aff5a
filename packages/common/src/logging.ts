import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import type { ResolvedConfig } from './config.js';
import { ConfigError } from './errors.js';

export type { Logger } from 'pino';

/** pino's levels, quietest last; `log.level` / FLUXO_LOG_LEVEL take one of these. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerSettings {
  /** trace | debug | info | warn | error | fatal | silent; FLUXO_LOG_LEVEL overrides the default. */
  level?: string;
  /** Bound to every line, e.g. { nodeId: 1, role: 'broker' }. */
  base?: Record<string, unknown>;
  destination?: DestinationStream;
}

/** One JSON line per event, ISO timestamps, the node's identity on every line. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const level = settings.level ?? process.env.FLUXO_LOG_LEVEL ?? 'info';
  const options: LoggerOptions = {
    level: checkLevel(level, settings.level !== undefined ? 'log.level' : 'FLUXO_LOG_LEVEL'),
    base: { pid: process.pid, ...settings.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/**
 * The logger of a node process: level from `log.level` (FLUXO_LOG_LEVEL=debug sets it through the usual
 * environment mapping), and the node's id and roles (`process.roles`, e.g. "broker,controller") on every line.
 */
export function createNodeLogger(config: ResolvedConfig, destination?: DestinationStream): Logger {
  const settings: LoggerSettings = { base: nodeLogFields(config) };
  const level = config.stringOrNull('log.level');
  if (level !== null) settings.level = level;
  if (destination) settings.destination = destination;
  return createLogger(settings);
}

/** The identity fields of a node's log lines. */
export function nodeLogFields(config: ResolvedConfig): { nodeId: number; role: string } {
  return { nodeId: config.number('node.id'), role: config.list('process.roles').join(',') };
}

function checkLevel(level: string, key: string): LogLevel {
  const normalized = level.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(normalized)) throw new ConfigError(key, `"${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  return normalized as LogLevel;
}

/** A logger that drops everything: for unit tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
