// Test helper: builds sample message objects for any version straight from the Kafka JSON schemas, so the
// round-trip test exercises every field of every version independently of the generator's own logic.
import fs from 'node:fs';
import path from 'node:path';

export const SCHEMA_DIR = '/work/shared/kafka-protocol/message';

interface SchemaField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  fields?: SchemaField[];
}

interface Schema {
  name: string;
  fields: SchemaField[];
  commonStructs?: { name: string; fields: SchemaField[] }[];
  flexibleVersions?: string;
}

function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

export function loadSchema(name: string): Schema {
  return JSON.parse(stripComments(fs.readFileSync(path.join(SCHEMA_DIR, `${name}.json`), 'utf8'))) as Schema;
}

export function inVersions(spec: string | undefined, v: number): boolean {
  if (spec === undefined || spec === 'none' || spec === '') return false;
  if (spec.endsWith('+')) return v >= Number(spec.slice(0, -1));
  const dash = spec.indexOf('-');
  if (dash >= 0) return v >= Number(spec.slice(0, dash)) && v <= Number(spec.slice(dash + 1));
  return v === Number(spec);
}

/** Deterministic PRNG (mulberry32) so failures replay. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const lowerCamel = (s: string): string => s[0]!.toLowerCase() + s.slice(1);

/** A sample object with every field present in `version` set (arrays of 0-2 elements, some nulls). */
export function sampleMessage(schema: Schema, version: number, seed: number): Record<string, unknown> {
  const rand = prng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const common = new Map((schema.commonStructs ?? []).map((s) => [s.name, s.fields]));
  const primitive = (type: string): unknown => {
    switch (type) {
      case 'int8': return int(-128, 127);
      case 'int16': return int(-32768, 32767);
      case 'uint16': return int(0, 65535);
      case 'int32': return int(-2147483648, 2147483647);
      case 'int64': return int(-(2 ** 52), 2 ** 52) * (rand() < 0.5 ? 1 : 2);
      case 'float64': return rand() * 1e6 - 5e5;
      case 'bool': return rand() < 0.5;
      case 'string': return ['', 'a', 'topic-é', 'x'.repeat(int(0, 40))][int(0, 3)];
      case 'uuid': return Buffer.from(Array.from({ length: 16 }, () => int(0, 255))).toString('base64url');
      case 'bytes':
      case 'records': return Buffer.from(Array.from({ length: int(0, 20) }, () => int(0, 255)));
      default: throw new Error(`no sample for ${type}`);
    }
  };
  const struct = (fields: SchemaField[], depth: number): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (const f of fields) {
      if (!inVersions(f.versions, version)) continue;
      if (f.taggedVersions !== undefined && !inVersions(f.taggedVersions, version)) continue;
      const nullable = inVersions(f.nullableVersions, version);
      if (nullable && rand() < 0.25) {
        o[lowerCamel(f.name)] = null;
        continue;
      }
      const isArray = f.type.startsWith('[]');
      const base = isArray ? f.type.slice(2) : f.type;
      const sub = f.fields ?? common.get(base);
      const one = (): unknown => (sub !== undefined ? struct(sub, depth + 1) : primitive(base));
      o[lowerCamel(f.name)] = isArray ? Array.from({ length: depth > 3 ? 0 : int(0, 2) }, one) : one();
    }
    return o;
  };
  return struct(schema.fields, 0);
}

/** True when every key of `expected` (recursively) equals the same key of `actual`. */
export function subsetMismatch(expected: unknown, actual: unknown, at = '$'): string | null {
  if (Buffer.isBuffer(expected)) {
    return Buffer.isBuffer(actual) && expected.equals(actual) ? null : `${at}: buffer differs`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${at}: array length differs`;
    for (let i = 0; i < expected.length; i++) {
      const m = subsetMismatch(expected[i], actual[i], `${at}[${i}]`);
      if (m !== null) return m;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return `${at}: expected object, got ${String(actual)}`;
    for (const [k, v] of Object.entries(expected)) {
      const m = subsetMismatch(v, (actual as Record<string, unknown>)[k], `${at}.${k}`);
      if (m !== null) return m;
    }
    return null;
  }
  return Object.is(expected, actual) ? null : `${at}: expected ${String(expected)}, got ${String(actual)}`;
}
