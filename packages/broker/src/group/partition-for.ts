/** Java's String.hashCode over UTF-16 code units (int32 arithmetic). */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: Math.abs, except Integer.MIN_VALUE maps to 0. */
function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/** The __consumer_offsets (or __transaction_state) partition owning `key`: Utils.abs(key.hashCode) % partitions. */
export function partitionFor(key: string, partitionCount: number): number {
  return kafkaAbs(javaStringHashCode(key)) % partitionCount;
}
