import { counter, gauge, histogram, type Counter, type Gauge, type Histogram, type Registry } from '@fluxo/common';

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
    sizeBytes: gauge(registry, 'fluxo_log_size_bytes', 'Bytes of record batches in a partition log', ['topic', 'partition']),
    segments: gauge(registry, 'fluxo_log_segments', 'Segments in a partition log', ['topic', 'partition']),
    recoverySeconds: histogram(registry, 'fluxo_log_recovery_seconds', 'Time to open (and if needed recover) a partition log', [], RECOVERY_BUCKETS_SECONDS),
    recoveryTruncatedBytes: counter(registry, 'fluxo_log_recovery_truncated_bytes_total', 'Bytes cut from logs by recovery (torn or corrupt tails)'),
    retentionDeletedSegments: counter(registry, 'fluxo_log_retention_deleted_segments_total', 'Segments deleted by retention or DeleteRecords'),
    cleanerRuns: counter(registry, 'fluxo_log_cleaner_runs_total', 'Compaction runs that rewrote segments'),
    cleanerBytesRead: counter(registry, 'fluxo_log_cleaner_read_bytes_total', 'Bytes read by the log cleaner'),
    cleanerBytesWritten: counter(registry, 'fluxo_log_cleaner_written_bytes_total', 'Bytes written by the log cleaner'),
  };
}
