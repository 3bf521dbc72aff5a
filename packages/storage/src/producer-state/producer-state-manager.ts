import { CorruptDataError, ErrorCode, KafkaProtocolError, type Logger } from '@fluxo/common';
import { PRODUCER_ID_OFFSET, readBatchHeader, type RecordBatchHeader } from '@fluxo/protocol';
import { ProducerEntry, type BatchMetadata } from './producer-entry.js';
import { NO_PRODUCER_EPOCH, inSequence, incrementSequence } from './sequence.js';
import { deleteSnapshot, listSnapshotOffsets, readSnapshot, writeSnapshot } from './snapshot-file.js';

/** Where a batch starts inside an append's buffer (BatchInfo of batch-scan.ts fits). */
export interface BatchStart {
  readonly start: number;
}

/** The log as the rebuild needs it: every batch header from the batch containing `fromOffset` to the log end. */
export interface BatchHeaderSource {
  forEachBatchHeader(fromOffset: number, fn: (header: RecordBatchHeader) => void): Promise<void>;
}

/** Outcome of a client append's check: null = append it; otherwise a duplicate (answer with its offsets) or a refusal. */
export type ClientAppendCheck = null | { readonly kind: 'duplicate'; readonly batch: BatchMetadata } | { readonly kind: 'rejected'; readonly error: KafkaProtocolError };

/** Snapshots kept per partition (the newest ones): the next unclean start scans the log after the newest. */
const SNAPSHOTS_TO_KEEP = 2;

/** Batches of an append without a producer id (producerId -1: every non-idempotent producer) skip all of this. */
function hasProducerId(batches: Buffer, start: number): boolean {
  // The int64's high word is negative exactly when the producer id is (-1 = none).
  return batches.readInt32BE(start + PRODUCER_ID_OFFSET) >= 0;
}

/**
 * Idempotent-producer state of one partition (Kafka's ProducerStateManager): per producer id its epoch and its
 * last five batches. The leader checks each client batch before offsets are assigned (checkClientAppend);
 * every appended batch, leader or follower, is then recorded without validation (onAppended) so a follower
 * that becomes leader already knows every producer. The state is rebuilt at open from the newest snapshot
 * plus a scan of the batch headers after it, and again after a truncation.
 *
 * All mutation is synchronous and happens on the log's single writer, in log order.
 */
export class ProducerStateManager {
  private producers = new Map<number, ProducerEntry>();

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  get producerCount(): number {
    return this.producers.size;
  }

  /** A producer's state (tests, DescribeProducers). */
  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  /**
   * Validates a client (leader) append before offsets are assigned, like Kafka's
   * analyzeAndValidateProducerState for AppendOrigin.CLIENT: one batch per append when it carries a producer
   * id; a batch equal (epoch, first and last sequence) to one of the producer's last five is a duplicate; an
   * older epoch is INVALID_PRODUCER_EPOCH; a new epoch must start at sequence 0 and a known epoch must continue
   * at last sequence + 1, else OUT_OF_ORDER_SEQUENCE_NUMBER. A producer this partition has no state for (new,
   * expired, or truncated away) must start at sequence 0, else UNKNOWN_PRODUCER_ID: Kafka's rule before 2.5.
   * Kafka 2.5+ accepts any sequence there, which lets a lost first request be overtaken by the pipelined ones
   * after it (they would be written ahead of it); clients answer UNKNOWN_PRODUCER_ID by bumping their epoch and
   * restarting at 0 (KIP-360), so nothing is lost and order holds.
   */
  checkClientAppend(batches: Buffer, infos: readonly BatchStart[]): ClientAppendCheck {
    let idempotent = -1;
    for (let i = 0; i < infos.length; i++) if (hasProducerId(batches, infos[i]!.start)) idempotent = i;
    if (idempotent < 0) return null;
    if (infos.length !== 1) {
      return rejected(ErrorCode.INVALID_RECORD, `a produce request carries one record batch per partition, not ${infos.length}`);
    }
    const h = readBatchHeader(batches, infos[idempotent]!.start);
    if (h.isTransactional) {
      return rejected(ErrorCode.INVALID_TXN_STATE, `transactional batch from producer ${h.producerId}: transactions are not supported`);
    }
    if (h.baseSequence < 0) {
      return rejected(ErrorCode.INVALID_RECORD, `Invalid sequence number ${h.baseSequence} in record batch with producerId ${h.producerId}`);
    }
    const entry = this.producers.get(h.producerId);
    const firstSeq = h.baseSequence;
    if (entry === undefined) {
      if (firstSeq === 0) return null;
      return rejected(
        ErrorCode.UNKNOWN_PRODUCER_ID,
        `Found no record of producerId=${h.producerId} on the broker: its first batch here must have sequence 0, not ${firstSeq}`,
      );
    }
    const lastSeq = incrementSequence(firstSeq, h.lastOffsetDelta);
    const duplicate = entry.findDuplicate(h.producerEpoch, firstSeq, lastSeq);
    if (duplicate !== null) return { kind: 'duplicate', batch: duplicate };
    if (h.producerEpoch < entry.epoch) {
      return rejected(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `Epoch of producer ${h.producerId} is ${h.producerEpoch}, which is smaller than the last seen epoch ${entry.epoch}`,
      );
    }
    if (h.producerEpoch !== entry.epoch) {
      if (firstSeq !== 0 && entry.epoch !== NO_PRODUCER_EPOCH) {
        return rejected(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `Invalid sequence number for new epoch of producer ${h.producerId}: ${h.producerEpoch} (request epoch), ${firstSeq} (seq. number), ${entry.epoch} (current producer epoch)`,
        );
      }
    } else if (entry.epoch !== NO_PRODUCER_EPOCH && !inSequence(entry.lastSeq, firstSeq)) {
      return rejected(
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `Out of order sequence number for producer ${h.producerId}: ${firstSeq} (incoming seq. number), ${entry.lastSeq} (current end sequence number)`,
      );
    }
    return null;
  }

  /**
   * Records the batches of an append whose offsets are in the buffer (assigned by the leader's writer, or
   * replicated): no validation (Kafka's AppendOrigin.REPLICATION path). Followers call this for every append.
   */
  onAppended(batches: Buffer, infos: readonly BatchStart[]): void {
    for (const info of infos) {
      if (hasProducerId(batches, info.start)) this.applyHeader(readBatchHeader(batches, info.start));
    }
  }

  private applyHeader(h: RecordBatchHeader): void {
    if (h.producerId < 0 || h.isControl) return;
    const lastOffset = h.baseOffset + h.lastOffsetDelta;
    const batch: BatchMetadata = {
      firstSeq: h.baseSequence,
      lastSeq: incrementSequence(h.baseSequence, h.lastOffsetDelta),
      firstOffset: h.baseOffset,
      lastOffset,
      timestampMs: h.maxTimestamp,
    };
    let entry = this.producers.get(h.producerId);
    if (entry === undefined) {
      entry = new ProducerEntry(h.producerId, h.producerEpoch, h.maxTimestamp);
      this.producers.set(h.producerId, entry);
    }
    entry.addBatch(h.producerEpoch, batch);
  }

  /**
   * Forgets producers whose last batch is producer.id.expiration.ms old (Kafka measures from the batch's max
   * timestamp). Returns how many went.
   */
  removeExpired(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.producers) {
      if (nowMs - entry.lastTimestampMs >= expirationMs) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Rebuilds the state at open: the newest readable snapshot at or below the log end, then the batch headers
   * after it. A clean shutdown without any snapshot (a data directory from before producer state was kept)
   * means no producer state, like Kafka's upgrade path: no full scan.
   */
  async load(log: BatchHeaderSource, o: { logStartOffset: number; logEndOffset: number; cleanShutdown: boolean }): Promise<void> {
    const offsets = await listSnapshotOffsets(this.dir);
    if (offsets.length === 0 && o.cleanShutdown && o.logEndOffset > o.logStartOffset) {
      this.producers = new Map();
      this.logger.info({ logEndOffset: o.logEndOffset }, 'no producer snapshot after a clean shutdown: starting without producer state');
      return;
    }
    await this.reload(log, o.logStartOffset, o.logEndOffset);
  }

  /** After a truncation (and at open): state from the newest snapshot at or below the log end plus a scan. */
  async reload(log: BatchHeaderSource, logStartOffset: number, logEndOffset: number): Promise<void> {
    this.producers = new Map();
    let from = logStartOffset;
    let loadedFrom: number | null = null;
    const offsets = await listSnapshotOffsets(this.dir);
    for (let i = offsets.length - 1; i >= 0; i--) {
      const offset = offsets[i]!;
      if (offset > logEndOffset) {
        // Describes batches the log no longer has (truncated away).
        await deleteSnapshot(this.dir, offset);
        continue;
      }
      try {
        const snap = await readSnapshot(this.dir, offset);
        if (snap === null) continue;
        for (const p of snap.producers) this.producers.set(p.producerId, p);
        from = Math.max(logStartOffset, snap.offset);
        loadedFrom = snap.offset;
        break;
      } catch (err) {
        if (!(err instanceof CorruptDataError)) throw err;
        this.logger.warn({ err: err.message, snapshotOffset: offset }, 'ignoring unreadable producer snapshot');
        await deleteSnapshot(this.dir, offset);
      }
    }
    let scanned = 0;
    if (from < logEndOffset) {
      await log.forEachBatchHeader(from, (h) => {
        scanned++;
        this.applyHeader(h);
      });
    }
    this.logger.debug({ snapshotOffset: loadedFrom, scannedFrom: from, scannedBatches: scanned, producers: this.producers.size }, 'loaded producer state');
  }

  /** Forgets everything, snapshots included (the log restarts empty at a new offset). */
  async clear(): Promise<void> {
    this.producers = new Map();
    for (const offset of await listSnapshotOffsets(this.dir)) await deleteSnapshot(this.dir, offset);
  }

  /**
   * Writes the state as of `offset` (every batch below it recorded: clean shutdown, segment roll) and keeps only
   * the newest SNAPSHOTS_TO_KEEP snapshots.
   */
  async takeSnapshot(offset: number): Promise<void> {
    await writeSnapshot(this.dir, offset, this.producers.values());
    const offsets = await listSnapshotOffsets(this.dir);
    const kept = new Set(offsets.filter((o) => o <= offset).slice(-SNAPSHOTS_TO_KEEP));
    for (const o of offsets) if (!kept.has(o)) await deleteSnapshot(this.dir, o);
  }
}

function rejected(code: number, message: string): ClientAppendCheck {
  return { kind: 'rejected', error: new KafkaProtocolError(code, message) };
}
