import { counter, scrapedGauge, type Counter, type Registry } from '@fluxo/common';
import type { Partition } from '../cluster/partition.js';

/** Replication metrics (names after Kafka's ReplicaManager / fetcher metrics). */
export interface ReplicationMetrics {
  readonly isrShrinks: Counter<string>;
  readonly isrExpands: Counter<string>;
  readonly bytesIn: Counter<string>;
  readonly bytesOut: Counter<string>;
  readonly fetchErrors: Counter<string>;
  readonly throttledFetches: Counter<string>;
  /** Removes the scrape-time sources. */
  close(): void;
}

/**
 * `partitions()` lists the partitions hosted here; the gauges are computed from them when Prometheus scrapes
 * (nothing on the produce/fetch path).
 */
export function createReplicationMetrics(registry: Registry, partitions: () => Iterable<Partition>): ReplicationMetrics {
  const count =
    (pred: (p: Partition) => boolean) =>
    (set: (labels: Record<string, string | number>, value: number) => void): void => {
      let n = 0;
      for (const p of partitions()) if (pred(p)) n++;
      set({}, n);
    };
  const removers = [
    scrapedGauge(registry, 'fluxo_leader_partitions', 'Partitions this broker leads').addSource(count((p) => p.isLeader)),
    scrapedGauge(registry, 'fluxo_under_replicated_partitions', 'Led partitions whose ISR is smaller than their replica set').addSource(
      count((p) => p.isLeader && p.isr.length < p.replicas.length),
    ),
    scrapedGauge(registry, 'fluxo_under_min_isr_partitions', 'Led partitions whose ISR is below min.insync.replicas (acks=all refused)').addSource(
      count((p) => p.isLeader && p.isr.length < p.minInsyncReplicas),
    ),
    scrapedGauge(registry, 'fluxo_follower_lag_messages', 'Messages a follower replica is behind its leader (leader log end - own log end)', ['topic', 'partition']).addSource(
      (set) => {
        for (const p of partitions()) if (p.role === 'follower' && p.followerLagMessages >= 0) set({ topic: p.topic, partition: p.index }, p.followerLagMessages);
      },
    ),
  ];
  return {
    isrShrinks: counter(registry, 'fluxo_isr_shrinks_total', 'ISR shrinks of partitions this broker leads (its own, or the controller fencing a replica)'),
    isrExpands: counter(registry, 'fluxo_isr_expands_total', 'ISR expansions of partitions this broker leads'),
    bytesIn: counter(registry, 'fluxo_replication_bytes_in_total', 'Record bytes this broker appended as a follower'),
    bytesOut: counter(registry, 'fluxo_replication_bytes_out_total', 'Record bytes this broker sent to followers'),
    fetchErrors: counter(registry, 'fluxo_replication_fetch_errors_total', 'Follower fetch errors, by Kafka error name', ['error']),
    throttledFetches: counter(registry, 'fluxo_replication_throttled_fetches_total', 'Partition reads for a replica being added that waited for the reassignment throttle'),
    close() {
      for (const remove of removers) remove();
    },
  };
}
