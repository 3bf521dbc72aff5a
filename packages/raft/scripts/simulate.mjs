#!/usr/bin/env node
// Runs the deterministic raft simulator over many seeds, from the built dist (npx tsc -b packages/raft).
//   node packages/raft/scripts/simulate.mjs [--seeds N] [--first S] [--steps T] [--minutes M] [--workers W]
//   node packages/raft/scripts/simulate.mjs --seed S [--steps T]     # reproduce one seed, prints its trace
// --minutes keeps going (seed after seed) until the time is up; --workers runs seeds in parallel threads.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parseArgs } from 'node:util';

const simUrl = new URL('../dist/sim/index.js', import.meta.url);

if (!isMainThread) {
  const { runSimulation } = await import(simUrl);
  const { first, count, stride, offset, steps, deadlineMs } = workerData;
  for (let i = offset; i < count; i += stride) {
    if (deadlineMs !== null && Date.now() > deadlineMs) break;
    const r = runSimulation({ seed: first + i, steps });
    parentPort.postMessage({ seed: r.seed, ok: r.ok, ticks: r.stats.ticks, result: r.ok ? null : r });
  }
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10000' },
    first: { type: 'string', default: '1' },
    seed: { type: 'string' },
    steps: { type: 'string', default: '2000' },
    minutes: { type: 'string' },
    workers: { type: 'string', default: '1' },
  },
});
const { runSimulation, formatFailure } = await import(simUrl);
const steps = Number(values.steps);

if (values.seed !== undefined) {
  const r = runSimulation({ seed: Number(values.seed), steps, traceSize: 400 });
  if (r.ok) console.log(`seed ${r.seed}: ok ${JSON.stringify(r.stats)}`);
  else console.log(formatFailure(r));
  process.exit(r.ok ? 0 : 1);
}

const first = Number(values.first);
const minutes = values.minutes === undefined ? null : Number(values.minutes);
const count = minutes === null ? Number(values.seeds) : Number.MAX_SAFE_INTEGER - first;
const deadlineMs = minutes === null ? null : Date.now() + minutes * 60_000;
const workers = Math.max(1, Number(values.workers));
const started = Date.now();
let done = 0;
let ticks = 0;
const failures = [];

await new Promise((resolve) => {
  let running = workers;
  for (let w = 0; w < workers; w++) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { first, count, stride: workers, offset: w, steps, deadlineMs } });
    worker.on('message', (m) => {
      done++;
      ticks += m.ticks;
      if (!m.ok) {
        failures.push(m.result);
        console.log(`FAIL seed ${m.seed}: ${m.result.error.split('\n')[0]}`);
      }
      if (done % 1000 === 0) console.log(`${done} seeds, ${failures.length} failing, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    });
    worker.on('exit', () => {
      if (--running === 0) resolve();
    });
  }
});

const seconds = (Date.now() - started) / 1000;
console.log(`${done} seeds x ${steps} chaos ticks (${ticks} ticks simulated) in ${seconds.toFixed(1)} s: ${failures.length} failing`);
if (failures.length > 0) {
  failures.sort((a, b) => a.seed - b.seed);
  console.log(formatFailure(failures[0]));
  console.log(`failing seeds: ${failures.map((f) => f.seed).join(' ')}`);
  process.exit(1);
}
