import { assert } from '@fluxo/common';
import { NO_SEQUENCE } from './sequence.js';

/** Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN: a duplicate of any of these gets its original offsets back. */
export const BATCHES_TO_RETAIN = 5;

/** What the log keeps about one appended batch of a producer (Kafka's BatchMetadata). */
export interface BatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** The batch's max timestamp as stored (LogAppendTime when the topic uses it). */
  readonly timestampMs: number;
}

/**
 * One producer id's state in one partition (Kafka's ProducerStateEntry): its current epoch and the metadata of
 * its last BATCHES_TO_RETAIN batches at that epoch, oldest first.
 */
export class ProducerEntry {
  readonly batches: BatchMetadata[] = [];

  constructor(
    readonly producerId: number,
    public epoch: number,
    /** Max timestamp of the last batch: the producer expires producer.id.expiration.ms after it. */
    public lastTimestampMs: number,
  ) {}

  get lastSeq(): number {
    return this.batches.length === 0 ? NO_SEQUENCE : this.batches[this.batches.length - 1]!.lastSeq;
  }

  get lastOffset(): number {
    return this.batches.length === 0 ? -1 : this.batches[this.batches.length - 1]!.lastOffset;
  }

  /** The retained batch with exactly this sequence range at this epoch (Kafka's findDuplicateBatch). */
  findDuplicate(epoch: number, firstSeq: number, lastSeq: number): BatchMetadata | null {
    if (epoch !== this.epoch) return null;
    for (const b of this.batches) if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return b;
    return null;
  }

  /** Records an appended batch; a new epoch forgets the batches of the old one (Kafka's addBatch). */
  addBatch(epoch: number, batch: BatchMetadata): void {
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.batches.length = 0;
    }
    if (this.batches.length === BATCHES_TO_RETAIN) this.batches.shift();
    this.batches.push(batch);
    this.lastTimestampMs = batch.timestampMs;
    assert(this.batches.length <= BATCHES_TO_RETAIN, 'producer entry keeps too many batches');
  }
}
