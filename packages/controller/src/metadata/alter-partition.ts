import { ErrorCode, KafkaProtocolError, type MetadataImage, type MetadataRecord } from '@fluxo/common';

/**
 * A broker's ISR change (Kafka's AlterPartition): only the partition's current leader, registered, unfenced and at
 * its current broker epoch, may change the ISR (not the leader), at the current partition epoch, and only add
 * unfenced replicas (KIP-841). Throws KafkaProtocolError with Kafka's code otherwise.
 */
export function validateAlterPartition(image: MetadataImage, brokerId: number, brokerEpoch: number, r: Extract<MetadataRecord, { type: 'PartitionChanged' }>): void {
  const broker = image.brokers.get(brokerId);
  if (broker === undefined) throw new KafkaProtocolError(ErrorCode.BROKER_ID_NOT_REGISTERED, `broker ${brokerId} is not registered`);
  if (broker.brokerEpoch !== brokerEpoch) throw new KafkaProtocolError(ErrorCode.STALE_BROKER_EPOCH, `broker ${brokerId} epoch is ${broker.brokerEpoch}, not ${brokerEpoch}`);
  if (broker.fenced) throw new KafkaProtocolError(ErrorCode.STALE_BROKER_EPOCH, `broker ${brokerId} is fenced`);
  const t = image.topicsById.get(r.topicId);
  const p = t?.partitions[r.partition];
  if (t === undefined || p === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${r.topicId}-${r.partition} does not exist`);
  if (p.leader !== brokerId || r.leader !== brokerId) {
    throw new KafkaProtocolError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${brokerId} is not the leader of ${t.name}-${r.partition} (leader ${p.leader})`);
  }
  if (p.partitionEpoch !== r.partitionEpoch) {
    throw new KafkaProtocolError(ErrorCode.INVALID_UPDATE_VERSION, `${t.name}-${r.partition} is at partition epoch ${p.partitionEpoch}, not ${r.partitionEpoch}`);
  }
  for (const id of r.isr) {
    const b = image.brokers.get(id);
    if (id !== brokerId && !p.isr.includes(id) && (b === undefined || b.fenced)) {
      throw new KafkaProtocolError(ErrorCode.INELIGIBLE_REPLICA, `broker ${id} is fenced or unknown and cannot join the ISR of ${t.name}-${r.partition}`);
    }
  }
}
