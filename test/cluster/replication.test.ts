/**
 * Partition replication across broker processes (issue #5): 3 controllers + 3 brokers from the launcher, a topic
 * with RF=3 and min.insync.replicas=2, idempotent acks=all producers (kafkajs, librdkafka through
 * confluent-kafka-python, and @fluxo/client) and a streaming consumer (kcat)
 * while brokers are killed with kill -9 and restarted. Afterwards every acknowledged record is in the log exactly
 * once, at the offset it was acknowledged with, in acknowledgement order; nothing the consumer saw disappeared;
 * and the three replicas of every partition are identical record by record (read from their segment files).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { Producer as FluxoProducer } from '@fluxo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@fluxo/common';
import { CLI_MAIN, PYTHON, PY_DIR, assertToolsPresent, launchCluster, runCommand, spawnBackground, toolGate, waitFor, type LaunchedCluster } from '../harness/index.js';
import { RawConnection, decodeProduceV3, produceV3Body, recordBatch, requestFrame } from '../harness/kafka-wire.js';
import { AckLedger, StreamingReader, partitionStates, replicaHighWatermark, replicaRecords, scrape } from './replication-support.js';

const gate = toolGate(['kcat', 'confluent_kafka']);
const TOPIC = 'ledger';
const PARTITIONS = 3;
const BROKERS = [101, 102, 103];
/** Short leases and lag so failovers happen within the test (Kafka: 9000 and 30000). */
const SETTINGS = { 'broker.session.timeout.ms': '3000', 'broker.heartbeat.interval.ms': '500', 'replica.lag.time.max.ms': '3000' };

describe.skipIf(gate.skip)('replication across broker processes (RF=3, min.insync.replicas=2, acks=all)', () => {
  let cluster: LaunchedCluster;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const ledger = new AckLedger();
  let consumer: StreamingReader | undefined;

  beforeAll(async () => {
    cluster = await launchCluster({ controllers: 3, brokers: 3, racks: ['a', 'b', 'c'], set: SETTINGS });
    kafka = new Kafka({ clientId: 'fluxo-replication', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
      waitForLeaders: true,
    });
    // Idempotent (KIP-98): a send retried across a failover must not be stored twice.
    producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    await producer.connect();
  }, 180_000);

  afterAll(async () => {
    await consumer?.stop();
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    if (process.env.FLUXO_KEEP_TEST_DATA === undefined) await cluster?.destroy();
  });

  /** One acks=all send of `n` records to `partition`; recorded in the ledger when acknowledged. */
  let seq = 0;
  async function send(partition: number, n: number): Promise<boolean> {
    const values = Array.from({ length: n }, () => `p${partition}-v${seq++}`);
    try {
      const res = await producer.send({ topic: TOPIC, acks: -1, timeout: 5000, messages: values.map((value) => ({ partition, value })) });
      const r = res.find((x) => x.partition === partition)!;
      ledger.record(partition, Number(r.baseOffset), values);
      return true;
    } catch {
      ledger.failures++;
      return false;
    }
  }

  it('has the peer tools', () => assertToolsPresent(gate.missing));

  it('with two of three brokers down, acks=all is refused with NOT_ENOUGH_REPLICAS; with them back the ISR recovers and writes resume', async () => {
    for (let i = 0; i < 20; i++) expect(await send(0, 5)).toBe(true);
    const [survivor, ...down] = BROKERS;
    for (const id of down) await cluster.kill9(id!);
    // The controller fences them (lease) and shrinks every ISR to the survivor; it leads partition 0.
    await waitFor(async () => (await partitionStates(admin, TOPIC)).every((p) => p.isr.join() === String(survivor) && p.leader === survivor), {
      timeoutMs: 30_000,
      what: `ISR of every partition shrunk to ${survivor}`,
    });
    const node = await cluster.node(survivor!);
    const conn = await RawConnection.connect(node.host, node.port);
    try {
      await conn.write(requestFrame(0, 3, 7, produceV3Body(TOPIC, 0, recordBatch([{ key: null, value: Buffer.from('refused') }]), -1, 5000)));
      const frame = await conn.next(10_000);
      expect(frame).not.toBe('closed');
      expect(frame).not.toBe('timeout');
      expect(decodeProduceV3(frame as Buffer).partitions[0]!.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    } finally {
      conn.destroy();
    }
    await cluster.up();
    await waitFor(async () => (await partitionStates(admin, TOPIC)).every((p) => p.isr.length === 3), { timeoutMs: 60_000, what: 'ISR of every partition back to three' });
    for (let p = 0; p < PARTITIONS; p++) expect(await send(p, 5)).toBe(true);
  }, 180_000);

  it('kill -9 of partition leaders under acks=all load: nothing acknowledged is lost, nothing read disappears, replicas end identical', async () => {
    const reader = new StreamingReader(cluster.bootstrap, TOPIC);
    consumer = reader;
    let stop = false;
    const writers = Array.from({ length: PARTITIONS }, async (_, partition) => {
      while (!stop) if (!(await send(partition, 5))) await new Promise((r) => setTimeout(r, 100));
    });
    // librdkafka (confluent-kafka-python) and @fluxo/client write idempotently to the same partitions meanwhile.
    const stopFile = path.join(cluster.dataDir, 'stop-rdkafka');
    const rdkafka = spawnBackground(PYTHON, [path.join(PY_DIR, 'continuous_idempotent_producer.py'), '--bootstrap', cluster.bootstrap, '--topic', TOPIC, '--partitions', String(PARTITIONS), '--prefix', 'rd', '--stop-file', stopFile, '--rate', '300']);
    const fluxo = new FluxoProducer({ brokers: cluster.bootstrap.split(','), clientId: 'fluxo-replication-idem', idempotent: true, acks: -1, lingerMs: 5 });
    await fluxo.connect();
    const fluxoLedger = new AckLedger();
    let fluxoSeq = 0;
    const fluxoWriter = (async () => {
      while (!stop) {
        const partition = fluxoSeq % PARTITIONS;
        const values = Array.from({ length: 5 }, () => `fx-${fluxoSeq++}`);
        try {
          const meta = await fluxo.send({ topic: TOPIC, messages: values.map((value) => ({ partition, value })) });
          values.forEach((value, i) => fluxoLedger.record(meta[i]!.partition, meta[i]!.offset, [value]));
        } catch {
          fluxoLedger.failures++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    await waitFor(() => existsSync(stopFile) || rdkafka.stdout().split('\n').filter((l) => l.startsWith('D ')).length >= 100, { timeoutMs: 30_000, what: 'librdkafka deliveries before the first kill' });

    const failovers: string[] = [];
    for (let round = 0; round < 3; round++) {
      const leader = (await partitionStates(admin, TOPIC)).find((p) => p.partition === round % PARTITIONS)!.leader;
      const acksBefore = ledger.count();
      const killedAt = Date.now();
      await cluster.kill9(leader);
      await waitFor(async () => (await partitionStates(admin, TOPIC)).every((p) => p.leader >= 0 && p.leader !== leader), { timeoutMs: 30_000, what: `leadership away from ${leader}` });
      await waitFor(() => ledger.count() >= acksBefore + 300, { timeoutMs: 60_000, what: 'acknowledged writes after the failover' });
      failovers.push(`round ${round}: killed ${leader}, writes acknowledged again ${Date.now() - killedAt} ms later`);
      await cluster.up();
      await waitFor(async () => (await partitionStates(admin, TOPIC)).every((p) => p.isr.length === 3), { timeoutMs: 60_000, what: `ISR back to three after restarting ${leader}` });
    }
    stop = true;
    await Promise.all([...writers, fluxoWriter]);
    await fluxo.close();
    await writeFile(stopFile, '');
    await rdkafka.exited();
    const rdLines = rdkafka.stdout().trim().split('\n');
    const rdSummary = JSON.parse(rdLines[rdLines.length - 1]!) as { produced: number; delivered: number; undelivered: number; errors: string[]; fatal: string[] };
    expect(rdSummary.fatal).toEqual([]);
    expect(rdSummary.undelivered).toBe(0);
    const rdLedger = new AckLedger();
    for (const line of rdLines) {
      const m = /^D (\d+) (\d+) (\S+)$/.exec(line);
      if (m) rdLedger.record(Number(m[1]), Number(m[2]), [m[3]!]);
    }
    expect(rdLedger.count()).toBe(rdSummary.delivered);
    console.log(
      `${failovers.join('; ')}; acknowledged: kafkajs ${ledger.count()} (${ledger.failures} sends failed and were retried), librdkafka ${rdLedger.count()} of ${rdSummary.produced} (${rdSummary.errors.length} non-fatal errors), @fluxo/client ${fluxoLedger.count()} (${fluxoLedger.failures} failed sends)`,
    );

    // Quiesce: every replica holds the leader's log end (metrics), then stop the cluster cleanly and read the files.
    const nodes = (await cluster.nodes()).filter((n) => n.roles === 'broker');
    await waitFor(
      async () => {
        for (let p = 0; p < PARTITIONS; p++) {
          const ends = await Promise.all(nodes.map((n) => scrape(n.metricsPort, 'fluxo_log_end_offset', { topic: TOPIC, partition: String(p) })));
          if (ends.some((e) => e === null || e !== ends[0])) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, what: 'every replica at the same log end' },
    );
    await waitFor(() => reader.latestCount() >= ledger.count() + rdLedger.count() + fluxoLedger.count(), { timeoutMs: 60_000, what: 'the consumer reading to the end' });
    await reader.stop();
    const down = await runCommand(process.execPath, [CLI_MAIN, 'cluster', 'down', '--data-dir', cluster.dataDir], { timeoutMs: 90_000 });
    expect(down.code).toBe(0);

    for (let p = 0; p < PARTITIONS; p++) {
      const replicas = nodes.map((n) => ({ nodeId: n.nodeId, records: replicaRecords(n.dataDir, TOPIC, p), hw: replicaHighWatermark(n.dataDir, TOPIC, p) }));
      const reference = replicas[0]!.records;
      // Identical record by record (offset, leader epoch, value) on all three.
      for (const r of replicas.slice(1)) expect(r.records, `partition ${p}: replica ${r.nodeId} vs ${replicas[0]!.nodeId}`).toEqual(reference);
      // Contiguous offsets, and everything committed: some replica checkpointed the full log as its high watermark.
      expect(reference.map((r) => r.offset)).toEqual(reference.map((_, i) => i));
      expect(Math.max(...replicas.map((r) => r.hw))).toBe(reference.length);
      // Every record each producer had acknowledged, at its acknowledged offset, in that producer's acknowledgement order.
      for (const [name, l] of [['kafkajs', ledger], ['librdkafka', rdLedger], ['@fluxo/client', fluxoLedger]] as const) {
        const acked = l.acked.get(p) ?? [];
        for (const a of acked) expect(reference[a.offset]?.value, `${name}: partition ${p} offset ${a.offset}`).toBe(a.value);
        for (let i = 1; i < acked.length; i++) expect(acked[i]!.offset, `${name}: partition ${p} acknowledgement order`).toBeGreaterThan(acked[i - 1]!.offset);
      }
      // Leader epochs never go down along the log; the kills show up as epoch changes.
      for (let i = 1; i < reference.length; i++) expect(reference[i]!.epoch).toBeGreaterThanOrEqual(reference[i - 1]!.epoch);
    }
    // What the consumer saw is still there, at the same offsets.
    const logs = Array.from({ length: PARTITIONS }, (_, p) => replicaRecords(nodes[0]!.dataDir, TOPIC, p));
    const seen = reader.seen();
    for (const r of seen) expect(logs[r.partition]![r.offset]?.value, `consumed ${r.partition}/${r.offset}`).toBe(r.value);
    expect(seen.length).toBeGreaterThanOrEqual(ledger.count() + rdLedger.count() + fluxoLedger.count());
    // Exactly once: no value twice (the producer is idempotent), and nothing the ledger did not send.
    const duplicates = logs.reduce((n, l) => n + l.length - new Set(l.map((r) => r.value)).size, 0);
    console.log(`consumer saw ${seen.length} records (${reader.restarts} kcat restarts); ${duplicates} duplicate values`);
    expect(duplicates).toBe(0);
  }, 600_000);
});
