#!/usr/bin/env node
// Fluxo single-node benchmark: 1 KiB records, default config (acknowledged = fsynced), loopback only.
// Produce throughput + latency with librdkafka (confluent-kafka-python, kcat) and @fluxo/client, consume
// throughput with kcat, librdkafka and @fluxo/client. Writes docs/benchmarks.md. Run: npm run bench.
// Sizes via env: BENCH_RECORDS (default 500000), BENCH_RECORD_BYTES (1024), BENCH_PACED_RATE (5000/s),
// BENCH_PACED_SECONDS (10). Then a replicated cluster (`fluxo cluster up`: 1 controller + 3 brokers, RF=3,
// min.insync.replicas=2) with librdkafka; BENCH_CLUSTER=0 skips it.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, shellQuote } from './lib/exec.mjs';
import { REPO_ROOT, startNode } from './lib/node.mjs';
import { fluxoConsume, fluxoProduce } from './lib/fluxo-client.mjs';
import { Kafka, logLevel } from 'kafkajs';

const TOPICS = ['bench-rdkafka', 'bench-rdkafka-paced', 'bench-kcat', 'bench-fluxo', 'bench-fluxo-paced'];

const PYTHON = '/usr/bin/python3';
const RECORDS = Number(process.env.BENCH_RECORDS ?? 500_000);
const RECORD_BYTES = Number(process.env.BENCH_RECORD_BYTES ?? 1024);
const PACED_RATE = Number(process.env.BENCH_PACED_RATE ?? 5_000);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 10);
const OUT_FILE = path.join(REPO_ROOT, 'docs/benchmarks.md');
// Other work on the machine skews every figure: recorded with the results.
const LOAD_AT_START = os.loadavg();

const results = [];
const commands = [];
const notes = [];

function log(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

function record(row) {
  results.push(row);
  const lat = row.latencyMs ? ` p50 ${fmt(row.latencyMs.p50)} ms p99 ${fmt(row.latencyMs.p99)} ms p999 ${fmt(row.latencyMs.p999)} ms` : '';
  log(`${row.workload} [${row.client}]: ${fmt(row.mbPerSec)} MB/s, ${fmt(row.msgsPerSec, 0)} msgs/s${lat}`);
}

function fmt(n, digits = 2) {
  if (n === null || n === undefined || Number.isNaN(n)) return 'n/a';
  return Number(n).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    log(`${name} FAILED: ${e.message.split('\n').slice(0, 6).join(' | ')}`);
    notes.push(`${name} failed: ${e.message.split('\n')[0]}`);
  }
}

async function python(script, args) {
  const full = [path.join(REPO_ROOT, 'bench/py', script), ...args];
  commands.push(`${PYTHON} ${shellQuote(full).replace(REPO_ROOT, '')}`);
  const { stdout } = await run(PYTHON, full, { timeoutMs: 300_000 });
  const res = JSON.parse(stdout.trim().split('\n').pop());
  if (res.errors?.length) throw new Error(`client errors: ${res.errors.join('; ')}`);
  return res;
}

function usToMs(lat) {
  return { p50: lat.p50 / 1000, p99: lat.p99 / 1000, p999: lat.p999 / 1000, max: lat.max / 1000 };
}

function machine() {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    /* not a git checkout */
  }
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu: cpus[0]?.model ?? 'unknown',
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    commit,
    loadAtStart: LOAD_AT_START.map((l) => l.toFixed(2)).join(' '),
  };
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fluxo-bench-'));
  const node = await startNode({ dataDir });
  commands.push(`${node.command}   # data dir: a fresh ${os.tmpdir()}/fluxo-bench-* directory, default config`);
  log(`node on ${node.bootstrap}, data ${dataDir}; ${RECORDS} records x ${RECORD_BYTES} B`);
  const b = node.bootstrap;
  try {
    // Topics exist before any measurement (auto-creation and first metadata stay out of the numbers).
    const admin = new Kafka({ clientId: 'fluxo-bench', brokers: [b], logLevel: logLevel.ERROR }).admin();
    await admin.connect();
    await admin.createTopics({ topics: TOPICS.map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: true });
    await admin.disconnect();
    commands.push(`# topics ${TOPICS.join(', ')} created first with 1 partition each (kafkajs admin)`);
    await step('librdkafka produce', async () => {
      const r = await python('rdkafka_produce.py', ['--bootstrap', b, '--topic', 'bench-rdkafka', '--count', String(RECORDS), '--size', String(RECORD_BYTES)]);
      record({ workload: 'produce, unthrottled, acks=all', client: 'librdkafka 2.0.2 (confluent-kafka-python)', records: r.delivered, mbPerSec: r.mbPerSec, msgsPerSec: r.msgsPerSec, latencyMs: usToMs(r.latencyUs) });
    });
    await step('librdkafka paced produce', async () => {
      const n = PACED_RATE * PACED_SECONDS;
      const r = await python('rdkafka_produce.py', ['--bootstrap', b, '--topic', 'bench-rdkafka-paced', '--count', String(n), '--size', String(RECORD_BYTES), '--rate', String(PACED_RATE)]);
      record({ workload: `produce, paced ${PACED_RATE}/s, acks=all`, client: 'librdkafka 2.0.2 (confluent-kafka-python)', records: r.delivered, mbPerSec: r.mbPerSec, msgsPerSec: r.msgsPerSec, latencyMs: usToMs(r.latencyUs) });
    });
    await step('kcat produce', async () => {
      const input = path.join(dataDir, '..', `fluxo-bench-input-${process.pid}.txt`);
      const line = 'x'.repeat(RECORD_BYTES) + '\n';
      const fd = fs.openSync(input, 'w');
      const chunk = line.repeat(1000);
      for (let i = 0; i < RECORDS / 1000; i++) fs.writeSync(fd, chunk);
      fs.closeSync(fd);
      const args = ['-P', '-b', b, '-t', 'bench-kcat', '-p', '0', '-X', 'linger.ms=5', '-X', 'batch.size=1000000', '-X', 'acks=all', '-l', input];
      commands.push(`kcat ${shellQuote(args).replace(input, '<file of N lines of 1024 x>')}`);
      const t0 = performance.now();
      await run('kcat', args, { timeoutMs: 300_000 });
      const sec = (performance.now() - t0) / 1000;
      fs.rmSync(input, { force: true });
      record({ workload: 'produce, unthrottled, acks=all (incl. process start)', client: 'kcat 1.7.1', records: RECORDS, mbPerSec: (RECORDS * RECORD_BYTES) / sec / 1e6, msgsPerSec: RECORDS / sec });
    });
    await step('@fluxo/client produce', async () => {
      commands.push(`# @fluxo/client runs in-process (bench/lib/fluxo-client.mjs): Producer acks=-1 lingerMs=5, one send() per record, <= 20000 in flight; Consumer assign() + messages()`);
      const r = await fluxoProduce({ bootstrap: b, topic: 'bench-fluxo', count: RECORDS, sizeBytes: RECORD_BYTES, ratePerSec: 0 });
      record({ workload: 'produce, unthrottled, acks=all', client: '@fluxo/client', ...r });
    });
    await step('@fluxo/client paced produce', async () => {
      const r = await fluxoProduce({ bootstrap: b, topic: 'bench-fluxo-paced', count: PACED_RATE * PACED_SECONDS, sizeBytes: RECORD_BYTES, ratePerSec: PACED_RATE });
      record({ workload: `produce, paced ${PACED_RATE}/s, acks=all`, client: '@fluxo/client', ...r });
    });
    await step('kcat consume', async () => {
      const args = ['-C', '-b', b, '-t', 'bench-rdkafka', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\n', '-X', 'fetch.max.bytes=52428800'];
      commands.push(`kcat ${shellQuote(args).replace('\n', '\\n')} > /dev/null`);
      const t0 = performance.now();
      await run('kcat', args, { timeoutMs: 300_000, discardStdout: true });
      const sec = (performance.now() - t0) / 1000;
      record({ workload: 'consume from beginning (incl. process start)', client: 'kcat 1.7.1', records: RECORDS, mbPerSec: (RECORDS * RECORD_BYTES) / sec / 1e6, msgsPerSec: RECORDS / sec });
    });
    await step('librdkafka consume', async () => {
      const r = await python('rdkafka_consume.py', ['--bootstrap', b, '--topic', 'bench-rdkafka', '--count', String(RECORDS)]);
      if (r.count !== RECORDS) throw new Error(`read ${r.count} of ${RECORDS}`);
      record({ workload: 'consume from beginning (assign)', client: 'librdkafka 2.0.2 (confluent-kafka-python)', records: r.count, mbPerSec: r.mbPerSec, msgsPerSec: r.msgsPerSec });
    });
    await step('@fluxo/client consume', async () => {
      const r = await fluxoConsume({ bootstrap: b, topic: 'bench-rdkafka', count: RECORDS });
      record({ workload: 'consume from beginning (assign)', client: '@fluxo/client', ...r });
    });
  } finally {
    const exit = await node.stop();
    if (exit.code !== 0) notes.push(`node exited with code ${exit.code} signal ${exit.signal} on SIGTERM`);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  if (process.env.BENCH_CLUSTER !== '0') await step('replicated cluster', replicatedCluster);
  writeReport();
}

/** librdkafka against 3 broker processes (+1 controller) on this machine: RF=3, min.insync.replicas=2, acks=all. */
async function replicatedCluster() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fluxo-bench-cluster-'));
  const cli = path.join(REPO_ROOT, 'packages/cli/dist/main.js');
  const basePort = 23000 + Math.floor(Math.random() * 100) * 10;
  const up = ['cluster', 'up', '--controllers', '1', '--brokers', '3', '--racks', 'a,b,c', '--data-dir', dir, '--base-port', String(basePort)];
  commands.push(`node packages/cli/dist/main.js ${up.join(' ').replace(dir, '<tmp dir>')}`);
  const { stdout } = await run(process.execPath, [cli, ...up], { timeoutMs: 120_000 });
  const bootstrap = JSON.parse(stdout.trim().split('\n').pop()).bootstrap;
  const workload = '3 brokers, RF=3, min.insync.replicas=2';
  try {
    const topics = ['bench-rf3', 'bench-rf3-paced'];
    const create = (t) => ['topic', 'create', t, '-p', '1', '-r', '3', '-c', 'min.insync.replicas=2', '-b', bootstrap];
    for (const t of topics) await run(process.execPath, [cli, ...create(t)], { timeoutMs: 60_000 });
    commands.push(`node packages/cli/dist/main.js ${create('bench-rf3').join(' ').replace(bootstrap, '<bootstrap>')}   # and bench-rf3-paced`);
    const r = await python('rdkafka_produce.py', ['--bootstrap', bootstrap, '--topic', 'bench-rf3', '--count', String(RECORDS), '--size', String(RECORD_BYTES)]);
    record({ workload: `${workload}: produce, unthrottled, acks=all`, client: 'librdkafka 2.0.2 (confluent-kafka-python)', records: r.delivered, mbPerSec: r.mbPerSec, msgsPerSec: r.msgsPerSec, latencyMs: usToMs(r.latencyUs) });
    const n = PACED_RATE * PACED_SECONDS;
    const paced = await python('rdkafka_produce.py', ['--bootstrap', bootstrap, '--topic', 'bench-rf3-paced', '--count', String(n), '--size', String(RECORD_BYTES), '--rate', String(PACED_RATE)]);
    record({ workload: `${workload}: produce, paced ${PACED_RATE}/s, acks=all`, client: 'librdkafka 2.0.2 (confluent-kafka-python)', records: paced.delivered, mbPerSec: paced.mbPerSec, msgsPerSec: paced.msgsPerSec, latencyMs: usToMs(paced.latencyUs) });
    notes.push('The replicated cluster runs 4 node processes and the load generator on the same cores: every acks=all record is fsynced on three brokers before it is acknowledged, so its throughput is CPU-bound here.');
  } finally {
    await run(process.execPath, [cli, 'cluster', 'down', '--data-dir', dir], { timeoutMs: 120_000 }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function writeReport() {
  const m = machine();
  const lines = [];
  lines.push('# Benchmarks');
  lines.push('');
  lines.push('Generated by `npm run bench` (bench/run.mjs). Single Fluxo node, default configuration: a record is');
  lines.push('acknowledged only after it is fsynced (flush.messages=1, group commit). Loopback only; load generators run');
  lines.push('on the same machine as the node, so they compete with it for the CPUs. One partition per topic.');
  lines.push('');
  lines.push('## Machine');
  lines.push('');
  lines.push(`- Date: ${m.date}`);
  lines.push(`- CPUs (nproc): ${m.nproc} x ${m.cpu}`);
  lines.push(`- Memory: ${m.memGiB} GiB; ${m.kernel}`);
  lines.push(`- Node.js ${m.node}; commit ${m.commit}`);
  lines.push(`- Load average (1/5/15 min) when the run started: ${m.loadAtStart}`);
  lines.push(`- Records: ${RECORDS} x ${RECORD_BYTES} B values (paced runs: ${PACED_RATE}/s for ${PACED_SECONDS} s)`);
  lines.push('');
  lines.push('## Results');
  lines.push('');
  lines.push('| Workload | Client | Records | MB/s | msgs/s | p50 ms | p99 ms | p99.9 ms |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const l = r.latencyMs ?? {};
    lines.push(`| ${r.workload} | ${r.client} | ${r.records} | ${fmt(r.mbPerSec)} | ${fmt(r.msgsPerSec, 0)} | ${fmt(l.p50)} | ${fmt(l.p99)} | ${fmt(l.p999)} |`);
  }
  lines.push('');
  lines.push('Latency is per record, from the client handing it over (`produce()` / `send()`) to its acknowledgement');
  lines.push('(delivery callback / promise). Unthrottled runs measure latency under saturation (it includes client-side');
  lines.push('queueing); paced runs show latency at moderate load. MB = 10^6 bytes of record values. Python');
  lines.push('percentiles are computed over all samples; @fluxo/client uses hdr-histogram-js.');
  if (notes.length) {
    lines.push('');
    lines.push('## Problems during this run');
    lines.push('');
    for (const n of notes) lines.push(`- ${n}`);
  }
  lines.push('');
  lines.push('## Commands');
  lines.push('');
  lines.push('```sh');
  for (const c of commands) lines.push(c);
  lines.push('```');
  lines.push('');
  fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
  fs.writeFileSync(OUT_FILE, lines.join('\n'));
  log(`wrote ${OUT_FILE}`);
}

main().catch((e) => {
  log(e.stack ?? String(e));
  process.exitCode = 1;
});
