/**
 * A real Prometheus server (Debian package `prometheus`, /usr/bin/prometheus) for the ops tests: generated
 * config, TSDB in a temp dir, a free loopback port, and a small client for its HTTP query API.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { IN_CI, makeTempDir, waitFor } from '../harness/index.js';

export const PROMETHEUS_BIN = process.env.FLUXO_PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/** Locally a missing Prometheus skips the suite with a message; in CI (CI=true) the suite runs and fails. */
export function prometheusGate(): { skip: boolean; missing: boolean } {
  const r = spawnSync(PROMETHEUS_BIN, ['--version'], { stdio: 'ignore', timeout: 20_000 });
  const missing = r.status !== 0;
  if (missing && !IN_CI) {
    console.warn(`SKIPPING: ${PROMETHEUS_BIN} not found (apt-get install prometheus). In CI this is a failure.`);
    return { skip: true, missing };
  }
  return { skip: false, missing };
}

/** A port that was free a moment ago on 127.0.0.1 (Prometheus and metrics.port need a number up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** One sample of an instant-vector query: labels and value. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface PrometheusServer {
  readonly url: string;
  /** Instant query (GET /api/v1/query); throws on a query error. */
  query(promql: string): Promise<Sample[]>;
  /** Waits until `promql` returns at least one sample and `accept` holds for the result. */
  waitFor(promql: string, what: string, accept?: (samples: Sample[]) => boolean, timeoutMs?: number): Promise<Sample[]>;
  stop(): Promise<void>;
  logTail(): string;
}

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** Starts Prometheus scraping `targets` (host:port of /metrics) every `scrapeIntervalSeconds`. */
export async function startPrometheus(targets: readonly string[], scrapeIntervalSeconds = 1): Promise<PrometheusServer> {
  const dir = await makeTempDir('prometheus');
  const configFile = path.join(dir, 'prometheus.yml');
  await fsp.writeFile(
    configFile,
    [
      'global:',
      `  scrape_interval: ${scrapeIntervalSeconds}s`,
      `  scrape_timeout: ${scrapeIntervalSeconds}s`,
      'scrape_configs:',
      '  - job_name: fluxo',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const tail: string[] = [];
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.console.templates=/dev/null',
      '--web.console.libraries=/dev/null',
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const remember = (chunk: Buffer): void => {
    tail.push(...chunk.toString().split('\n').filter(Boolean));
    if (tail.length > 200) tail.splice(0, tail.length - 200);
  };
  child.stdout!.on('data', remember);
  child.stderr!.on('data', remember);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  process.once('exit', () => child.kill('SIGKILL'));

  const query = async (promql: string): Promise<Sample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as QueryResponse;
    if (body.status !== 'success' || !body.data) throw new Error(`query ${promql} failed: ${body.error ?? res.status}`);
    if (body.data.resultType !== 'vector') throw new Error(`query ${promql}: expected a vector, got ${body.data.resultType}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };

  const server: PrometheusServer = {
    url,
    query,
    async waitFor(promql, what, accept = () => true, timeoutMs = 30_000) {
      let last: Sample[] = [];
      try {
        return await waitFor(
          async () => {
            last = await query(promql);
            return last.length > 0 && accept(last) ? last : null;
          },
          { timeoutMs, intervalMs: 250, what },
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\nlast result of ${promql}: ${JSON.stringify(last)}\nprometheus log:\n${tail.slice(-20).join('\n')}`);
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    logTail: () => tail.join('\n'),
  };
  try {
    await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, { timeoutMs: 30_000, what: `Prometheus ready at ${url}` });
  } catch (err) {
    await server.stop();
    throw new Error(`${(err as Error).message}\n${server.logTail()}`);
  }
  return server;
}
