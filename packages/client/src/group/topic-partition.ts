/** A partition of a topic; the unit a group assigns. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Map key of a partition (NUL cannot occur in topic names). */
export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

/** Sorted copy, for deterministic output and readable logs. */
export function sortTopicPartitions(list: readonly TopicPartition[]): TopicPartition[] {
  return [...list].sort(compareTopicPartitions);
}

/** Groups partitions by topic (topics sorted, partitions sorted): the shape of the wire protocol. */
export function byTopic(list: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const out = new Map<string, number[]>();
  for (const tp of sortTopicPartitions(list)) {
    let partitions = out.get(tp.topic);
    if (!partitions) out.set(tp.topic, (partitions = []));
    partitions.push(tp.partition);
  }
  return [...out].map(([topic, partitions]) => ({ topic, partitions }));
}

export function flatten(list: readonly { topic: string; partitions: readonly number[] }[]): TopicPartition[] {
  return list.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

/** Partitions of `a` that are not in `b`. */
export function minus(a: readonly TopicPartition[], b: readonly TopicPartition[]): TopicPartition[] {
  const keys = new Set(b.map((tp) => tpKey(tp.topic, tp.partition)));
  return a.filter((tp) => !keys.has(tpKey(tp.topic, tp.partition)));
}
