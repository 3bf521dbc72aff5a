import type { ConsumerRecord } from '@fluxo/client';
import { UsageError } from './cli-error.js';

/** Turns a record into the bytes `fluxo consume` prints for it. */
export type RecordRenderer = (record: ConsumerRecord) => Buffer;

export const DEFAULT_FORMAT = '%v\\n';

const EMPTY = Buffer.alloc(0);

type Piece = Buffer | ((r: ConsumerRecord) => Buffer);

const TOKENS: Record<string, (r: ConsumerRecord) => Buffer> = {
  t: (r) => Buffer.from(r.topic),
  p: (r) => Buffer.from(String(r.partition)),
  o: (r) => Buffer.from(String(r.offset)),
  k: (r) => r.key ?? EMPTY,
  K: (r) => Buffer.from(String(r.key === null ? -1 : r.key.length)),
  v: (r) => r.value ?? EMPTY,
  s: (r) => r.value ?? EMPTY, // kcat's name for the value
  S: (r) => Buffer.from(String(r.value === null ? -1 : r.value.length)),
  T: (r) => Buffer.from(String(r.timestamp)),
  h: (r) => Buffer.from(r.headers.map((h) => `${h.key}=${h.value === null ? '' : h.value.toString('utf8')}`).join(',')),
};

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '0': '\0' };

/**
 * kcat-style format: %t topic, %p partition, %o offset, %k key, %K key length, %v (or %s) value, %S value
 * length, %T timestamp (ms), %h headers as k=v,k=v, %% a percent sign; escapes \n \t \r \\ \0. Null keys and
 * values print as nothing (lengths as -1).
 */
export function compileFormat(format: string): RecordRenderer {
  if (format === 'json') return renderJson;
  const pieces: Piece[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') pieces.push(Buffer.from(literal));
    literal = '';
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c === '%') {
      const next = format[++i];
      if (next === undefined) throw new UsageError('--format ends with a lone %');
      if (next === '%') {
        literal += '%';
        continue;
      }
      const token = TOKENS[next];
      if (!token) throw new UsageError(`--format has unknown token %${next} (known: %t %p %o %k %K %v %s %S %T %h %%)`);
      flush();
      pieces.push(token);
    } else if (c === '\\' && i + 1 < format.length && ESCAPES[format[i + 1]!] !== undefined) {
      literal += ESCAPES[format[++i]!];
    } else {
      literal += c;
    }
  }
  flush();
  return (record) => Buffer.concat(pieces.map((p) => (Buffer.isBuffer(p) ? p : p(record))));
}

/** One JSON object per line; key, value and header values as UTF-8 text (null stays null). */
export function renderJson(record: ConsumerRecord): Buffer {
  return Buffer.from(
    JSON.stringify({
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      timestamp: record.timestamp,
      key: record.key === null ? null : record.key.toString('utf8'),
      value: record.value === null ? null : record.value.toString('utf8'),
      headers: record.headers.map((h) => ({ key: h.key, value: h.value === null ? null : h.value.toString('utf8') })),
    }) + '\n',
  );
}
