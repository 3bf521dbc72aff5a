/**
 * Durability: acknowledged (acks=all) records survive kill -9, and a torn or corrupt tail of the active
 * segment is cut back to the last whole batch on restart, leaving everything before it readable and the
 * log writable at the next offset.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeSegment, assertToolsPresent, cleanupAll, kcatConsumeAll, kcatProduce, makeTempDir, PY_DIR, PYTHON,
  segmentFiles, spawnBackground, startNode, storedBatches, toolGate, waitFor, type FluxoNode, type KcatMessage,
} from '../harness/index.js';

const gate = toolGate(['kcat', 'confluent_kafka']);

function readAcks(file: string): Array<{ offset: number; value: string }> {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const space = l.indexOf(' ');
      return { offset: Number(l.slice(0, space)), value: l.slice(space + 1) };
    });
}

function countLines(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const buf = fs.readFileSync(file);
  let n = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/** Offsets are contiguous from 0 and every acknowledged record sits at its acknowledged offset. */
function expectAllAcknowledgedPresent(consumed: KcatMessage[], acked: Array<{ offset: number; value: string }>): void {
  const badOffsets = consumed.filter((m, i) => m.offset !== i).slice(0, 3);
  expect(badOffsets, 'consumed offsets must be contiguous from 0').toEqual([]);
  const missing = acked.filter((a) => consumed[a.offset]?.payload !== a.value).slice(0, 5);
  expect(missing, `acknowledged records missing after restart (of ${acked.length} acked, ${consumed.length} read)`).toEqual([]);
}

describe.skipIf(gate.skip)('durability', () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await makeTempDir('durability');
  });
  afterAll(cleanupAll);

  it('has the peer tools', () => assertToolsPresent(gate.missing));

  it('every acks=all acknowledged record survives kill -9 (twice), in order, no corrupt batch', { timeout: 240_000 }, async () => {
    // Small segments: recovery has to cross segment rolls and rebuild several indexes.
    const node = await startNode({ set: { 'log.segment.bytes': String(1024 * 1024) } });
    const topic = 'durable';
    const ackFile = path.join(workDir, 'acks.txt');
    const ACKED_BEFORE_KILL = 15_000;

    for (const cycle of [1, 2]) {
      const producer = spawnBackground(PYTHON, [
        '-u', path.join(PY_DIR, 'durable_producer.py'), '--bootstrap', node.bootstrap, '--topic', topic,
        '--ack-file', ackFile, '--prefix', `c${cycle}`, '--max-seconds', '120',
      ]);
      const target = countLines(ackFile) + ACKED_BEFORE_KILL;
      await waitFor(
        () => {
          if (producer.child.exitCode !== null) throw new Error(`producer exited early: ${producer.stderr()}`);
          return countLines(ackFile) >= target;
        },
        { timeoutMs: 90_000, intervalMs: 20, what: `${ACKED_BEFORE_KILL} acknowledgements (cycle ${cycle})\n${node.logTail(20)}` },
      );
      // Crash the node while the producer still has requests in flight, then stop the producer.
      await node.kill('SIGKILL');
      await producer.kill('SIGKILL');
      await node.restart();

      const acked = readAcks(ackFile);
      const consumed = await kcatConsumeAll(node.bootstrap, topic, { timeoutMs: 120_000 });
      expect(consumed.length).toBeGreaterThanOrEqual(acked.length);
      expectAllAcknowledgedPresent(consumed, acked);
      // Producer order is log order: values increase strictly along the log.
      const outOfOrder = consumed.findIndex((m, i) => i > 0 && !(m.payload! > consumed[i - 1]!.payload!));
      expect(outOfOrder, 'first offset whose value does not follow its predecessor').toBe(-1);
    }

    // The recovered log takes new writes at the next offset.
    const end = (await kcatConsumeAll(node.bootstrap, topic)).length;
    await kcatProduce(node.bootstrap, topic, { input: 'after-1\nafter-2\n', partition: 0 });
    const tail = await kcatConsumeAll(node.bootstrap, topic, { offset: String(end) });
    expect(tail.map((m) => [m.offset, m.payload])).toEqual([[end, 'after-1'], [end + 1, 'after-2']]);
    await node.stop();
  });

  it('graceful stop (SIGTERM) exits 0; the restarted node serves everything and continues the offsets', { timeout: 120_000 }, async () => {
    const node = await startNode();
    const values = Array.from({ length: 3000 }, (_, i) => `graceful-${i}`);
    for (let r = 0; r < 3; r++) {
      await kcatProduce(node.bootstrap, 'graceful', { input: values.slice(r * 1000, (r + 1) * 1000).join('\n') + '\n', partition: 0 });
    }
    await node.stop();
    await node.restart();
    const got = await kcatConsumeAll(node.bootstrap, 'graceful');
    expect(got.map((m) => m.payload)).toEqual(values);
    await kcatProduce(node.bootstrap, 'graceful', { input: 'next\n', partition: 0 });
    const tail = await kcatConsumeAll(node.bootstrap, 'graceful', { offset: '3000' });
    expect(tail.map((m) => [m.offset, m.payload])).toEqual([[3000, 'next']]);
    await node.stop();
  });

  describe('torn tail of the active segment after a crash', () => {
    let node: FluxoNode;
    beforeAll(async () => {
      // Segments of a few batches each: the damaged batch may be alone in the active segment.
      node = await startNode({ set: { 'log.segment.bytes': '10000' } });
    });

    /** Writes ROUNDS separate kcat runs (so several batches), crashes the node, lets `tamper` damage the
     * active segment, restarts, and checks the log was cut back to `expectedEnd(batches)`. */
    async function scenario(topic: string, tamper: (segment: string, lastBatch: { position: number; sizeBytes: number; baseOffset: number }) => number): Promise<void> {
      const ROUNDS = 5;
      const PER_ROUND = 200;
      const values: string[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const lines = Array.from({ length: PER_ROUND }, (_, i) => `${topic}-${r * PER_ROUND + i}`);
        values.push(...lines);
        await kcatProduce(node.bootstrap, topic, { input: lines.join('\n') + '\n', partition: 0 });
      }
      await node.kill('SIGKILL');
      const segment = activeSegment(node.dataDir, topic);
      const batches = segmentFiles(node.dataDir, topic).flatMap((f) => storedBatches(f));
      expect(batches.length).toBeGreaterThanOrEqual(ROUNDS);
      expect(batches.at(-1)!.lastOffset).toBe(values.length - 1);
      // The last batch is in the active segment.
      expect(storedBatches(segment).at(-1)).toEqual(batches.at(-1));
      const expectedEnd = tamper(segment, batches.at(-1)!);
      await node.restart();

      const recovered = await kcatConsumeAll(node.bootstrap, topic);
      expect(recovered.map((m) => m.offset)).toEqual(Array.from({ length: expectedEnd }, (_, i) => i));
      expect(recovered.map((m) => m.payload)).toEqual(values.slice(0, expectedEnd));

      await kcatProduce(node.bootstrap, topic, { input: 'fresh-1\nfresh-2\nfresh-3\n', partition: 0 });
      const all = await kcatConsumeAll(node.bootstrap, topic);
      expect(all.slice(expectedEnd).map((m) => [m.offset, m.payload])).toEqual([
        [expectedEnd, 'fresh-1'], [expectedEnd + 1, 'fresh-2'], [expectedEnd + 2, 'fresh-3'],
      ]);
      expect(all).toHaveLength(expectedEnd + 3);
    }

    it('garbage appended after the last batch is dropped; nothing is lost', { timeout: 120_000 }, async () => {
      await scenario('torn-garbage', (segment) => {
        fs.appendFileSync(segment, crypto.randomBytes(777));
        return 1000;
      });
    });

    it('a half-written last batch is cut off; the log ends at the previous batch', { timeout: 120_000 }, async () => {
      await scenario('torn-truncated', (segment, last) => {
        fs.truncateSync(segment, last.position + Math.floor(last.sizeBytes / 2));
        return last.baseOffset;
      });
    });

    it('a last batch cut inside its header is cut off', { timeout: 120_000 }, async () => {
      await scenario('torn-header', (segment, last) => {
        fs.truncateSync(segment, last.position + 30);
        return last.baseOffset;
      });
    });

    it('a last batch with a flipped byte (CRC mismatch) is cut off', { timeout: 120_000 }, async () => {
      await scenario('torn-crc', (segment, last) => {
        const fd = fs.openSync(segment, 'r+');
        const pos = last.position + last.sizeBytes - 1;
        const b = Buffer.alloc(1);
        fs.readSync(fd, b, 0, 1, pos);
        b[0] = b[0]! ^ 0xff;
        fs.writeSync(fd, b, 0, 1, pos);
        fs.closeSync(fd);
        return last.baseOffset;
      });
    });
  });
});
