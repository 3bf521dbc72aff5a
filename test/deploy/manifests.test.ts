/**
 * Static checks of the deployment files (no engine, no cluster tools): every YAML parses, the compose and
 * Kubernetes layouts keep their invariants (3 controllers, 6 brokers over 3 zones, probes, spread, PDBs),
 * every FLUXO_* variable names a real config key, and every fluxo_* series the alerts and the dashboard
 * query is one the code defines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { BROKER_CONFIG, configFromEnv } from '@fluxo/common';
import { runCommand } from '../harness/command.js';
import { REPO_ROOT } from '../harness/paths.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed YAML

const DEPLOY = path.join(REPO_ROOT, 'deploy');
const ZONES = ['zone-a', 'zone-b', 'zone-c'];

function readYaml(file: string): Doc {
  return parse(fs.readFileSync(file, 'utf8'), { merge: true }) as Doc;
}

function kubeDocs(): Doc[] {
  const dir = path.join(DEPLOY, 'kubernetes');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => {
        expect(d.errors, `${f}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
        return d.toJS() as Doc;
      }),
    )
    .filter((d) => d !== null);
}

/** Every fluxo_* series name the code defines (metric helper calls name them as string literals). */
function definedMetricNames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        for (const m of fs.readFileSync(full, 'utf8').matchAll(/['"`](fluxo_[a-z0-9_]+)['"`]/g)) names.add(m[1]!);
      }
    }
  };
  for (const pkg of fs.readdirSync(path.join(REPO_ROOT, 'packages'))) {
    const src = path.join(REPO_ROOT, 'packages', pkg, 'src');
    if (fs.existsSync(src)) walk(src);
  }
  return names;
}

/** fluxo_* names in PromQL, with histogram suffixes folded to the histogram's name. */
function queriedMetricNames(promql: string): string[] {
  return [...promql.matchAll(/\b(fluxo_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
}

function expectKnownEnv(where: string, env: Record<string, string>): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('FLUXO_')) continue;
    const [key] = Object.keys(configFromEnv({ [name]: value }));
    expect(BROKER_CONFIG.has(key!), `${where}: ${name} -> ${key} is not a broker config key`).toBe(true);
  }
}

describe('docker-compose.yml', () => {
  const compose = readYaml(path.join(REPO_ROOT, 'docker-compose.yml'));
  const services = compose.services as Record<string, Doc>;
  const nodes = Object.entries(services).filter(([, s]) => s.environment?.FLUXO_PROCESS_ROLES !== undefined);

  it('runs 3 controllers (ids 1-3) and 6 brokers (ids 101-106), two per zone, each on its own named volume', () => {
    const controllers = nodes.filter(([, s]) => s.environment.FLUXO_PROCESS_ROLES === 'controller');
    const brokers = nodes.filter(([, s]) => s.environment.FLUXO_PROCESS_ROLES === 'broker');
    expect(controllers.map(([, s]) => s.environment.FLUXO_NODE_ID).sort()).toEqual(['1', '2', '3']);
    expect(brokers.map(([, s]) => s.environment.FLUXO_NODE_ID).sort()).toEqual(['101', '102', '103', '104', '105', '106']);
    for (const zone of ZONES) expect(brokers.filter(([, s]) => s.environment.FLUXO_BROKER_RACK === zone)).toHaveLength(2);
    const volumes = nodes.map(([, s]) => (s.volumes as string[]).find((v) => v.endsWith(':/var/lib/fluxo'))!.split(':')[0]);
    expect(new Set(volumes).size).toBe(nodes.length);
    for (const v of volumes) expect(compose.volumes).toHaveProperty(v!);
    for (const [name, s] of nodes) {
      expect(s.profiles, name).toBeUndefined(); // the core cluster starts without --profile
      expect(s.hostname).toBe(name);
    }
  });

  it('names the controllers in controller.quorum.voters and advertises each broker by its service name', () => {
    const voters = new Set(nodes.map(([, s]) => s.environment.FLUXO_CONTROLLER_QUORUM_VOTERS));
    expect(voters.size).toBe(1);
    const controllerIds = nodes.filter(([, s]) => s.environment.FLUXO_PROCESS_ROLES === 'controller').map(([n, s]) => `${s.environment.FLUXO_NODE_ID}@${n}:9093`);
    expect([...voters][0].split(',').sort()).toEqual(controllerIds.sort());
    for (const [name, s] of nodes.filter(([, n]) => n.environment.FLUXO_PROCESS_ROLES === 'broker')) {
      expect(s.environment.FLUXO_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://${name}:9092,REPLICATION://${name}:9094`);
    }
    for (const [name, s] of nodes) expectKnownEnv(`docker-compose.yml ${name}`, s.environment);
  });

  it('keeps Prometheus and Grafana under the monitoring profile, scraping every node', () => {
    expect(services.prometheus!.profiles).toEqual(['monitoring']);
    expect(services.grafana!.profiles).toEqual(['monitoring']);
    const prometheus = readYaml(path.join(DEPLOY, 'prometheus/prometheus.yml'));
    const targets = (prometheus.scrape_configs as Doc[]).flatMap((j) => (j.static_configs as Doc[]).flatMap((c) => c.targets as string[]));
    expect(targets.sort()).toEqual(nodes.map(([n]) => `${n}:9404`).sort());
  });

  it('has a single-node file for laptops', () => {
    const single = readYaml(path.join(REPO_ROOT, 'docker-compose.single.yml'));
    expect(Object.keys(single.services as Doc).filter((s) => !(single.services as Record<string, Doc>)[s]!.profiles)).toEqual(['fluxo']);
    expectKnownEnv('docker-compose.single.yml', single.services.fluxo.environment);
  });
});

describe('deploy/kubernetes', () => {
  const docs = kubeDocs();
  const statefulSets = docs.filter((d) => d.kind === 'StatefulSet');

  it('has a controller and a broker StatefulSet behind headless Services, each with a PDB of maxUnavailable 1', () => {
    expect(statefulSets.map((s) => s.metadata.name).sort()).toEqual(['fluxo-broker', 'fluxo-controller']);
    for (const sts of statefulSets) {
      const service = docs.find((d) => d.kind === 'Service' && d.metadata.name === sts.spec.serviceName);
      expect(service?.spec.clusterIP, sts.metadata.name).toBe('None');
      const labels = sts.spec.template.metadata.labels as Record<string, string>;
      const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget' && Object.entries(d.spec.selector.matchLabels).every(([k, v]) => labels[k] === v));
      expect(pdb?.spec.maxUnavailable, sts.metadata.name).toBe(1);
    }
  });

  it('spreads pods over zones, probes /health and /ready on the metrics port, and requests resources', () => {
    for (const sts of statefulSets) {
      const pod = sts.spec.template.spec;
      const zone = (pod.topologySpreadConstraints as Doc[]).find((c) => c.topologyKey === 'topology.kubernetes.io/zone');
      expect(zone).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' });
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      const [container] = pod.containers as Doc[];
      expect((container!.ports as Doc[]).find((p) => p.name === 'metrics')?.containerPort).toBe(9404);
      expect(container!.livenessProbe.httpGet).toEqual({ path: '/health', port: 'metrics' });
      expect(container!.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'metrics' });
      expect(container!.resources.requests).toHaveProperty('cpu');
      expect(container!.resources.requests).toHaveProperty('memory');
      const env = Object.fromEntries((container!.env as Doc[]).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value as string]));
      expectKnownEnv(`kubernetes ${sts.metadata.name}`, env);
    }
  });

  it('lists one voter per controller pod, by its stable DNS name', () => {
    const controllers = statefulSets.find((s) => s.metadata.name === 'fluxo-controller')!;
    const env = (sts: Doc, name: string): string => (sts.spec.template.spec.containers[0].env as Doc[]).find((e) => e.name === name)!.value;
    const voters = env(controllers, 'FLUXO_CONTROLLER_QUORUM_VOTERS').split(',');
    const offset = Number(env(controllers, 'NODE_ID_OFFSET'));
    expect(voters).toEqual(
      Array.from({ length: controllers.spec.replicas }, (_, i) => `${i + offset}@fluxo-controller-${i}.fluxo-controller.fluxo.svc.cluster.local:9093`),
    );
    for (const sts of statefulSets) expect(env(sts, 'FLUXO_CONTROLLER_QUORUM_VOTERS')).toBe(voters.join(','));
  });
});

describe('deploy/prometheus and deploy/grafana', () => {
  const defined = definedMetricNames();
  const alerts = readYaml(path.join(DEPLOY, 'prometheus/alerts.yml'));
  const rules = (alerts.groups as Doc[]).flatMap((g) => g.rules as Doc[]);
  const dashboards = fs.readdirSync(path.join(DEPLOY, 'grafana/dashboards')).map((f) => JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana/dashboards', f), 'utf8')) as Doc);

  it('alerts on under-replicated and offline partitions, no active controller and a node down', () => {
    const exprs = new Map(rules.map((r) => [r.alert as string, r.expr as string]));
    expect(exprs.get('FluxoUnderReplicatedPartitions')).toContain('fluxo_under_replicated_partitions');
    expect(exprs.get('FluxoOfflinePartitions')).toContain('fluxo_controller_offline_partitions');
    expect(exprs.get('FluxoNoActiveController')).toContain('sum(fluxo_controller_active)');
    expect(exprs.get('FluxoNodeDown')).toContain('up{');
  });

  it('queries only series the code defines', () => {
    const exprs = [
      ...rules.map((r) => r.expr as string),
      ...dashboards.flatMap((d) => (d.panels as Doc[]).flatMap((p) => ((p.targets ?? []) as Doc[]).map((t) => t.expr as string))),
    ];
    const unknown = [...new Set(exprs.flatMap(queriedMetricNames))].filter((n) => !defined.has(n));
    expect(unknown).toEqual([]);
  });

  it('points the dashboards at the provisioned datasource', () => {
    const datasources = readYaml(path.join(DEPLOY, 'grafana/provisioning/datasources/prometheus.yml'));
    const uid = (datasources.datasources as Doc[])[0]!.uid;
    for (const d of dashboards) {
      for (const p of (d.panels as Doc[]).filter((panel) => panel.type !== 'row')) expect(p.datasource.uid, p.title).toBe(uid);
    }
  });

  it('passes promtool where Prometheus is installed', async ({ skip }) => {
    const promtool = await runCommand('promtool', ['--version'], { timeoutMs: 10_000 }).catch(() => null);
    if (promtool === null || promtool.code !== 0) skip('promtool not installed (Debian package prometheus)');
    for (const args of [
      ['check', 'rules', 'alerts.yml'],
      ['check', 'config', 'prometheus.yml'],
      ['check', 'config', 'prometheus-single.yml'],
    ]) {
      const r = await runCommand('promtool', args, { timeoutMs: 30_000, cwd: path.join(DEPLOY, 'prometheus') });
      expect(r.code, `promtool ${args.join(' ')}: ${r.stdout.toString()}${r.stderr}`).toBe(0);
    }
  });
});
