// Real clients against the codec: a minimal fake broker (real TCP socket, frames encoded/decoded by this
// package) answers ApiVersions and Metadata; kcat (librdkafka 2.0.2), kafka-python 2.0.2 and kafkajs must
// read the cluster metadata back. Checks header rules (flexible request header v2, ApiVersions response
// header v0), the ApiVersions v0 fallback and flexible Metadata against independent implementations.
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from './api-keys.js';
import { apiByKey } from './apis.js';
import { encodeResponseFrame } from './frames.js';
import { apiVersionsResponseVersion, decodeRequestHeader } from './headers.js';
import { DecodeError } from '@fluxo/common';
import type { ApiVersionsResponse, MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse } from './messages/index.js';
import { decodeRecordBatch, splitBatches, verifyBatchCrc } from './record-batch/index.js';
import { Reader } from './primitives/reader.js';
import { PYTHON } from './testing/python.js';

const run = promisify(execFile);
const TOPIC = 'fluxo-interop';
const TOPIC_ID = Buffer.from('00112233445566778899aabbccddeeff', 'hex').toString('base64url');

/** What this fake broker advertises: ApiVersions and Metadata only, every version the codec speaks. */
// FindCoordinator is advertised (not served) because librdkafka gates its LZ4 feature on it.
const ADVERTISED = [ApiKey.ApiVersions, ApiKey.Metadata, ApiKey.Produce, ApiKey.Fetch, ApiKey.FindCoordinator].map((k) => apiByKey(k)!);
/** Advertised maxima: what clients on this machine handle (see shared/reference/kafka-clients.md). */
const MAX_ADVERTISED: Record<number, number> = { [ApiKey.ApiVersions]: 3, [ApiKey.Produce]: 7, [ApiKey.Fetch]: 11 };

interface ProducedBatch {
  clientId: string | null;
  produceVersion: number;
  compression: number;
  values: string[];
}

class FakeBroker {
  readonly received: string[] = [];
  readonly produced: ProducedBatch[] = [];
  private server = net.createServer((socket) => this.serve(socket));
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.close();
    await new Promise((r) => setImmediate(r));
  }

  private serve(socket: net.Socket): void {
    let pending = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        const response = this.handle(frame);
        if (response === null) {
          socket.destroy();
          return;
        }
        socket.write(response);
      }
    });
  }

  private handle(frame: Buffer): Buffer | null {
    const r = new Reader(frame);
    const header = decodeRequestHeader(r);
    this.received.push(`${header.apiKey}v${header.apiVersion}`);
    const codec = apiByKey(header.apiKey);
    if (header.apiKey === ApiKey.ApiVersions) {
      const version = apiVersionsResponseVersion(header.apiVersion);
      const supported = version === header.apiVersion;
      if (supported) codec!.decodeRequest(header.apiVersion, r);
      const body: ApiVersionsResponse = {
        errorCode: supported ? 0 : 35,
        apiKeys: ADVERTISED.map((c) => ({ apiKey: c.apiKey, minVersion: c.minVersion, maxVersion: MAX_ADVERTISED[c.apiKey] ?? c.maxVersion })),
        throttleTimeMs: 0,
      };
      return encodeResponseFrame(ApiKey.ApiVersions, version, header.correlationId, body);
    }
    if (header.apiKey === ApiKey.Metadata && codec !== undefined) {
      const req = codec.decodeRequest(header.apiVersion, r) as MetadataRequest;
      const wanted = req.topics === null || req.topics.length === 0 || req.topics.some((t) => t.name === TOPIC);
      const body: MetadataResponse = {
        throttleTimeMs: 0,
        brokers: [{ nodeId: 1, host: '127.0.0.1', port: this.port, rack: null }],
        clusterId: 'fluxo-test',
        controllerId: 1,
        topics: wanted
          ? [{
              errorCode: 0,
              name: TOPIC,
              topicId: TOPIC_ID,
              isInternal: false,
              partitions: [0, 1].map((p) => ({ errorCode: 0, partitionIndex: p, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] })),
              topicAuthorizedOperations: -2147483648,
            }]
          : [],
        clusterAuthorizedOperations: -2147483648,
      };
      return encodeResponseFrame(ApiKey.Metadata, header.apiVersion, header.correlationId, body);
    }
    if (header.apiKey === ApiKey.Produce && codec !== undefined) {
      const req = codec.decodeRequest(header.apiVersion, r) as ProduceRequest;
      const body: ProduceResponse = {
        throttleTimeMs: 0,
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => {
            let errorCode = 0;
            try {
              for (const batch of splitBatches(p.records ?? Buffer.alloc(0))) {
                if (!verifyBatchCrc(batch)) throw new DecodeError('crc', 2);
                const d = decodeRecordBatch(batch);
                this.produced.push({ clientId: header.clientId, produceVersion: header.apiVersion, compression: d.compression, values: d.records.map((x) => x.value?.toString() ?? '') });
              }
            } catch (err) {
              errorCode = err instanceof DecodeError ? 2 : -1;
            }
            return { index: p.index, errorCode, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 };
          }),
        })),
      };
      if (req.acks === 0) return Buffer.alloc(0);
      return encodeResponseFrame(ApiKey.Produce, header.apiVersion, header.correlationId, body);
    }
    return null; // anything else: close, like a broker that does not know the API
  }
}

describe('real clients read metadata from a codec-driven fake broker', () => {
  const broker = new FakeBroker();
  beforeAll(() => broker.start());
  afterAll(() => broker.stop());

  it('kcat / librdkafka (ApiVersions v3 flexible, Metadata flexible)', async () => {
    const { stdout } = await run('kcat', ['-L', '-J', '-b', `127.0.0.1:${broker.port}`, '-m', '10'], { timeout: 30_000 });
    const md = JSON.parse(stdout) as { brokers: { id: number }[]; topics: { topic: string; partitions: unknown[] }[] };
    expect(md.brokers.map((b) => b.id)).toEqual([1]);
    const topic = md.topics.find((t) => t.topic === TOPIC);
    expect(topic?.partitions).toHaveLength(2);
    expect(broker.received).toContain('18v3');
  });

  it('kafka-python (ApiVersions v0 probe, classic Metadata)', async () => {
    const script = `
from kafka import KafkaConsumer
c = KafkaConsumer(bootstrap_servers='127.0.0.1:${broker.port}', api_version_auto_timeout_ms=10000)
print(sorted(c.topics()))
print(sorted(c.partitions_for_topic('${TOPIC}')))
c.close()
`;
    const { stdout } = await run(PYTHON, ['-c', script], { timeout: 60_000 });
    expect(stdout).toContain(`['${TOPIC}']`);
    expect(stdout).toContain('[0, 1]');
  });

  it('kafkajs (ApiVersions v2, Metadata)', async () => {
    const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: 'interop', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
      expect(md.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1]);
    } finally {
      await admin.disconnect();
    }
  });

  it('a future ApiVersions version is answered in v0 with UNSUPPORTED_VERSION', async () => {
    const socket = net.connect(broker.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    // ApiVersions v9, header v2: key, version, correlation, client id, empty tagged fields; then junk body.
    const req = Buffer.from('001200090000002a0001780001020304', 'hex');
    const size = Buffer.alloc(4);
    size.writeInt32BE(req.length);
    socket.write(Buffer.concat([size, req]));
    const data = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    socket.destroy();
    const r = new Reader(data, 4);
    expect(r.readInt32()).toBe(42); // header v0: correlation id only
    expect(r.readInt16()).toBe(35);
    expect(r.readInt32()).toBe(ADVERTISED.length); // v0 body: classic int32 array length
  });

  it.each(['none', 'gzip', 'snappy', 'lz4', 'zstd'])('kcat produces %s batches the codec decodes', async (codec) => {
    const values = Array.from({ length: 50 }, (_, i) => `${codec}-message-${i}-${'x'.repeat(i)}`);
    const child = execFile('kcat', ['-P', '-b', `127.0.0.1:${broker.port}`, '-t', TOPIC, '-p', '0', '-z', codec, '-X', 'linger.ms=50']);
    child.stdin!.end(values.join('\n') + '\n');
    await new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exit ${code}`)))));
    const got = broker.produced.filter((b) => b.values.some((v) => v.startsWith(`${codec}-`)));
    expect(got.flatMap((b) => b.values)).toEqual(values);
    const codecId = ['none', 'gzip', 'snappy', 'lz4', 'zstd'].indexOf(codec);
    expect(got.every((b) => b.compression === codecId)).toBe(true);
  });

  it.each(['gzip', 'snappy', 'lz4'])('kafka-python produces %s batches (snappy: xerial framing) the codec decodes', async (codec) => {
    const script = `
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers='127.0.0.1:${broker.port}', api_version=(2, 0, 0), compression_type='${codec}', linger_ms=50)
for i in range(40):
    p.send('${TOPIC}', value=('py-${codec}-%d-' % i).encode() * 20, partition=1)
p.flush(timeout=20)
p.close()
`;
    await run(PYTHON, ['-c', script], { timeout: 60_000 });
    const got = broker.produced.filter((b) => b.values.some((v) => v.startsWith(`py-${codec}-`)));
    expect(got.flatMap((b) => b.values)).toEqual(Array.from({ length: 40 }, (_, i) => `py-${codec}-${i}-`.repeat(20)));
    const codecId = ['none', 'gzip', 'snappy', 'lz4', 'zstd'].indexOf(codec);
    expect(got.every((b) => b.compression === codecId)).toBe(true);
  });

  it.each([CompressionTypes.None, CompressionTypes.GZIP])('kafkajs produces codec %i batches the codec decodes', async (compression) => {
    const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: `kafkajs-${compression}`, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `js-${compression}-${i}`, headers: { trace: `t${i}` } }));
      await producer.send({ topic: TOPIC, compression, messages: messages.map((m) => ({ ...m, partition: 0 })) });
    } finally {
      await producer.disconnect();
    }
    const got = broker.produced.filter((b) => b.clientId === `kafkajs-${compression}`);
    expect(got.flatMap((b) => b.values)).toEqual(Array.from({ length: 30 }, (_, i) => `js-${compression}-${i}`));
    expect(got.every((b) => b.compression === compression)).toBe(true);
  });
});
