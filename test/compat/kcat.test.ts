/**
 * kcat (librdkafka 2.0.2) against a live node: metadata, the protocol features librdkafka enables from our
 * ApiVersions, a ~1 MB record, and 100,000 keyed messages with headers through produce and consume for
 * every compression codec, compared in full and checked on disk (stored as sent, in the requested codec).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertToolsPresent, cleanupAll, KCAT, kcatConsumeAll, kcatMetadata, kcatProduce, makeTempDir, runCommand,
  segmentFiles, startNode, storedBatches, toolGate, type FluxoNode, type KcatMessage,
} from '../harness/index.js';

const gate = toolGate(['kcat']);
const MESSAGES = 100_000;
// Codec id in the batch attributes (bits 0-2) for each librdkafka codec name.
const CODECS = [
  { name: 'none', id: 0, viaX: true },
  { name: 'gzip', id: 1, viaX: false },
  { name: 'snappy', id: 2, viaX: false },
  { name: 'lz4', id: 3, viaX: false },
  { name: 'zstd', id: 4, viaX: true },
] as const;

/** Deterministic filler so values differ and compress like real data, not like a run of one byte. */
function filler(i: number): string {
  const words = ['order', 'fill', 'cancel', 'EUR', 'USD', 'qty', 'px', 'acct', 'ok', 'ack'];
  let s = '';
  let x = (i * 2654435761) >>> 0;
  const n = x % 12;
  for (let w = 0; w < n; w++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += `${words[x % words.length]}=${x % 10007};`;
  }
  return s;
}

describe.skipIf(gate.skip)('kcat', () => {
  let node: FluxoNode;
  let workDir: string;

  beforeAll(async () => {
    node = await startNode();
    workDir = await makeTempDir('kcat');
  });
  afterAll(cleanupAll);

  it('has the peer tools', () => assertToolsPresent(gate.missing));

  it('-L lists the node (advertised host:port) and the topics', async () => {
    await kcatProduce(node.bootstrap, 'kcat-meta', { input: 'hello\n' });
    const md = await kcatMetadata(node.bootstrap);
    expect(md.brokers).toHaveLength(1);
    expect(md.brokers[0]!.name).toBe(`127.0.0.1:${node.port}`);
    const topic = md.topics.find((t) => t.topic === 'kcat-meta');
    expect(topic, `topics: ${md.topics.map((t) => t.topic).join(',')}`).toBeDefined();
    expect(topic!.error).toBeUndefined();
    expect(topic!.partitions.map((p) => p.partition)).toEqual([0]);
    expect(topic!.partitions[0]!.leader).toBe(md.brokers[0]!.id);
  });

  it('librdkafka enables the features it needs (MsgVer2, OffsetTime, ZSTD, LZ4) and may compress with every codec', async () => {
    const r = await runCommand(KCAT, ['-L', '-b', node.bootstrap, '-d', 'feature,protocol'], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    const enabled = [...r.stderr.matchAll(/Enabling feature (\w+)/g)].map((m) => m[1]);
    const disabled = [...r.stderr.matchAll(/Disabling feature (\w+)/g)].map((m) => m[1]);
    // LZ4 depends on FindCoordinator v0 being advertised (librdkafka's proxy for broker >= 0.8.2).
    expect({ missing: ['MsgVer2', 'ApiVersion', 'OffsetTime', 'ZSTD', 'LZ4'].filter((f) => !enabled.includes(f)), disabled }).toMatchObject({ missing: [] });
    // librdkafka <= 2.11 only compresses gzip/snappy/lz4 if the advertised Produce range reaches down to v0
    // (rdkafka_msgset_writer.c compr_req), else it silently sends those batches uncompressed.
    const produce = /ApiKey Produce \(0\) Versions (\d+)\.\.(\d+)/.exec(r.stderr);
    expect(produce, 'Produce in the ApiVersions response').not.toBeNull();
    expect(Number(produce![1]), `advertised Produce ${produce![1]}..${produce![2]}`).toBe(0);
  });

  it('a record of almost max.message.bytes (1,000,000 B) round-trips', async () => {
    const big = 'b'.repeat(1_000_000);
    // librdkafka's own limit (message.max.bytes, 1,000,000 by default) also bounds kcat's input line.
    await kcatProduce(node.bootstrap, 'kcat-big', { input: `${big}\nsmall\n`, partition: 0, config: { 'message.max.bytes': '1048588' } });
    const got = await kcatConsumeAll(node.bootstrap, 'kcat-big');
    expect(got.map((m) => m.payload?.length)).toEqual([1_000_000, 5]);
    expect(got[0]!.payload === big).toBe(true);
  });

  for (const codec of CODECS) {
    it(`-P then -C -e: ${MESSAGES} keyed messages with headers, compression ${codec.name}`, { timeout: 240_000 }, async () => {
      const topic = `kcat-${codec.name}`;
      const input = path.join(workDir, `${topic}.txt`);
      const lines: string[] = [];
      for (let i = 0; i < MESSAGES; i++) lines.push(`key-${i}\tvalue-${codec.name}-${i}-${filler(i)}`);
      fs.writeFileSync(input, lines.join('\n') + '\n');
      const headers = { codec: codec.name, app: 'fluxo-compat' };
      const before = Date.now();

      await kcatProduce(node.bootstrap, topic, { inputFile: input, keyDelimiter: '\t', headers, codec: codec.name, codecViaX: codec.viaX, timeoutMs: 180_000 });
      const got = await kcatConsumeAll(node.bootstrap, topic, { timeoutMs: 180_000 });

      expect(got.length).toBe(MESSAGES);
      let firstMismatch: { index: number; got: KcatMessage } | undefined;
      for (let i = 0; i < MESSAGES && !firstMismatch; i++) {
        const m = got[i]!;
        const ok =
          m.offset === i &&
          m.partition === 0 &&
          m.key === `key-${i}` &&
          m.payload === lines[i]!.slice(lines[i]!.indexOf('\t') + 1) &&
          m.headers.length === 2 &&
          m.headers[0]![0] === 'codec' && m.headers[0]![1] === codec.name &&
          m.headers[1]![0] === 'app' && m.headers[1]![1] === 'fluxo-compat';
        if (!ok) firstMismatch = { index: i, got: m };
      }
      expect(firstMismatch).toBeUndefined();
      // CreateTime timestamps set by the producer come back unchanged.
      expect(got[0]!.tstype).toBe('create');
      expect(got[0]!.ts).toBeGreaterThanOrEqual(before - 1000);

      // The node stores batches as the producer compressed them (no re-encoding on the broker). librdkafka
      // sends a batch uncompressed when compression would not shrink it (tiny batches), and silently drops
      // the codec altogether when the broker's ApiVersions fail its feature checks — so most records must
      // sit in batches carrying the requested codec.
      const batches = segmentFiles(node.dataDir, topic).flatMap((f) => storedBatches(f));
      expect(batches.reduce((n, b) => n + b.recordCount, 0)).toBe(MESSAGES);
      const codecs = new Set(batches.map((b) => b.compression));
      codecs.delete(0);
      expect([...codecs]).toEqual(codec.id === 0 ? [] : [codec.id]);
      const inCodec = batches.filter((b) => b.compression === codec.id).reduce((n, b) => n + b.recordCount, 0);
      expect(inCodec, `records stored with codec ${codec.name}`).toBeGreaterThanOrEqual(MESSAGES * 0.9);
    });
  }
});
