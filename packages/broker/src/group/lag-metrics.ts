import { scrapedGauge, type Registry } from '@fluxo/common';
import type { Group } from './group.js';

/**
 * Most (group, topic, partition) series one scrape exports. Group ids come from clients: the cap keeps a
 * flood of groups from flooding Prometheus; `fluxo_consumergroup_lag_series_dropped` says when it bites.
 */
export const MAX_LAG_SERIES = 10_000;

export interface LagSources {
  /** The groups this node coordinates. */
  groups(): Iterable<Group>;
  /** Where consumers of a partition can read up to (its high watermark), undefined if this node does not host it. */
  highWatermark(topic: string, partition: number): number | undefined;
}

interface LagEntry {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly committed: number;
  readonly lag: number;
}

/**
 * Consumer group lag, computed at scrape time (nothing on the commit path): for every committed offset of a
 * partition this node hosts, high watermark minus committed offset (Kafka's kafka_exporter series). Returns
 * the function that unregisters the sources.
 */
export function registerLagMetrics(registry: Registry, sources: LagSources): () => void {
  // One scrape collects the four gauges back to back: compute the snapshot once and drop it right after.
  let cached: { entries: LagEntry[]; over: number } | null = null;
  const snapshot = (): { entries: LagEntry[]; over: number } => {
    if (cached === null) {
      cached = compute();
      queueMicrotask(() => (cached = null));
    }
    return cached;
  };
  const compute = (): { entries: LagEntry[]; over: number } => {
    const entries: LagEntry[] = [];
    let over = 0;
    for (const group of sources.groups()) {
      if (group.is('Dead')) continue;
      for (const [topic, byPartition] of group.offsets) {
        for (const [partition, committed] of byPartition) {
          const hw = sources.highWatermark(topic, partition);
          if (hw === undefined) continue;
          if (entries.length >= MAX_LAG_SERIES) {
            over++;
            continue;
          }
          // A committed offset past the end (the log was truncated or deleted below it) is no lag to catch up on.
          entries.push({ group: group.groupId, topic, partition, committed: committed.offset, lag: Math.max(0, hw - committed.offset) });
        }
      }
    }
    return { entries, over };
  };
  const removers = [
    scrapedGauge(registry, 'fluxo_consumergroup_lag', 'High watermark minus committed offset, by group and partition', ['consumergroup', 'topic', 'partition']).addSource((set) => {
      for (const e of snapshot().entries) set({ consumergroup: e.group, topic: e.topic, partition: e.partition }, e.lag);
    }),
    scrapedGauge(registry, 'fluxo_consumergroup_current_offset', 'Committed offset, by group and partition', ['consumergroup', 'topic', 'partition']).addSource((set) => {
      for (const e of snapshot().entries) set({ consumergroup: e.group, topic: e.topic, partition: e.partition }, e.committed);
    }),
    scrapedGauge(registry, 'fluxo_consumergroup_lag_sum', 'Lag summed over the partitions of a topic, by group', ['consumergroup', 'topic']).addSource((set) => {
      const sums = new Map<string, { group: string; topic: string; lag: number }>();
      for (const e of snapshot().entries) {
        const key = JSON.stringify([e.group, e.topic]);
        const s = sums.get(key) ?? { group: e.group, topic: e.topic, lag: 0 };
        s.lag += e.lag;
        sums.set(key, s);
      }
      for (const s of sums.values()) set({ consumergroup: s.group, topic: s.topic }, s.lag);
    }),
    scrapedGauge(registry, 'fluxo_consumergroup_lag_series_dropped', `Lag series left out of the scrape (over ${MAX_LAG_SERIES})`).addSource((set) => {
      set({}, snapshot().over);
    }),
  ];
  return () => {
    for (const remove of removers) remove();
  };
}
