import { ConfigError } from '@fluxo/common';

/** One `NAME://host:port` entry of `listeners` / `advertised.listeners`. */
export interface Listener {
  readonly name: string;
  /** Empty string means all interfaces (Kafka's `PLAINTEXT://:9092`). */
  readonly host: string;
  readonly port: number;
}

const LISTENER = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:/]*):(\d+)$/;

export function parseListener(key: string, text: string): Listener {
  const m = LISTENER.exec(text.trim());
  if (!m) throw new ConfigError(key, `"${text}" is not NAME://host:port`);
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(key, `port out of range in "${text}"`);
  let host = m[2]!;
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { name: m[1]!.toUpperCase(), host, port };
}

export function formatListener(l: Listener): string {
  const host = l.host.includes(':') ? `[${l.host}]` : l.host;
  return `${l.name}://${host}:${l.port}`;
}

export function parseListeners(key: string, entries: readonly string[]): Listener[] {
  const listeners = entries.map((e) => parseListener(key, e));
  const names = new Set<string>();
  for (const l of listeners) {
    if (names.has(l.name)) throw new ConfigError(key, `listener ${l.name} is defined twice`);
    names.add(l.name);
  }
  return listeners;
}

/** The client listener. Fluxo speaks PLAINTEXT only (no TLS/SASL yet); other names (CONTROLLER) are not clients'. */
export function clientListener(key: string, entries: readonly string[]): Listener {
  const found = parseListeners(key, entries).find((l) => l.name === 'PLAINTEXT');
  if (!found) throw new ConfigError(key, 'a PLAINTEXT://host:port listener is required');
  return found;
}
