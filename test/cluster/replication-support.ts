import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Admin } from 'kafkajs';
import { decodeRecordBatch, readBatchHeader } from '@fluxo/protocol';
import { KCAT, spawnBackground, type BackgroundProcess } from '../harness/index.js';

/** One record of a replica's log as stored: offset, value and the leader epoch of its batch. */
export interface StoredRecord {
  readonly offset: number;
  readonly epoch: number;
  readonly value: string;
}

/**
 * Every record of `<dataDir>/<topic>-<partition>` read straight from the segment files (CRC checked; the broker
 * is stopped). A torn tail (a partial last batch) ends the read, as recovery would cut it.
 */
export function replicaRecords(dataDir: string, topic: string, partition: number): StoredRecord[] {
  const dir = path.join(dataDir, `${topic}-${partition}`);
  const files = readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
  const out: StoredRecord[] = [];
  for (const f of files) {
    const buf = readFileSync(path.join(dir, f));
    let pos = 0;
    while (pos + 61 <= buf.length) {
      const h = readBatchHeader(buf, pos);
      const end = pos + 12 + h.batchLength;
      if (end > buf.length) break;
      const batch = decodeRecordBatch(buf.subarray(pos, end), { verifyCrc: true });
      for (const r of batch.records) out.push({ offset: r.offset, epoch: batch.partitionLeaderEpoch, value: r.value?.toString('utf8') ?? '' });
      pos = end;
    }
  }
  return out;
}

/** The replica's high-watermark checkpoint (replication-offset-checkpoint), or -1. */
export function replicaHighWatermark(dataDir: string, topic: string, partition: number): number {
  try {
    const text = readFileSync(path.join(dataDir, `${topic}-${partition}`, 'replication-offset-checkpoint'), 'utf8');
    return Number(text.split('\n')[2]?.split(' ')[2] ?? -1);
  } catch {
    return -1;
  }
}

/** A gauge's value from a node's /metrics (first series whose labels contain all of `labels`). */
export async function scrape(metricsPort: number, name: string, labels: Record<string, string> = {}): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const l = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return null;
}

/** Leader and ISR of every partition of a topic, as Metadata reports them. */
export async function partitionStates(admin: Admin, topic: string): Promise<{ partition: number; leader: number; isr: number[]; replicas: number[] }[]> {
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  return md.topics[0]!.partitions.map((p) => ({ partition: p.partitionId, leader: p.leader, isr: [...p.isr].sort(), replicas: [...p.replicas].sort() }));
}

/**
 * Acknowledged writes, per partition, in acknowledgement order: the offset the broker answered for each value.
 * A write whose acknowledgement never came (error, timeout) may or may not be in the log; it is not tracked.
 */
export class AckLedger {
  readonly acked = new Map<number, { offset: number; value: string }[]>();
  failures = 0;

  record(partition: number, baseOffset: number, values: readonly string[]): void {
    const list = this.acked.get(partition) ?? [];
    values.forEach((value, i) => list.push({ offset: baseOffset + i, value }));
    this.acked.set(partition, list);
  }

  count(): number {
    let n = 0;
    for (const l of this.acked.values()) n += l.length;
    return n;
  }
}

/**
 * A kcat consumer reading the topic from the beginning for as long as it runs, printing `partition offset value`.
 * librdkafka gives up when every broker it knows is down at once (a moment of the failover tests): then a new
 * one starts from the beginning again. Everything any of them printed counts as seen.
 */
export class StreamingReader {
  private readonly runs: BackgroundProcess[] = [];
  private stopped = false;

  constructor(
    private readonly bootstrap: string,
    private readonly topic: string,
  ) {
    this.spawn();
  }

  private spawn(): void {
    const run = spawnBackground(KCAT, ['-C', '-u', '-b', this.bootstrap, '-t', this.topic, '-o', 'beginning', '-q', '-f', '%p %o %s\n', '-X', 'topic.metadata.refresh.interval.ms=1000']);
    this.runs.push(run);
    void run.exited().then(() => {
      if (!this.stopped) setTimeout(() => this.spawn(), 200);
    });
  }

  /** Every `partition offset value` line printed so far. */
  seen(): { partition: number; offset: number; value: string }[] {
    const out: { partition: number; offset: number; value: string }[] = [];
    for (const run of this.runs) {
      for (const line of run.stdout().split('\n')) {
        const m = /^(\d+) (\d+) (\S+)$/.exec(line);
        if (m !== null) out.push({ partition: Number(m[1]), offset: Number(m[2]), value: m[3]! });
      }
    }
    return out;
  }

  /** Records the latest run has printed (it reads from the beginning). */
  latestCount(): number {
    return this.runs[this.runs.length - 1]!.stdout().split('\n').length - 1;
  }

  get restarts(): number {
    return this.runs.length - 1;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.runs.map((r) => r.kill('SIGKILL')));
  }
}
