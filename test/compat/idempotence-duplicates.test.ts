/**
 * Duplicates provoked with real clients and real sockets: a TCP proxy in front of the node (which advertises
 * the proxy's address) loses Produce responses after the broker wrote the batches, so librdkafka
 * (confluent-kafka-python, enable.idempotence=True) retries batches the log already holds. Every record must be stored once. Then the
 * exact bytes of a Produce request librdkafka sent are replayed on a fresh connection: the broker answers
 * with the original offset and writes nothing.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, Reader, apis, decodeRequestHeader, decodeResponseFrameBody, wholeBatches, type ProduceResponse } from '@fluxo/protocol';
import { FaultProxy } from '../../packages/client/src/testing/fault-proxy.js';
import { RawConnection } from '../harness/kafka-wire.js';
import { assertToolsPresent, cleanupAll, kcatConsumeAll, kcatProduce, runPythonJson, startNode, toolGate } from '../harness/index.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Records carried by Produce request frames (size prefix included), counted from their batch headers. */
function recordsSent(frames: readonly Buffer[]): number {
  let n = 0;
  for (const frame of frames) {
    const r = new Reader(frame, 4);
    const header = decodeRequestHeader(r);
    const request = apis.Produce.decodeRequest(header.apiVersion, r);
    for (const t of request.topicData) for (const p of t.partitionData) for (const b of wholeBatches(p.records!)) n += b.readInt32BE(57);
  }
  return n;
}

const gate = toolGate(['kcat', 'confluent_kafka']);
const confluentGate = gate;
const COUNT = 1000;

interface LossyResult {
  notFlushed: number;
  delivered: number;
  deliveryErrors: string[];
  fatalErrors: string[];
  transportErrors: number;
  consumedValues: string[];
  offsetsMatchDelivery: boolean;
  offsetsContiguous: boolean;
}

describe.skipIf(gate.skip)('idempotence: lost responses and replayed requests (librdkafka)', () => {
  let proxy: FaultProxy;
  let nodePort: number;
  beforeAll(async () => {
    nodePort = await freePort();
    proxy = await FaultProxy.start(() => ({ host: '127.0.0.1', port: nodePort }));
    await startNode({ port: nodePort, set: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxy.port}`, 'num.partitions': '1' } });
  });
  afterAll(async () => {
    await proxy?.close();
    await cleanupAll();
  });

  it('has the peer tools', () => assertToolsPresent(gate.missing));

  it('confluent-kafka enable.idempotence=true: Produce responses lost after the write, every record stored once, in order', { timeout: 120_000 }, async () => {
    assertToolsPresent(confluentGate.missing);
    const bootstrap = `127.0.0.1:${proxy.port}`;
    // kcat would exit when its only connection drops (all brokers down): it writes the first batch, cleanly.
    await kcatProduce(bootstrap, 'dups', { input: 'warm-up\n', partition: 0, config: { 'enable.idempotence': 'true' } });
    const before = proxy.produceRequests.length;
    proxy.dropProduceResponses = 3;
    const r = await runPythonJson<LossyResult>('idempotence_lossy.py', ['--bootstrap', bootstrap, '--topic', 'dups', '--count', String(COUNT), '--prefix', 'dup']);
    expect(proxy.dropProduceResponses).toBe(0);
    expect(r.fatalErrors).toEqual([]);
    expect(r.deliveryErrors).toEqual([]);
    expect(r.notFlushed).toBe(0);
    expect(r.delivered).toBe(COUNT);
    expect(r.transportErrors).toBeGreaterThan(0); // the cuts happened
    // librdkafka resent batches the broker had written: more records reached it than it stored.
    expect(recordsSent(proxy.produceRequests.slice(before))).toBeGreaterThan(COUNT);
    expect(r.consumedValues).toEqual(Array.from({ length: COUNT }, (_, i) => `dup-${i}`));
    expect(r.offsetsMatchDelivery).toBe(true);
    expect(r.offsetsContiguous).toBe(true);
    const msgs = await kcatConsumeAll(bootstrap, 'dups');
    expect(msgs.map((m) => m.payload)).toEqual(['warm-up', ...r.consumedValues]);
  });

  it('a Produce request replayed byte for byte on a new connection gets the original offset and writes nothing', async () => {
    // The request kcat (librdkafka, idempotent) sent for the warm-up record: its batch is at offset 0.
    const frame = proxy.produceRequests[0]!;
    const version = frame.readInt16BE(6);
    const correlationId = frame.readInt32BE(8);
    const raw = await RawConnection.connect('127.0.0.1', nodePort);
    try {
      const first = decodeResponseFrameBody<ProduceResponse>(ApiKey.Produce, version, await raw.request(Buffer.from(frame)));
      const again = decodeResponseFrameBody<ProduceResponse>(ApiKey.Produce, version, await raw.request(Buffer.from(frame)));
      for (const response of [first, again]) {
        expect(response.responses[0]!.partitionResponses[0]).toMatchObject({ index: 0, errorCode: 0, baseOffset: 0 });
      }
      expect(frame.readInt32BE(8)).toBe(correlationId);
    } finally {
      raw.destroy();
    }
    const msgs = await kcatConsumeAll(`127.0.0.1:${proxy.port}`, 'dups');
    expect(msgs).toHaveLength(COUNT + 1); // nothing written by the replays
    expect(msgs.filter((m) => m.payload === 'warm-up')).toHaveLength(1);
  });
});
