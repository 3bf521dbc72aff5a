import { expectSuccess, runCommand } from './command.js';
import { KCAT } from './paths.js';

export interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  key: string | null;
  payload: string | null;
  headers: Array<[string, string | null]>;
}

interface KcatJson {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: Array<string | null>;
}

export interface KcatProduceOptions {
  /** Messages one per line; streamed to kcat's stdin. */
  inputFile?: string;
  input?: string;
  /** -K: key delimiter inside each line. */
  keyDelimiter?: string;
  /** -H name=value (applied to every message). */
  headers?: Record<string, string>;
  partition?: number;
  /** Passed as `-z` (or as -X compression.codec= when viaX). */
  codec?: string;
  codecViaX?: boolean;
  config?: Record<string, string>;
  timeoutMs?: number;
}

export async function kcatProduce(bootstrap: string, topic: string, opts: KcatProduceOptions): Promise<void> {
  const args = ['-P', '-b', bootstrap, '-t', topic, '-X', 'message.timeout.ms=60000'];
  if (opts.partition !== undefined) args.push('-p', String(opts.partition));
  if (opts.keyDelimiter !== undefined) args.push('-K', opts.keyDelimiter);
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (opts.codec !== undefined) {
    if (opts.codecViaX) args.push('-X', `compression.codec=${opts.codec}`);
    else args.push('-z', opts.codec);
  }
  for (const [k, v] of Object.entries(opts.config ?? {})) args.push('-X', `${k}=${v}`);
  const result = await runCommand(KCAT, args, {
    timeoutMs: opts.timeoutMs ?? 120_000,
    ...(opts.inputFile !== undefined ? { inputFile: opts.inputFile } : { input: opts.input ?? '' }),
  });
  expectSuccess(result);
  // kcat exits 0 even when some deliveries failed; it reports them on stderr.
  if (/ERROR|Failed to produce|Delivery failed/i.test(result.stderr)) {
    throw new Error(`kcat -P reported errors:\n${result.stderr.slice(-4000)}`);
  }
}

/** Consumes a partition from the beginning to its end (-e) as JSON (-J), verifying CRCs. */
export async function kcatConsumeAll(
  bootstrap: string,
  topic: string,
  opts: { partition?: number; offset?: string; timeoutMs?: number } = {},
): Promise<KcatMessage[]> {
  const args = [
    '-C', '-b', bootstrap, '-t', topic, '-p', String(opts.partition ?? 0), '-o', opts.offset ?? 'beginning',
    '-e', '-J', '-q', '-X', 'check.crcs=true',
  ];
  const result = await runCommand(KCAT, args, { timeoutMs: opts.timeoutMs ?? 120_000 });
  const text = expectSuccess(result);
  if (/ERROR/i.test(result.stderr)) throw new Error(`kcat -C reported errors:\n${result.stderr.slice(-4000)}`);
  return parseKcatJsonLines(text);
}

/** Parses kcat -J output; a trailing line without its newline (a stream still being written) is ignored. */
export function parseKcatJsonLines(text: string): KcatMessage[] {
  const out: KcatMessage[] = [];
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    if (!line.startsWith('{')) continue;
    const j = JSON.parse(line) as KcatJson;
    const headers: Array<[string, string | null]> = [];
    const flat = j.headers ?? [];
    for (let i = 0; i + 1 < flat.length; i += 2) headers.push([String(flat[i]), flat[i + 1] ?? null]);
    out.push({ topic: j.topic, partition: j.partition, offset: j.offset, tstype: j.tstype, ts: j.ts, key: j.key, payload: j.payload, headers });
  }
  return out;
}

export interface KcatMetadata {
  originatingBroker: { id: number; name: string };
  brokers: Array<{ id: number; name: string }>;
  topics: Array<{ topic: string; error?: string; partitions: Array<{ partition: number; leader: number; replicas: Array<{ id: number }>; isrs: Array<{ id: number }> }> }>;
}

export async function kcatMetadata(bootstrap: string, topic?: string): Promise<KcatMetadata> {
  const args = ['-L', '-J', '-b', bootstrap, ...(topic ? ['-t', topic] : [])];
  const text = expectSuccess(await runCommand(KCAT, args, { timeoutMs: 30_000 }));
  const brace = text.indexOf('{');
  return JSON.parse(text.slice(brace)) as KcatMetadata;
}
