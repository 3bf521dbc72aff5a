import { counter, histogram, scrapedGauge, type Counter, type Gauge, type Histogram, type Registry } from '@fluxo/common';

/** The storage layer's Prometheus series (shared by every log of a registry; per-partition ones are labelled). */
export interface StorageMetrics {
  readonly flushSeconds: Histogram<string>;
  readonly flushes: Counter<string>;
  readonly appendedBytes: Counter<string>;
  readonly sizeBytes: Gauge<string>;
  readonly segments: Gauge<string>;
  readonly recoverySeconds: Histogram<string>;
  readonly recoveryTruncatedBytes: Counter<string>;
  readonly retentionDeletedSegments: Counter<string>;
  readonly cleanerRuns: Counter<string>;
  readonly cleanerBytesRead: Counter<string>;
  readonly cleanerBytesWritten: Counter<string>;
}

const RECOVERY_BUCKETS_SECONDS = [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

export function storageMetrics(registry: Registry): StorageMetrics {
  return {
    flushSeconds: histogram(registry, 'fluxo_log_flush_seconds', 'Latency of one log fsync (fdatasync); one fsync covers a group of appends'),
    flushes: counter(registry, 'fluxo_log_flushes_total', 'Log fsyncs (fdatasync) performed', ['topic', 'partition']),
    appendedBytes: counter(registry, 'fluxo_log_appended_bytes_total', 'Record batch bytes appended to logs'),
    sizeBytes: scrapedGauge(registry, 'fluxo_log_size_bytes', 'Bytes of record batches in a partition log', ['topic', 'partition']).gauge,
    segments: scrapedGauge(registry, 'fluxo_log_segments', 'Segments in a partition log', ['topic', 'partition']).gauge,
    recoverySeconds: histogram(registry, 'fluxo_log_recovery_seconds', 'Time to open (and if needed recover) a partition log', [], RECOVERY_BUCKETS_SECONDS),
    recoveryTruncatedBytes: counter(registry, 'fluxo_log_recovery_truncated_bytes_total', 'Bytes cut from logs by recovery (torn or corrupt tails)'),
    retentionDeletedSegments: counter(registry, 'fluxo_log_retention_deleted_segments_total', 'Segments deleted by retention or DeleteRecords'),
    cleanerRuns: counter(registry, 'fluxo_log_cleaner_runs_total', 'Compaction runs that rewrote segments'),
    cleanerBytesRead: counter(registry, 'fluxo_log_cleaner_read_bytes_total', 'Bytes read by the log cleaner'),
    cleanerBytesWritten: counter(registry, 'fluxo_log_cleaner_written_bytes_total', 'Bytes written by the log cleaner'),
  };
}

/** What the per-partition scrape gauges read from a log. */
export interface ScrapedLog {
  readonly topic: string;
  readonly partition: number;
  readonly sizeBytes: number;
  readonly segmentCount: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
}

/**
 * Per-partition size, segment count and offsets, read from the open logs when Prometheus scrapes (Kafka's kafka.log:type=Log
 * Size / LogStartOffset / LogEndOffset): no work per append. Returns the function that stops reporting them.
 */
export function trackLogs(registry: Registry, logs: () => Iterable<ScrapedLog>): () => void {
  const labels = ['topic', 'partition'];
  const each = (value: (log: ScrapedLog) => number) => (set: (l: Record<string, string | number>, v: number) => void) => {
    for (const log of logs()) set({ topic: log.topic, partition: log.partition }, value(log));
  };
  const removers = [
    scrapedGauge(registry, 'fluxo_log_size_bytes', 'Bytes of record batches in a partition log', labels).addSource(each((l) => l.sizeBytes)),
    scrapedGauge(registry, 'fluxo_log_segments', 'Segments in a partition log', labels).addSource(each((l) => l.segmentCount)),
    scrapedGauge(registry, 'fluxo_log_start_offset', 'First offset in a partition log', labels).addSource(each((l) => l.logStartOffset)),
    scrapedGauge(registry, 'fluxo_log_end_offset', 'Offset the next appended record gets, by partition', labels).addSource(each((l) => l.logEndOffset)),
  ];
  return () => {
    for (const remove of removers) remove();
  };
}
