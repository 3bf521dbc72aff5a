/**
 * Python clients against a live node: confluent-kafka-python (librdkafka) with every codec and acks=1 /
 * acks=all, consuming via assign() and looking offsets up by timestamp; kafka-python (pure Python, old
 * protocol versions, xerial snappy) with every codec.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertToolsPresent, cleanupAll, CODEC_ID, runPythonJson, startNode, storedRecordsByCodec, toolGate, type FluxoNode,
} from '../harness/index.js';

const COUNT = 2000;

/** The client really compressed: (nearly) all records sit in batches with the requested codec, as sent. */
function expectStoredWithCodec(dataDir: string, topic: string, codec: string): void {
  const byCodec = storedRecordsByCodec(dataDir, topic);
  const id = CODEC_ID[codec]!;
  const total = Object.values(byCodec).reduce((a, b) => a + b, 0);
  expect(total).toBe(COUNT);
  expect(byCodec[id] ?? 0, `records per stored codec id: ${JSON.stringify(byCodec)}`).toBeGreaterThanOrEqual(COUNT * 0.9);
}

interface ConfluentResult {
  count: number;
  notFlushed: number;
  delivered: number;
  producerErrors: string[];
  offsetsInProduceOrder: boolean;
  firstOffsets: Array<number | null>;
  consumed: number;
  reachedEof: boolean;
  consumerErrors: string[];
  mismatches: string[];
  offsetsForTimes: Record<'beforeFirst' | 'exactFirst' | 'middle' | 'exactLast' | 'afterLast', number | string>;
}

interface KafkaPythonResult {
  count: number;
  probedApiVersion: string;
  producerErrors: string[];
  offsetsInProduceOrder: boolean;
  firstOffsets: Array<number | null>;
  consumed: number;
  consumerErrors: string[];
  mismatches: string[];
}

const confluentGate = toolGate(['confluent_kafka']);
describe.skipIf(confluentGate.skip)('confluent-kafka-python (librdkafka)', () => {
  let node: FluxoNode;
  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(cleanupAll);

  it('has the peer tools', () => assertToolsPresent(confluentGate.missing));

  for (const acks of ['1', 'all']) {
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      it(`acks=${acks} codec=${codec}: produce ${COUNT}, consume via assign, offsets_for_times`, { timeout: 150_000 }, async () => {
        const topic = `confluent-${acks}-${codec}`;
        const r = await runPythonJson<ConfluentResult>('confluent_roundtrip.py', [
          '--bootstrap', node.bootstrap, '--topic', topic, '--acks', acks, '--codec', codec, '--count', String(COUNT),
        ]);
        expect(r.producerErrors).toEqual([]);
        expect(r.notFlushed).toBe(0);
        expect(r.delivered).toBe(COUNT);
        expect(r.offsetsInProduceOrder, `first offsets ${JSON.stringify(r.firstOffsets)}`).toBe(true);
        expect(r.consumerErrors).toEqual([]);
        expect(r.mismatches).toEqual([]);
        expect(r.consumed).toBe(COUNT);
        expect(r.reachedEof).toBe(true);
        // ListOffsets by timestamp: the first offset whose timestamp is >= the target; none -> -1 (end).
        expect(r.offsetsForTimes).toEqual({ beforeFirst: 0, exactFirst: 0, middle: 51, exactLast: COUNT - 1, afterLast: -1 });
        expectStoredWithCodec(node.dataDir, topic, codec);
      });
    }
  }
});

const kafkaPythonGate = toolGate(['kafka-python', 'python-codecs']);
describe.skipIf(kafkaPythonGate.skip)('kafka-python 2.0.2', () => {
  let node: FluxoNode;
  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(cleanupAll);

  it('has the peer tools', () => assertToolsPresent(kafkaPythonGate.missing));

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    it(`codec=${codec}: probe versions, produce ${COUNT}, consume via assign`, { timeout: 150_000 }, async () => {
      const topic = `kafka-python-${codec}`;
      const r = await runPythonJson<KafkaPythonResult>('kafka_python_roundtrip.py', [
        '--bootstrap', node.bootstrap, '--topic', topic, '--codec', codec, '--count', String(COUNT),
      ]);
      expect(r.producerErrors).toEqual([]);
      expect(r.offsetsInProduceOrder, `first offsets ${JSON.stringify(r.firstOffsets)}`).toBe(true);
      expect(r.consumerErrors).toEqual([]);
      expect(r.mismatches).toEqual([]);
      expect(r.consumed).toBe(COUNT);
      // The probe must land on a version that speaks magic-2 batches (>= 0.11).
      const [major, minor] = r.probedApiVersion.split('.').map(Number);
      expect(major! > 0 || minor! >= 11, `kafka-python inferred broker version ${r.probedApiVersion}`).toBe(true);
      expectStoredWithCodec(node.dataDir, topic, codec);
    });
  }
});
