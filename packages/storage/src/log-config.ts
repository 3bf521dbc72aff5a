import { TOPIC_CONFIG, type ResolvedConfig } from '@fluxo/common';

export type CleanupPolicy = 'delete' | 'compact';
export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** A partition log's settings, one field per Kafka topic-level key (names carry units). */
export interface LogConfig {
  /** segment.bytes: roll the active segment when it would grow past this. */
  readonly segmentBytes: number;
  /** segment.ms: roll the active segment when its first batch is this old. */
  readonly segmentMs: number;
  /** retention.ms: delete closed segments whose newest timestamp is older; -1 keeps forever. */
  readonly retentionMs: number;
  /** retention.bytes: delete oldest closed segments while the partition is larger; -1 no limit. */
  readonly retentionBytes: number;
  /** cleanup.policy: delete and/or compact. */
  readonly cleanupPolicy: readonly CleanupPolicy[];
  /** index.interval.bytes: log bytes between two sparse index entries. */
  readonly indexIntervalBytes: number;
  /** segment.index.bytes: the largest an offset or time index may grow; a full index rolls the segment. */
  readonly segmentIndexBytes: number;
  /** flush.messages: 1 = acknowledged means fsynced (group commit); > 1 = relaxed (see PartitionLog). */
  readonly flushMessages: number;
  /** flush.ms: relaxed mode fsyncs at least this often; null = only by flush.messages. */
  readonly flushMs: number | null;
  /** max.message.bytes: the largest record batch accepted. */
  readonly maxMessageBytes: number;
  /** delete.retention.ms: how long compaction keeps tombstones (measured from the record timestamp). */
  readonly deleteRetentionMs: number;
  /** min.compaction.lag.ms: segments with records younger than this are not compacted. */
  readonly minCompactionLagMs: number;
  /** min.cleanable.dirty.ratio: dirty bytes / closed bytes above which compaction runs. */
  readonly minCleanableDirtyRatio: number;
  /** message.timestamp.type. */
  readonly messageTimestampType: TimestampType;
}

/** Builds a LogConfig from values resolved against TOPIC_CONFIG (topic overrides over broker defaults). */
export function logConfigFromResolved(c: ResolvedConfig): LogConfig {
  return {
    segmentBytes: c.number('segment.bytes'),
    segmentMs: c.number('segment.ms'),
    retentionMs: c.number('retention.ms'),
    retentionBytes: c.number('retention.bytes'),
    cleanupPolicy: c.list('cleanup.policy') as CleanupPolicy[],
    indexIntervalBytes: c.number('index.interval.bytes'),
    segmentIndexBytes: c.number('segment.index.bytes'),
    flushMessages: c.number('flush.messages'),
    flushMs: c.numberOrNull('flush.ms'),
    maxMessageBytes: c.number('max.message.bytes'),
    deleteRetentionMs: c.number('delete.retention.ms'),
    minCompactionLagMs: c.number('min.compaction.lag.ms'),
    minCleanableDirtyRatio: c.number('min.cleanable.dirty.ratio'),
    messageTimestampType: c.string('message.timestamp.type') as TimestampType,
  };
}

/** Parses topic-level key/value pairs (e.g. CreateTopics configs) over Kafka's defaults. */
export function logConfigFromProperties(props: Record<string, string> = {}): LogConfig {
  return logConfigFromResolved(TOPIC_CONFIG.resolve(props, { allowUnknown: true }));
}

/** Kafka's defaults (flush.messages=1: every acknowledged append is fsynced). */
export const DEFAULT_LOG_CONFIG: LogConfig = logConfigFromProperties();

/** Relaxed mode: appends resolve once written; fsync happens in the background (flush.messages / flush.ms). */
export function isRelaxedFlush(config: LogConfig): boolean {
  return config.flushMessages > 1;
}
