import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export interface LoggerSettings {
  /** trace | debug | info | warn | error | fatal | silent; FLUXO_LOG_LEVEL overrides the default. */
  level?: string;
  /** Bound to every line, e.g. { nodeId: 1, role: 'broker' }. */
  base?: Record<string, unknown>;
  destination?: DestinationStream;
}

/** One JSON line per event, ISO timestamps, the node's identity on every line. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.FLUXO_LOG_LEVEL ?? 'info',
    base: { pid: process.pid, ...settings.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** A logger that drops everything: for unit tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
