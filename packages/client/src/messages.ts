import { ErrorCode, KafkaProtocolError } from '@fluxo/common';

/** A record header value as callers may give it; arrays repeat the key (Kafka allows duplicate keys). */
export type HeaderValue = string | Buffer | null | (string | Buffer | null)[];

export interface Message {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, HeaderValue> | { key: string; value: Buffer | string | null }[];
  /** Explicit partition; otherwise the partitioner chooses. */
  partition?: number;
  /** CreateTime in ms since the epoch (number or decimal string, as kafkajs accepts); default now. */
  timestamp?: number | string;
}

export function toBytes(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

/** Shared by every record without headers (one array less per record); never mutated. */
const NO_HEADERS = Object.freeze([]) as unknown as { key: string; value: Buffer | null }[];

export function normalizeHeaders(headers: Message['headers']): { key: string; value: Buffer | null }[] {
  if (!headers) return NO_HEADERS;
  if (Array.isArray(headers)) return headers.map((h) => ({ key: h.key, value: toBytes(h.value) }));
  const out: { key: string; value: Buffer | null }[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (Array.isArray(value)) for (const v of value) out.push({ key, value: toBytes(v) });
    else out.push({ key, value: toBytes(value) });
  }
  return out;
}

export function normalizeTimestamp(timestamp: Message['timestamp'], nowMs: number): number {
  if (timestamp === undefined) return nowMs;
  const n = typeof timestamp === 'string' ? Number(timestamp) : timestamp;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new KafkaProtocolError(ErrorCode.INVALID_TIMESTAMP, `record timestamp ${String(timestamp)} is not a non-negative integer of ms`);
  }
  return n;
}
