import { NO_LEADER, type MetadataImage, type MetadataRecord, type PartitionState, type TopicState } from '@fluxo/common';

/**
 * Records that fence broker `nodeId` (its lease expired or it asked to be fenced): it leaves every ISR it is
 * in (except as the last member, so the partition can come back with it: unclean election stays off), and
 * partitions it led get the first other ISR replica that is not fenced as leader, or none.
 */
export function fenceBrokerRecords(image: MetadataImage, nodeId: number): MetadataRecord[] {
  const broker = image.brokers.get(nodeId);
  if (broker === undefined || broker.fenced) return [];
  const usable = (id: number): boolean => id !== nodeId && image.brokers.get(id)?.fenced === false;
  const records: MetadataRecord[] = [{ type: 'BrokerFenced', nodeId, brokerEpoch: broker.brokerEpoch }];
  forEachPartition(image, (t, p) => {
    if (!p.isr.includes(nodeId) && p.leader !== nodeId) return;
    const isr = p.isr.length > 1 ? p.isr.filter((r) => r !== nodeId) : p.isr;
    let leader = p.leader;
    if (leader === nodeId || (leader !== NO_LEADER && !isr.includes(leader))) leader = p.replicas.find((r) => isr.includes(r) && usable(r)) ?? NO_LEADER;
    if (leader === p.leader && sameMembers(isr, p.isr)) return;
    records.push({ type: 'PartitionChanged', topicId: t.topicId, partition: p.partition, partitionEpoch: p.partitionEpoch, leader, isr });
  });
  return records;
}

/** Records that unfence broker `nodeId`; leaderless partitions whose ISR holds it get it back as leader. */
export function unfenceBrokerRecords(image: MetadataImage, nodeId: number): MetadataRecord[] {
  const broker = image.brokers.get(nodeId);
  if (broker === undefined || !broker.fenced) return [];
  const records: MetadataRecord[] = [{ type: 'BrokerUnfenced', nodeId, brokerEpoch: broker.brokerEpoch }];
  forEachPartition(image, (t, p) => {
    if (p.leader !== NO_LEADER || !p.isr.includes(nodeId)) return;
    records.push({ type: 'PartitionChanged', topicId: t.topicId, partition: p.partition, partitionEpoch: p.partitionEpoch, leader: nodeId, isr: p.isr });
  });
  return records;
}

function forEachPartition(image: MetadataImage, fn: (t: TopicState, p: PartitionState) => void): void {
  for (const t of image.topics.values()) for (const p of t.partitions) fn(t, p);
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
