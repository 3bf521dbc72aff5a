import { Compression, decodeRecordBatch, encodeRecordBatch, readBatchHeader, wholeBatches } from '@fluxo/protocol';
import type { Logger } from '@fluxo/common';
import { OFFSETS_LOAD_BUFFER_BYTES } from './group-config.js';
import { decodeGroupValue, decodeKey, decodeOffsetValue, type GroupValue, type OffsetValue } from './records.js';

/** A partition of __consumer_offsets that this node leads (the broker's Partition behind it). */
export interface OffsetsPartition {
  /** The leader epoch this node leads it in: a new epoch means a new leadership (groups are loaded again). */
  readonly leaderEpoch: number;
  readonly logStartOffset: number;
  /** Where a load reads up to (Kafka's GroupMetadataManager reads the leader's log to its end). */
  readonly logEndOffset: number;
  /** Appends one record batch as leader; resolves once committed (acks=all), rejects with the Kafka error. */
  append(batch: Buffer): Promise<void>;
  /** Whole batches from `offset`, at most ~maxBytes (at least one batch), never at or past `maxOffset`. */
  read(offset: number, maxBytes: number, maxOffset: number): Promise<Buffer>;
}

/** The internal topic: created on first use, Kafka-style (compacted, offsets.topic.num.partitions / replication.factor). */
export interface OffsetsTopic {
  /** Partition count when the topic exists, else null. */
  existing(): number | null;
  /** Creates the topic if missing; resolves with its partition count, rejects when it cannot be created. */
  ensure(partitions: number, replicationFactor: number): Promise<number>;
  /** The partition when this node leads it and its log is open; undefined otherwise. */
  partition(index: number): OffsetsPartition | undefined;
  /** True while the metadata names this node the partition's leader but its replica does not lead yet (opening). */
  becomingLeader?(index: number): boolean;
  /**
   * Calls `listener` (asynchronously) whenever leadership of the topic's partitions may have changed;
   * returns an unsubscribe function. Without it the coordinator notices changes on the next request.
   */
  onChange?(listener: () => void): () => void;
}

export interface OffsetsRecord {
  readonly key: Buffer;
  /** null: tombstone */
  readonly value: Buffer | null;
}

/** One uncompressed batch, CreateTime = now, as Kafka's coordinator writes them (non-transactional). */
export function offsetsBatch(records: readonly OffsetsRecord[], nowMs: number): Buffer {
  return encodeRecordBatch({ compression: Compression.None, baseTimestamp: nowMs, records: records.map((r) => ({ key: r.key, value: r.value, timestamp: nowMs })) });
}

/** What a partition's records add up to: the latest value (or deletion) per key. */
export interface LoadedPartition {
  /** group -> topic -> partition -> offset (null = deleted) */
  readonly offsets: Map<string, Map<string, Map<number, OffsetValue | null>>>;
  /** group -> metadata (null = deleted) */
  readonly groups: Map<string, GroupValue | null>;
  readonly records: number;
  readonly skipped: number;
}

/**
 * Reads a partition from its log start to its log end (Kafka's GroupMetadataManager.doLoadGroupsAndOffsets: the
 * new leader's log is the truth, committed or about to be). Stops early, returning null, when `stillLeading`
 * says the leadership this load is for has ended.
 */
export async function loadPartition(partition: OffsetsPartition, logger: Logger, stillLeading: () => boolean = () => true): Promise<LoadedPartition | null> {
  const offsets = new Map<string, Map<string, Map<number, OffsetValue | null>>>();
  const groups = new Map<string, GroupValue | null>();
  let records = 0;
  let skipped = 0;
  const end = partition.logEndOffset;
  let next = partition.logStartOffset;
  while (next < end) {
    const data = await partition.read(next, OFFSETS_LOAD_BUFFER_BYTES, end);
    if (!stillLeading()) return null;
    if (data.length === 0) break;
    let advanced = false;
    for (const raw of wholeBatches(data)) {
      const header = readBatchHeader(raw, 0);
      const last = header.baseOffset + header.lastOffsetDelta;
      if (last < next) continue;
      next = last + 1;
      advanced = true;
      // Control batches (transaction markers) carry no group state; transactional offsets arrive with the txn issue.
      if (header.isControl) continue;
      for (const record of decodeRecordBatch(raw).records) {
        if (record.offset >= end) break;
        if (record.key === null) {
          skipped++;
          continue;
        }
        try {
          const key = decodeKey(record.key);
          if (key.kind === 'offset') {
            let byTopic = offsets.get(key.group);
            if (!byTopic) offsets.set(key.group, (byTopic = new Map()));
            let byPartition = byTopic.get(key.topic);
            if (!byPartition) byTopic.set(key.topic, (byPartition = new Map()));
            byPartition.set(key.partition, record.value === null ? null : decodeOffsetValue(record.value));
          } else {
            groups.set(key.group, record.value === null ? null : decodeGroupValue(record.value));
          }
          records++;
        } catch (err) {
          // An unreadable record must not make every group of the partition unavailable: skip it, loudly.
          skipped++;
          logger.warn({ err, offset: record.offset }, 'skipping unreadable __consumer_offsets record');
        }
      }
    }
    if (!advanced) break;
  }
  if (!stillLeading()) return null;
  return { offsets, groups, records, skipped };
}
