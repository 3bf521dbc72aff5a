/** Kafka's RecordBatch sentinels: a batch without a producer carries producerId -1, epoch -1, base sequence -1. */
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;

const INT32_MAX = 0x7fffffff;

/** `seq + increment`, wrapping past Int32.MAX to 0 (Kafka's DefaultRecordBatch.incrementSequence). */
export function incrementSequence(seq: number, increment: number): number {
  if (seq > INT32_MAX - increment) return increment - (INT32_MAX - seq) - 1;
  return seq + increment;
}

/** `seq - decrement` with the same wrap (Kafka's DefaultRecordBatch.decrementSequence). */
export function decrementSequence(seq: number, decrement: number): number {
  if (seq < decrement) return INT32_MAX - (decrement - seq) + 1;
  return seq - decrement;
}

/** Whether `nextSeq` directly follows `lastSeq` (Kafka's ProducerAppendInfo.inSequence). */
export function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}
