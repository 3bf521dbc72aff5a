/**
 * Bad input over raw sockets: garbage, truncated and oversized frames, unknown APIs and versions, corrupt
 * batches and missing topics each get the proper Kafka error code or a closed connection, and a socket-
 * level fuzz of mutated frames cannot take the node down. Meanwhile a well-behaved kafkajs producer and a
 * kcat consumer keep working and lose nothing.
 */
import crypto from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API, decodeApiVersionsV0, decodeFetchV4, decodeMetadataV1Topics, decodeProduceV3, fetchV4Body, metadataV1Body,
  produceV3Body, RawConnection, recordBatch, requestFrame,
} from '../harness/kafka-wire.js';
import {
  assertToolsPresent, cleanupAll, KCAT, parseKcatJsonLines, spawnBackground, startNode, toolGate, waitFor,
  type BackgroundProcess, type FluxoNode,
} from '../harness/index.js';

const gate = toolGate(['kcat']);
const ERR = { NONE: 0, OFFSET_OUT_OF_RANGE: 1, CORRUPT_MESSAGE: 2, MESSAGE_TOO_LARGE: 10, UNKNOWN_TOPIC_OR_PARTITION: 3, INVALID_REQUIRED_ACKS: 21, UNSUPPORTED_VERSION: 35, UNSUPPORTED_FOR_MESSAGE_FORMAT: 43 };
const TOPIC = 'target';
const GOOD_TOPIC = 'good';

/** Deterministic PRNG (mulberry32) so a failing fuzz run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.skipIf(gate.skip)('bad input', () => {
  let node: FluxoNode;
  let producer: Producer;
  let consumer: BackgroundProcess;
  const acked: Array<{ offset: number; value: string }> = [];
  const producerErrors: string[] = [];
  let producing = true;
  let producerLoop: Promise<void>;
  let correlation = 1000;

  const connect = (): Promise<RawConnection> => RawConnection.connect(node.host, node.port);
  const expectNodeAlive = async (): Promise<void> => {
    expect(node.running(), `node died:\n${node.logTail(40)}`).toBe(true);
    const c = await connect();
    const res = decodeApiVersionsV0(await c.request(requestFrame(API.ApiVersions, 0, 7, Buffer.alloc(0))));
    expect(res.errorCode).toBe(ERR.NONE);
    c.destroy();
  };

  beforeAll(async () => {
    node = await startNode({ set: { 'auto.create.topics.enable': 'false' } });
    const kafka = new Kafka({ clientId: 'well-behaved', brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC }, { topic: GOOD_TOPIC }], waitForLeaders: true });
    await admin.disconnect();

    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    let seq = 0;
    producerLoop = (async () => {
      while (producing) {
        const values = Array.from({ length: 20 }, () => `good-${String(seq++).padStart(8, '0')}`);
        try {
          const [res] = await producer.send({ topic: GOOD_TOPIC, acks: -1, messages: values.map((value) => ({ value, partition: 0 })) });
          values.forEach((value, i) => acked.push({ offset: Number(res!.baseOffset) + i, value }));
        } catch (e) {
          producerErrors.push(String(e));
        }
      }
    })();
    consumer = spawnBackground(KCAT, ['-C', '-b', node.bootstrap, '-t', GOOD_TOPIC, '-p', '0', '-o', 'beginning', '-J', '-q', '-u', '-X', 'check.crcs=true']);
  });

  afterAll(async () => {
    producing = false;
    await producerLoop?.catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await consumer?.kill('SIGKILL');
    await cleanupAll();
  });

  it('has the peer tools', () => assertToolsPresent(gate.missing));

  it('random bytes: connection closed, node stays up', async () => {
    for (let i = 0; i < 10; i++) {
      const c = await connect();
      await c.write(crypto.randomBytes(1 + Math.floor(Math.random() * 65536)));
      c.end();
      expect(await c.waitClosed(10_000)).toBe(true);
    }
    // Random bytes inside a correctly sized frame.
    for (let i = 0; i < 10; i++) {
      const c = await connect();
      const body = crypto.randomBytes(64 + i * 50);
      const sized = Buffer.alloc(4 + body.length);
      sized.writeInt32BE(body.length);
      body.copy(sized, 4);
      await c.write(sized);
      c.end();
      expect(await c.waitClosed(10_000)).toBe(true);
    }
    await expectNodeAlive();
  });

  it('truncated frame then close: node stays up', async () => {
    const frame = requestFrame(API.Metadata, 1, 1, metadataV1Body([TOPIC]));
    for (const cut of [2, 5, 9, frame.length - 1]) {
      const c = await connect();
      await c.write(frame.subarray(0, cut));
      c.destroy();
    }
    const c = await connect();
    await c.write(frame.subarray(0, frame.length - 3));
    c.end();
    expect(await c.waitClosed(10_000)).toBe(true);
    await expectNodeAlive();
  });

  it('oversized frame (size 2^31-1): the node closes the connection without waiting for the body', async () => {
    const c = await connect();
    const head = Buffer.alloc(16);
    head.writeInt32BE(0x7fffffff, 0);
    head.writeInt16BE(API.Produce, 4);
    head.writeInt16BE(7, 6);
    await c.write(head);
    expect(await c.waitClosed(15_000)).toBe(true);
    // A negative size is no better.
    const d = await connect();
    const neg = Buffer.alloc(8);
    neg.writeInt32BE(-5, 0);
    await d.write(neg);
    expect(await d.waitClosed(15_000)).toBe(true);
    await expectNodeAlive();
  });

  it('unknown API key: connection closed (or an error response)', async () => {
    const c = await connect();
    const r = await (async () => {
      await c.write(requestFrame(999, 0, 42, Buffer.alloc(8)));
      return c.next(15_000);
    })();
    expect(r).not.toBe('timeout');
    if (r !== 'closed' && r !== 'timeout') expect(r.readInt32BE(0)).toBe(42);
    await expectNodeAlive();
  });

  it('unsupported API version: ApiVersions answers UNSUPPORTED_VERSION (35) with its range list; others close or 35', async () => {
    const c = await connect();
    // A future client sends a flexible (v2) header: the empty tagged-field byte follows the client id.
    const res = decodeApiVersionsV0(await c.request(requestFrame(API.ApiVersions, 127, 43, Buffer.from([0]))));
    expect(res.correlationId).toBe(43);
    expect(res.errorCode).toBe(ERR.UNSUPPORTED_VERSION);
    expect(res.apis.find((a) => a.apiKey === API.ApiVersions)).toMatchObject({ min: 0 });
    c.destroy();

    const d = await connect();
    await d.write(requestFrame(API.Metadata, 99, 44, metadataV1Body([TOPIC])));
    const r = await d.next(15_000);
    expect(r).not.toBe('timeout');
    if (r !== 'closed' && r !== 'timeout') {
      expect(r.readInt32BE(0)).toBe(44);
      expect(r.subarray(4).includes(Buffer.from([0, ERR.UNSUPPORTED_VERSION]))).toBe(true);
    }
    await expectNodeAlive();
  });

  it('Produce with a wrong batch CRC gets CORRUPT_MESSAGE (2) and stores nothing; the connection stays usable', async () => {
    const c = await connect();
    const good = recordBatch([{ key: Buffer.from('k'), value: Buffer.from('valid') }]);
    const bad = Buffer.from(recordBatch([{ key: Buffer.from('k'), value: Buffer.from('corrupted') }]));
    bad[bad.length - 2] = bad[bad.length - 2]! ^ 0x5a; // inside the CRC-covered records
    const r1 = decodeProduceV3(await c.request(requestFrame(API.Produce, 3, correlation++, produceV3Body(TOPIC, 0, bad))));
    expect(r1.partitions).toEqual([expect.objectContaining({ topic: TOPIC, partition: 0, errorCode: ERR.CORRUPT_MESSAGE })]);
    const r2 = decodeProduceV3(await c.request(requestFrame(API.Produce, 3, correlation++, produceV3Body(TOPIC, 0, good))));
    expect(r2.partitions).toEqual([expect.objectContaining({ errorCode: ERR.NONE, baseOffset: 0 })]);
    const f = decodeFetchV4(await c.request(requestFrame(API.Fetch, 4, correlation++, fetchV4Body(TOPIC, 0, 0))));
    expect(f.partitions[0]).toMatchObject({ errorCode: ERR.NONE, highWatermark: 1 });
    c.destroy();
  });

  it('Produce with invalid acks gets INVALID_REQUIRED_ACKS (21); a legacy magic-1 message set is refused', async () => {
    const c = await connect();
    const batch = recordBatch([{ key: null, value: Buffer.from('x') }]);
    const r1 = decodeProduceV3(await c.request(requestFrame(API.Produce, 3, correlation++, produceV3Body(TOPIC, 0, batch, 5))));
    expect(r1.partitions[0]!.errorCode).toBe(ERR.INVALID_REQUIRED_ACKS);
    // magic 1 message: offset, size, crc, magic=1, attributes, timestamp, key, value
    const legacy = Buffer.alloc(8 + 4 + 4 + 1 + 1 + 8 + 4 + 4 + 1);
    legacy.writeInt32BE(legacy.length - 12, 8);
    legacy.writeInt8(1, 16);
    legacy.writeInt32BE(-1, 26);
    legacy.writeInt32BE(1, 30);
    const r2 = decodeProduceV3(await c.request(requestFrame(API.Produce, 3, correlation++, produceV3Body(TOPIC, 0, legacy))));
    expect([ERR.CORRUPT_MESSAGE, ERR.UNSUPPORTED_FOR_MESSAGE_FORMAT]).toContain(r2.partitions[0]!.errorCode);
    c.destroy();
  });

  it('a batch larger than max.message.bytes gets MESSAGE_TOO_LARGE (10); Fetch past the end gets OFFSET_OUT_OF_RANGE (1)', async () => {
    const c = await connect();
    const huge = recordBatch([{ key: null, value: Buffer.alloc(1_100_000, 7) }]);
    const p = decodeProduceV3(await c.request(requestFrame(API.Produce, 3, correlation++, produceV3Body(TOPIC, 0, huge))));
    expect(p.partitions[0]!.errorCode).toBe(ERR.MESSAGE_TOO_LARGE);
    const f = decodeFetchV4(await c.request(requestFrame(API.Fetch, 4, correlation++, fetchV4Body(TOPIC, 0, 1_000_000))));
    expect(f.partitions[0]!.errorCode).toBe(ERR.OFFSET_OUT_OF_RANGE);
    // The connection is still usable.
    const m = decodeMetadataV1Topics(await c.request(requestFrame(API.Metadata, 1, correlation++, metadataV1Body([TOPIC]))));
    expect(m.topics).toEqual([{ name: TOPIC, errorCode: ERR.NONE }]);
    c.destroy();
  });

  it('Produce / Fetch / Metadata for a missing topic with auto-create off: UNKNOWN_TOPIC_OR_PARTITION (3), not created', async () => {
    const c = await connect();
    const batch = recordBatch([{ key: null, value: Buffer.from('nobody home') }]);
    const p = decodeProduceV3(await c.request(requestFrame(API.Produce, 3, correlation++, produceV3Body('no-such-topic', 0, batch))));
    expect(p.partitions).toEqual([expect.objectContaining({ topic: 'no-such-topic', errorCode: ERR.UNKNOWN_TOPIC_OR_PARTITION })]);
    const f = decodeFetchV4(await c.request(requestFrame(API.Fetch, 4, correlation++, fetchV4Body('no-such-topic', 0, 0))));
    expect(f.partitions).toEqual([expect.objectContaining({ topic: 'no-such-topic', errorCode: ERR.UNKNOWN_TOPIC_OR_PARTITION })]);
    const m = decodeMetadataV1Topics(await c.request(requestFrame(API.Metadata, 1, correlation++, metadataV1Body(['no-such-topic']))));
    expect(m.topics).toEqual([{ name: 'no-such-topic', errorCode: ERR.UNKNOWN_TOPIC_OR_PARTITION }]);
    const all = decodeMetadataV1Topics(await c.request(requestFrame(API.Metadata, 1, correlation++, metadataV1Body(null))));
    expect(all.topics.map((t) => t.name)).not.toContain('no-such-topic');
    // An existing topic with a partition that does not exist.
    const p2 = decodeProduceV3(await c.request(requestFrame(API.Produce, 3, correlation++, produceV3Body(TOPIC, 7, batch))));
    expect(p2.partitions[0]!.errorCode).toBe(ERR.UNKNOWN_TOPIC_OR_PARTITION);
    c.destroy();
  });

  it('socket-level fuzz: 2000 mutated frames cannot take the node down', { timeout: 180_000 }, async () => {
    const seed = Number(process.env.FLUXO_FUZZ_SEED ?? Date.now() % 1_000_000);
    const rand = prng(seed);
    const int = (n: number): number => Math.floor(rand() * n);
    const bases = [
      requestFrame(API.ApiVersions, 0, 1, Buffer.alloc(0)),
      requestFrame(API.Metadata, 1, 2, metadataV1Body([TOPIC, GOOD_TOPIC])),
      requestFrame(API.Produce, 3, 3, produceV3Body(TOPIC, 0, recordBatch([{ key: Buffer.from('fz'), value: Buffer.from('fuzz'), headers: [['h', Buffer.from('v')]] }]))),
      requestFrame(API.Fetch, 4, 4, fetchV4Body(TOPIC, 0, 0)),
    ];
    const mutate = (base: Buffer): Buffer => {
      let body = Buffer.from(base.subarray(4));
      switch (int(4)) {
        case 0: // flip a few bytes
          for (let k = 1 + int(8); k > 0; k--) body[int(body.length)] = int(256);
          break;
        case 1: // cut the body short (size still consistent)
          body = body.subarray(0, int(body.length));
          break;
        case 2: // a length/count field made huge or negative
          if (body.length >= 4) body.writeInt32BE([0x7fffffff, -2, 0x10000000, -1][int(4)]!, int(body.length - 3));
          break;
        default: // random tail appended
          body = Buffer.concat([body, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]);
      }
      const frame = Buffer.alloc(4 + body.length);
      frame.writeInt32BE(body.length);
      body.copy(frame, 4);
      return frame;
    };
    const frames = Array.from({ length: 2000 }, () => mutate(bases[int(bases.length)]!));
    const CONCURRENCY = 8;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < frames.length) {
        const frame = frames[next++]!;
        const c = await connect();
        await c.write(frame);
        c.end();
        // Answer, error or close: anything but a crash. Long polls (mutated max wait) may outlive this.
        await c.waitClosed(3_000);
        c.destroy();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(node.running(), `node died during fuzz (seed ${seed}):\n${node.logTail(40)}`).toBe(true);
    await expectNodeAlive();
  });

  it('meanwhile the well-behaved producer and consumer lost nothing', { timeout: 90_000 }, async () => {
    await waitFor(() => acked.length >= 200, { timeoutMs: 30_000, what: 'the good producer to make progress' });
    producing = false;
    await producerLoop;
    expect(producerErrors).toEqual([]);
    await waitFor(() => parseKcatJsonLines(consumer.stdout()).length >= acked.length, {
      timeoutMs: 60_000,
      what: `the streaming consumer to read all ${acked.length} acknowledged records`,
    });
    const consumed = parseKcatJsonLines(consumer.stdout());
    const missing = acked.filter((a) => consumed[a.offset]?.payload !== a.value || consumed[a.offset]?.offset !== a.offset);
    expect(missing.slice(0, 5)).toEqual([]);
    expect(consumer.stderr()).not.toMatch(/ERROR/);
    expect(node.running()).toBe(true);
  });
});
