/**
 * The deployment as operators run it: the image built from deploy/docker/Dockerfile (base images made
 * locally, no registry), the compose files brought up by a real Docker engine (docker-compose 1.29), Kafka
 * clients in containers on the project's internal network, and nodes killed with docker kill.
 *
 * Slow (image build + container start): its own vitest config, `npx vitest run --config
 * test/deploy/vitest.config.ts`. Without an engine (and no root/dockerd to start one) it says why and is
 * skipped; with CI=true it fails instead.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GenericContainer, Wait } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSuccess, runCommand } from '../harness/command.js';
import { REPO_ROOT } from '../harness/paths.js';
import { waitFor } from '../harness/poll.js';
import { ComposeProject } from './compose-project.js';
import { ensureDockerEngine } from './docker-engine.js';
import { consumeAll, fluxo, httpGet, produceLines, type ClientContainerOptions } from './fluxo-client-container.js';
import { buildPrometheusImage, PROMETHEUS_BINARY } from './prometheus-image.js';

process.env.TESTCONTAINERS_RYUK_DISABLED = 'true'; // the reaper image cannot be pulled here; we clean up ourselves

const IMAGE = 'fluxo:deploy-test';
const PROMETHEUS_IMAGE = 'fluxo-prometheus:deploy-test';
const IMAGE_BUILD_TIMEOUT_MS = 20 * 60_000;
const CLUSTER_START_TIMEOUT_MS = 5 * 60_000;

const engine = await ensureDockerEngine();
if (!engine.available) {
  if (process.env.CI === 'true') throw new Error(`docker-compose deployment test needs a Docker engine in CI: ${engine.reason}`);
  console.warn(`skipping the docker-compose deployment tests: ${engine.reason}`);
}

let workDir = '';
let imageBuilt: Promise<void> | undefined;

/** deploy/docker/build-base-image.sh: local base images (reused once made), then the Fluxo image. */
function buildImage(): Promise<void> {
  imageBuilt ??= (async () => {
    const startedMs = Date.now();
    const r = await runCommand('bash', [path.join(REPO_ROOT, 'deploy/docker/build-base-image.sh'), '--tag', IMAGE], {
      timeoutMs: IMAGE_BUILD_TIMEOUT_MS,
      cwd: REPO_ROOT,
    });
    expectSuccess(r);
    console.info(`${IMAGE} built in ${Math.round((Date.now() - startedMs) / 1000)} s (${engine.reason})`);
  })();
  return imageBuilt;
}

/** `key|value` lines with unique keys, so lost, duplicated and reordered records all show. */
function records(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(6, '0')}|value-${prefix}-${i}`);
}

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fluxo-deploy-'));
});

afterAll(async () => {
  if (workDir !== '') fs.rmSync(workDir, { recursive: true, force: true });
  await engine.stop();
}, 60_000);

describe.skipIf(!engine.available)('docker-compose.single.yml: one node for a laptop', () => {
  let project: ComposeProject;
  let client: ClientContainerOptions;

  beforeAll(async () => {
    await buildImage();
    project = new ComposeProject({
      name: 'fluxo-deploy-single',
      file: 'docker-compose.single.yml',
      services: ['fluxo'],
      network: 'fluxo',
      image: IMAGE,
      // Clients run inside the (internal) network, so the node advertises its service name.
      env: { FLUXO_ADVERTISED_HOST: 'fluxo', PROMETHEUS_IMAGE },
      workDir,
    });
    await project.down(); // leftovers of an interrupted run
    await project.up();
    await project.waitHealthy();
    client = { image: IMAGE, network: project.dockerNetwork };
  }, IMAGE_BUILD_TIMEOUT_MS + CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    await project?.down();
  }, 120_000);

  it('keeps every acknowledged record through docker kill and a restart on the named volume', async () => {
    const lines = records('single', 2000);
    const summary = await produceLines(client, 'laptop', 'fluxo:9092', lines);
    expect(summary).toContain('Produced 2000 records');

    await project.kill(['fluxo']);
    await project.start(['fluxo']);
    await project.waitHealthy();

    expect(await consumeAll(client, 'laptop', 'fluxo:9092', lines.length)).toEqual(lines);
  }, 10 * 60_000);

  it('monitoring profile: Prometheus scrapes the node and loads the alert rules', async ({ skip }) => {
    if (!(await prometheusImageReady())) skip(`no ${PROMETHEUS_BINARY} (Debian package prometheus) to stand in for prom/prometheus`);
    await project.upMore(['prometheus']);
    await expectScrapedByPrometheus(client, ['fluxo:9404'], { 'sum(up{job="fluxo-brokers"})': 1 });
  }, 5 * 60_000);

  it('starts through kube-start.mjs with node.id from the pod ordinal (the Kubernetes entry point)', async () => {
    const pod = await new GenericContainer(IMAGE)
      .withNetworkMode(project.dockerNetwork)
      .withEntrypoint(['node', '/opt/fluxo/kube-start.mjs'])
      .withEnvironment({ POD_NAME: 'fluxo-broker-4', NODE_ID_OFFSET: '101', FLUXO_BROKER_RACK: 'zone-b' })
      .withWaitStrategy(Wait.forLogMessage(/"msg":"Fluxo node started"/))
      .withStartupTimeout(120_000)
      .start();
    try {
      const logs = expectSuccess(await runCommand('docker', ['logs', pod.getId()], { timeoutMs: 30_000 }));
      const started = JSON.parse(logs.split('\n').find((l) => l.includes('"msg":"Fluxo node started"'))!) as { nodeId: number };
      expect(started.nodeId).toBe(105);
    } finally {
      await pod.stop({ remove: true });
    }
  }, 5 * 60_000);
});

const BROKERS_BY_ZONE = {
  'zone-a': ['broker-101', 'broker-102'],
  'zone-b': ['broker-103', 'broker-104'],
  'zone-c': ['broker-105', 'broker-106'],
} as const;
const CONTROLLERS = ['controller-1', 'controller-2', 'controller-3'];
const BROKERS = Object.values(BROKERS_BY_ZONE).flat();

describe.skipIf(!engine.available)('docker-compose.yml: 3 controllers and 6 brokers in 3 zones', () => {
  let project: ComposeProject;
  let client: ClientContainerOptions;

  beforeAll(async () => {
    await buildImage();
    project = new ComposeProject({
      name: 'fluxo-deploy-cluster',
      file: 'docker-compose.yml',
      services: [...CONTROLLERS, ...BROKERS],
      network: 'fluxo',
      image: IMAGE,
      env: { PROMETHEUS_IMAGE },
      workDir,
    });
    await project.down();
    await project.up();
    await project.waitHealthy(undefined, CLUSTER_START_TIMEOUT_MS);
    client = { image: IMAGE, network: project.dockerNetwork };
  }, IMAGE_BUILD_TIMEOUT_MS + CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    await project?.down();
  }, 120_000);

  it('monitoring profile: Prometheus scrapes all nine nodes and sees exactly one active controller', async ({ skip }) => {
    if (!(await prometheusImageReady())) skip(`no ${PROMETHEUS_BINARY} (Debian package prometheus) to stand in for prom/prometheus`);
    await project.upMore(['prometheus']);
    await expectScrapedByPrometheus(client, [...CONTROLLERS, ...BROKERS].map((s) => `${s}:9404`), {
      'sum(up{job=~"fluxo-.*"})': 9,
      'sum(fluxo_controller_active)': 1,
    });
  }, 5 * 60_000);

  it('produces through one broker, consumes through another, and still reads everything with zone-a killed', async () => {
    await fluxo(client, ['topic', 'create', 'orders', '--partitions', '6', '--replication-factor', '3', '-b', 'broker-101:9092']);
    const before = records('before', 3000);
    expect(await produceLines(client, 'orders', 'broker-101:9092', before)).toContain('Produced 3000 records');
    expect(await consumeSorted(client, 'orders', 'broker-104:9092', before.length)).toEqual(before);

    // A zone goes away: both of its brokers, without a clean shutdown. Replicas are spread over the three
    // zones, so every partition still has two of its three replicas (min.insync.replicas=2).
    await project.kill([...BROKERS_BY_ZONE['zone-a']]);

    const after = records('after', 1000);
    expect(await produceLines(client, 'orders', 'broker-103:9092,broker-105:9092', after)).toContain('Produced 1000 records');
    const all = [...before, ...after].sort();
    expect(await consumeSorted(client, 'orders', 'broker-106:9092', all.length)).toEqual(all);

    // What an operator sees: Prometheus finds the two brokers down and the leaders report the partitions
    // that lost their zone-a replica as under-replicated.
    if (await prometheusImageReady()) {
      await project.upMore(['prometheus']);
      await waitForQuery(client, 'count(up{job="fluxo-brokers"} == 0)', (v) => v === 2);
      await waitForQuery(client, 'sum(fluxo_under_replicated_partitions)', (v) => v > 0);
    }
  }, 15 * 60_000);
});

let prometheusImage: Promise<boolean> | undefined;

/** The prom/prometheus stand-in (built once); false when Debian's prometheus is missing (an error in CI). */
function prometheusImageReady(): Promise<boolean> {
  prometheusImage ??= (async () => {
    if (!fs.existsSync(PROMETHEUS_BINARY)) {
      if (process.env.CI === 'true') throw new Error(`${PROMETHEUS_BINARY} missing: apt-get install -y prometheus`);
      return false;
    }
    await buildPrometheusImage(PROMETHEUS_IMAGE);
    return true;
  })();
  return prometheusImage;
}

interface PrometheusTargets {
  data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] };
}
interface PrometheusRules {
  data: { groups: { rules: { name: string; health: string }[] }[] };
}

/** Through Prometheus' HTTP API: every node target is up, the alert rules are loaded and evaluate. */
async function expectScrapedByPrometheus(client: ClientContainerOptions, targets: string[], queries: Record<string, number> = {}): Promise<void> {
  const getJson = async <T>(url: string): Promise<T | null> => {
    const r = await httpGet(client, url);
    return 'status' in r && r.status === 200 ? (JSON.parse(r.body) as T) : null;
  };
  let last: PrometheusTargets | null = null;
  await waitFor(
    async () => {
      last = await getJson<PrometheusTargets>('http://prometheus:9090/api/v1/targets');
      const active = last?.data.activeTargets ?? [];
      return active.length === targets.length && active.every((t) => t.health === 'up');
    },
    { timeoutMs: 120_000, intervalMs: 2000, what: 'Prometheus to scrape every node' },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}: ${JSON.stringify(last?.data.activeTargets ?? null)}`);
  });
  const scraped = last!.data.activeTargets.map((t) => new URL(t.scrapeUrl).host).sort();
  expect(scraped).toEqual([...targets].sort());

  // Rules evaluate every 15 s; before the first round their health is "unknown".
  const rules = await waitFor(
    async () => {
      const r = await getJson<PrometheusRules>('http://prometheus:9090/api/v1/rules');
      return r?.data.groups.every((g) => g.rules.every((rule) => rule.health !== 'unknown')) ? r : null;
    },
    { timeoutMs: 60_000, intervalMs: 2000, what: 'alert rules to be evaluated' },
  );
  const health = Object.fromEntries(rules.data.groups.flatMap((g) => g.rules.map((r) => [r.name, r.health])));
  expect(Object.keys(health)).toEqual(expect.arrayContaining(['FluxoNodeDown', 'FluxoNoActiveController', 'FluxoOfflinePartitions', 'FluxoUnderReplicatedPartitions']));
  expect(Object.values(health).every((h) => h === 'ok'), JSON.stringify(health)).toBe(true);

  for (const [query, expected] of Object.entries(queries)) {
    const r = await getJson<{ data: { result: { value: [number, string] }[] } }>(`http://prometheus:9090/api/v1/query?query=${encodeURIComponent(query)}`);
    expect(r?.data.result.map((x) => Number(x.value[1])), query).toEqual([expected]);
  }
}

/** Polls a Prometheus instant query (one series) until `accept` takes its value. */
async function waitForQuery(client: ClientContainerOptions, query: string, accept: (value: number) => boolean): Promise<void> {
  let last = 'no answer';
  await waitFor(
    async () => {
      const r = await httpGet(client, `http://prometheus:9090/api/v1/query?query=${encodeURIComponent(query)}`);
      if (!('status' in r) || r.status !== 200) return false;
      const result = (JSON.parse(r.body) as { data: { result: { value: [number, string] }[] } }).data.result;
      last = JSON.stringify(result);
      return result.length === 1 && accept(Number(result[0]!.value[1]));
    },
    { timeoutMs: 150_000, intervalMs: 3000, what: `Prometheus query ${query}` },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last result ${last}`);
  });
}

/** Records of a multi-partition topic: order holds per partition only, so compare sorted. */
async function consumeSorted(client: ClientContainerOptions, topic: string, bootstrap: string, count: number): Promise<string[]> {
  return (await consumeAll(client, topic, bootstrap, count)).sort();
}
