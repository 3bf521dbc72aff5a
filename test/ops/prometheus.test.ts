/**
 * A real Prometheus server scrapes a real node (`fluxo start` from the dist, metrics.port set) every second;
 * the assertions go through Prometheus' query API, the way an operator's dashboards and alerts see the node:
 * the key series exist, and traffic, log sizes and consumer group lag move when records are produced.
 *
 * The multi-broker variant (one active controller, under-replicated partitions when a broker is killed) is
 * prometheus-cluster.test.ts.
 */
import { Admin as FluxoAdmin } from '@fluxo/client';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNode, type FluxoNode } from '../harness/index.js';
import { freePort, prometheusGate, PROMETHEUS_BIN, startPrometheus, type PrometheusServer, type Sample } from './prometheus-server.js';

const gate = prometheusGate();
const TOPIC = 'prom-orders';
const GROUP = 'prom-billing';
const sel = `job="fluxo"`;

describe.skipIf(gate.skip)('Prometheus scraping a node', () => {
  let node: FluxoNode;
  let prometheus: PrometheusServer;
  let admin: Admin;
  let producer: Producer;
  // Commits for a group without members (OffsetCommit, generation -1); kafkajs' setOffsets joins the group first.
  let groupAdmin: FluxoAdmin;

  const produce = async (count: number, from: number): Promise<void> => {
    const messages = Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `order-${from + i}-${'x'.repeat(200)}` }));
    await producer.send({ topic: TOPIC, acks: -1, messages: messages.map((m) => ({ ...m, partition: 0 })) });
  };
  const one = (samples: Sample[]): number => {
    expect(samples).toHaveLength(1);
    return samples[0]!.value;
  };

  beforeAll(async () => {
    if (gate.missing) return;
    const metricsPort = await freePort();
    // One __consumer_offsets partition: the group test does not wait for 50 logs to be created.
    node = await startNode({ set: { 'metrics.port': String(metricsPort), 'node.id': '7', 'offsets.topic.num.partitions': '1' } });
    prometheus = await startPrometheus([`127.0.0.1:${metricsPort}`]);
    const kafka = new Kafka({ clientId: 'fluxo-ops', brokers: [node.bootstrap], logLevel: logLevel.ERROR, retry: { retries: 5 } });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    groupAdmin = new FluxoAdmin({ brokers: [node.bootstrap], clientId: 'fluxo-ops' });
    await groupAdmin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true });
  });
  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await groupAdmin?.close().catch(() => undefined);
    await prometheus?.stop();
    await cleanupAll();
  });

  it('has a Prometheus server', () => {
    if (gate.missing) throw new Error(`${PROMETHEUS_BIN} is missing (apt-get install prometheus)`);
  });

  it('scrapes the node: up, node_id label, process and event-loop series, open connections', async () => {
    await prometheus.waitFor(`up{${sel}} == 1`, 'the node target to be up');
    // Every series of the node carries its node id.
    const lag = await prometheus.waitFor(`nodejs_eventloop_lag_seconds{${sel}}`, 'event-loop lag');
    expect(lag[0]!.metric).toMatchObject({ node_id: '7' });
    await prometheus.waitFor(`nodejs_eventloop_lag_p99_seconds{${sel}}`, 'event-loop lag p99');
    await prometheus.waitFor(`process_resident_memory_bytes{${sel}} > 0`, 'resident memory');
    await prometheus.waitFor(`process_cpu_seconds_total{${sel}}`, 'process CPU');
    // kafkajs keeps its admin and producer connections open.
    await prometheus.waitFor(`fluxo_connections{${sel}} >= 1`, 'open connections');
  });

  it('traffic per topic moves when records are produced: messages and bytes in, request latency histograms, fsync', async () => {
    await produce(50, 0);
    await prometheus.waitFor(`fluxo_messages_in_total{${sel},topic="${TOPIC}"} >= 50`, '50 messages in');
    await produce(50, 50);
    await prometheus.waitFor(`fluxo_messages_in_total{${sel},topic="${TOPIC}"} >= 100`, '100 messages in');
    // Two scrapes with different values inside the window: the rate dashboards and alerts use is positive.
    await prometheus.waitFor(`rate(fluxo_bytes_in_total{${sel},topic="${TOPIC}"}[1m]) > 0`, 'a positive bytes-in rate');
    await prometheus.waitFor(`rate(fluxo_messages_in_total{${sel},topic="${TOPIC}"}[1m]) > 0`, 'a positive messages-in rate');

    // Request latency: a real histogram in seconds, per API and version (kafkajs produces with v7 here).
    const buckets = await prometheus.waitFor(`fluxo_request_duration_seconds_bucket{${sel},api="Produce"}`, 'Produce latency buckets');
    const versions = new Set(buckets.map((b) => b.metric.version));
    expect(versions.size).toBeGreaterThan(0);
    for (const v of versions) expect(v).toMatch(/^\d+$/);
    expect(buckets.map((b) => b.metric.le)).toEqual(expect.arrayContaining(['0.001', '0.01', '+Inf']));
    const p99 = await prometheus.waitFor(
      `histogram_quantile(0.99, sum by (le) (rate(fluxo_request_duration_seconds_bucket{${sel},api="Produce"}[1m])))`,
      'a Produce p99 latency',
      (s) => Number.isFinite(s[0]!.value),
    );
    expect(p99[0]!.value).toBeGreaterThan(0);
    await prometheus.waitFor(`fluxo_requests_total{${sel},api="Produce"} >= 2`, 'Produce request count');
    // acks=all is fsynced before the answer: the fsync histogram has observations.
    await prometheus.waitFor(`fluxo_log_flush_seconds_count{${sel}} > 0`, 'fsync latency observations');
    await prometheus.waitFor(`fluxo_log_flush_seconds_bucket{${sel},le="+Inf"} > 0`, 'fsync latency buckets');
  });

  it('log size and end offset per partition grow with the log', async () => {
    const size = `fluxo_log_size_bytes{${sel},topic="${TOPIC}",partition="0"}`;
    const before = one(await prometheus.waitFor(size, 'a log size for partition 0', (s) => s[0]!.value > 0));
    await produce(50, 100);
    const after = one(await prometheus.waitFor(size, 'partition 0 to grow', (s) => s[0]!.value > before));
    expect(after).toBeGreaterThan(before);
    expect(one(await prometheus.waitFor(`fluxo_log_end_offset{${sel},topic="${TOPIC}",partition="0"} >= 150`, 'end offset 150'))).toBe(150);
    // The empty partition is reported too, at size 0.
    expect(one(await prometheus.waitFor(`fluxo_log_size_bytes{${sel},topic="${TOPIC}",partition="1"}`, 'partition 1 size'))).toBe(0);
  });

  it('consumer group lag appears for a group with uncommitted progress and follows new records', async () => {
    await groupAdmin.alterOffsets({ groupId: GROUP, offsets: [{ topic: TOPIC, partition: 0, offset: 40 }] });
    const lag = `fluxo_consumergroup_lag{${sel},consumergroup="${GROUP}",topic="${TOPIC}",partition="0"}`;
    expect(one(await prometheus.waitFor(lag, 'the group lag series', (s) => s[0]!.value === 110))).toBe(110);
    expect(one(await prometheus.waitFor(`fluxo_consumergroup_current_offset{${sel},consumergroup="${GROUP}",partition="0"}`, 'committed offset'))).toBe(40);
    await produce(10, 150);
    expect(one(await prometheus.waitFor(lag, 'lag to follow the log end', (s) => s[0]!.value === 120))).toBe(120);
    await groupAdmin.alterOffsets({ groupId: GROUP, offsets: [{ topic: TOPIC, partition: 0, offset: 160 }] });
    expect(one(await prometheus.waitFor(lag, 'lag 0 once caught up', (s) => s[0]!.value === 0))).toBe(0);
    expect(one(await prometheus.waitFor(`fluxo_consumergroup_lag_sum{${sel},consumergroup="${GROUP}",topic="${TOPIC}"}`, 'lag sum'))).toBe(0);
  });

  it('errors are counted per API and error name, and a bad topic name makes no series of its own', async () => {
    expect(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }] })).toBe(false);
    await expect(admin.createTopics({ topics: [{ topic: 'bad name!' }] })).rejects.toThrow();
    const errors = await prometheus.waitFor(`fluxo_request_errors_total{${sel},api="CreateTopics"}`, 'CreateTopics errors', (s) => s.length >= 2);
    expect(errors.map((e) => e.metric.error).sort()).toEqual(['INVALID_TOPIC_EXCEPTION', 'TOPIC_ALREADY_EXISTS']);
    const topicLabels = new Set<string>();
    for (const s of await prometheus.query(`{${sel},topic!=""}`)) topicLabels.add(s.metric.topic!);
    expect([...topicLabels].filter((t) => t.includes('bad'))).toEqual([]);
  });
});
