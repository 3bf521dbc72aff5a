/**
 * Prometheus scraping a local cluster started by the real launcher (`fluxo cluster up`: 3 controllers, 3
 * brokers in 3 racks): exactly one active controller, and under-replicated partitions rising when a broker is
 * killed (and back to zero once it is restarted and caught up), seen through Prometheus' query API.
 *
 * Needs the replication metrics (fluxo_under_replicated_partitions, fluxo_leader_partitions) of
 * packages/broker/src/replication/replication-metrics.ts.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, launchCluster, type LaunchedCluster } from '../harness/index.js';
import { prometheusGate, PROMETHEUS_BIN, startPrometheus, type PrometheusServer } from './prometheus-server.js';

const gate = prometheusGate();
const TOPIC = 'prom-replicated';
const PARTITIONS = 6;
const VICTIM = 102;

describe.skipIf(gate.skip)('Prometheus scraping a 3 + 3 cluster', () => {
  let cluster: LaunchedCluster;
  let prometheus: PrometheusServer;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    if (gate.missing) return;
    // Short lease and ISR lag limit: the killed broker is fenced and dropped from the ISR within seconds.
    cluster = await launchCluster({
      racks: ['zone-a', 'zone-b', 'zone-c'],
      set: { 'broker.session.timeout.ms': '3000', 'broker.heartbeat.interval.ms': '500', 'replica.lag.time.max.ms': '3000' },
    });
    const nodes = await cluster.nodes();
    prometheus = await startPrometheus(nodes.map((n) => `${n.host}:${n.metricsPort}`));
    const kafka = new Kafka({ clientId: 'fluxo-ops-cluster', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 8 } });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await prometheus?.stop();
    await cluster?.destroy();
    await cleanupAll();
  });

  it('has a Prometheus server', () => {
    if (gate.missing) throw new Error(`${PROMETHEUS_BIN} is missing (apt-get install prometheus)`);
  });

  it('scrapes all six nodes, and exactly one reports itself the active controller', async () => {
    await prometheus.waitFor('count(up == 1) == 6', 'all six targets up');
    const active = await prometheus.waitFor('fluxo_controller_active == 1', 'an active controller');
    expect(active).toHaveLength(1);
    expect(['1', '2', '3']).toContain(active[0]!.metric.node_id);
    await prometheus.waitFor('count(fluxo_controller_active) == 3', 'every controller reporting');
  });

  it('under-replicated partitions rise when a broker is killed and return to zero after its restart', async () => {
    expect(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true })).toBe(true);
    await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await prometheus.waitFor(`sum(fluxo_leader_partitions{node_id=~"10[1-3]"}) >= ${PARTITIONS}`, 'every partition led');
    await prometheus.waitFor('sum(fluxo_under_replicated_partitions) == 0', 'a fully replicated start', undefined, 60_000);

    await cluster.kill9(VICTIM);
    await prometheus.waitFor(`up{instance=~".*:${(await cluster.node(VICTIM)).metricsPort}"} == 0`, 'the killed broker seen down');
    const under = await prometheus.waitFor('sum(fluxo_under_replicated_partitions) > 0', 'under-replicated partitions after kill -9', undefined, 60_000);
    // Every partition has a replica on the killed broker (RF 3 over 3 brokers).
    await prometheus.waitFor(`sum(fluxo_under_replicated_partitions) == ${PARTITIONS}`, 'all partitions under-replicated', undefined, 60_000);
    expect(under[0]!.value).toBeGreaterThan(0);

    await cluster.up();
    await prometheus.waitFor('sum(fluxo_under_replicated_partitions) == 0', 'the restarted broker back in every ISR', undefined, 90_000);
    await prometheus.waitFor('count(up == 1) == 6', 'all six targets up again');
  });
});
