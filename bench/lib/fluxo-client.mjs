// @fluxo/client workloads for bench/run.mjs (in-process; the client is imported from its built dist).
import hdr from 'hdr-histogram-js';

async function loadClient() {
  const client = await import('@fluxo/client');
  for (const name of ['Producer', 'Consumer']) {
    if (typeof client[name] !== 'function') throw new Error(`@fluxo/client does not export ${name} (build it: npx tsc -b)`);
  }
  return client;
}

function histogram() {
  // Microseconds, 1 us .. 120 s, 3 significant digits.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

const MAX_IN_FLIGHT = 20_000;

/** Produces `count` records (one send() each, bounded in flight), optionally paced; per-record latency. */
export async function fluxoProduce({ bootstrap, topic, count, sizeBytes, ratePerSec }) {
  const { Producer } = await loadClient();
  const producer = new Producer({ brokers: [bootstrap], clientId: 'fluxo-bench', acks: -1, lingerMs: 5, batchSizeBytes: 1_048_576 });
  await producer.connect();
  const value = Buffer.alloc(sizeBytes, 'x');
  const h = histogram();
  let inFlight = 0;
  let failed = 0;
  let firstError;
  let wake = null;
  const release = () => {
    inFlight--;
    if (wake && inFlight < MAX_IN_FLIGHT / 2) {
      const w = wake;
      wake = null;
      w();
    }
  };
  // Warm up metadata (auto-creates the topic) outside the measurement.
  await producer.send({ topic, messages: [{ value: Buffer.from('warmup'), partition: 0 }] });
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    if (ratePerSec > 0) {
      const due = start + (i * 1000) / ratePerSec;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    if (inFlight >= MAX_IN_FLIGHT) await new Promise((r) => (wake = r));
    inFlight++;
    const sentAt = performance.now();
    producer.send({ topic, messages: [{ value, partition: 0 }] }).then(
      () => {
        h.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
        release();
      },
      (e) => {
        failed++;
        firstError ??= e;
        release();
      },
    );
  }
  while (inFlight > 0) await new Promise((r) => (wake = r));
  const sec = (performance.now() - start) / 1000;
  await producer.close?.();
  await producer.disconnect?.();
  if (failed) throw new Error(`${failed} sends failed, first: ${firstError?.message}`);
  const latencyMs = { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, p999: h.getValueAtPercentile(99.9) / 1000, max: h.maxValue / 1000 };
  return { records: count, mbPerSec: (count * sizeBytes) / sec / 1e6, msgsPerSec: count / sec, latencyMs };
}

/** Reads `count` records of partition 0 from the beginning via assign() and the messages() iterator. */
export async function fluxoConsume({ bootstrap, topic, count }) {
  const { Consumer } = await loadClient();
  const consumer = new Consumer({ brokers: [bootstrap], clientId: 'fluxo-bench' });
  await consumer.connect();
  consumer.assign([{ topic, partition: 0, offset: 'earliest' }]);
  let got = 0;
  let bytes = 0;
  const start = performance.now();
  const timer = setTimeout(() => void consumer.close(), 120_000);
  for await (const r of consumer.messages()) {
    got++;
    bytes += r.value?.length ?? 0;
    if (got >= count) break;
  }
  clearTimeout(timer);
  const sec = (performance.now() - start) / 1000;
  await consumer.close();
  if (got < count) throw new Error(`read ${got} of ${count} records within 120 s`);
  return { records: got, mbPerSec: bytes / sec / 1e6, msgsPerSec: got / sec };
}
