import type { MetadataImage } from './metadata-image.js';
import type { MetadataRecord } from './records.js';

/**
 * Records that describe how `next` differs from `previous`, for listeners when a broker's metadata copy is
 * replaced wholesale (a full image from the controller after its log was compacted). Listeners treat records
 * as hints of what changed and read the state from the image, so these need not replay exactly: deleted
 * topics, created topics, added partitions, config changes, changed partitions and broker changes.
 */
export function imageDiffRecords(previous: MetadataImage, next: MetadataImage): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const [id, t] of previous.topicsById) {
    const now = next.topicsById.get(id);
    // A topic re-created under the same name has a new id: the old one is deleted.
    if (now === undefined) records.push({ type: 'TopicDeleted', topicId: t.topicId });
  }
  for (const [id, t] of next.topicsById) {
    const before = previous.topicsById.get(id);
    if (before === undefined) {
      records.push({
        type: 'TopicCreated',
        name: t.name,
        topicId: t.topicId,
        partitionCount: t.partitionCount,
        configs: t.configs,
        partitions: t.partitions.map((p) => ({ partition: p.partition, replicas: p.replicas })),
      });
      continue;
    }
    if (before === t) continue;
    if (t.partitionCount > before.partitionCount) {
      records.push({
        type: 'PartitionsAdded',
        topicId: id,
        partitionCount: t.partitionCount,
        partitions: t.partitions.slice(before.partitionCount).map((p) => ({ partition: p.partition, replicas: p.replicas })),
      });
    }
    const changes: Record<string, string | null> = {};
    for (const k of Object.keys(before.configs)) if (!(k in t.configs)) changes[k] = null;
    for (const [k, v] of Object.entries(t.configs)) if (before.configs[k] !== v) changes[k] = v;
    if (Object.keys(changes).length > 0) records.push({ type: 'ConfigChanged', topicId: id, changes });
    for (let i = 0; i < Math.min(before.partitionCount, t.partitionCount); i++) {
      const a = before.partitions[i];
      const b = t.partitions[i];
      if (a === undefined || b === undefined || a === b || a.partitionEpoch === b.partitionEpoch) continue;
      const sameReplicas = a.replicas.length === b.replicas.length && a.replicas.every((r, k) => b.replicas[k] === r);
      if (sameReplicas) records.push({ type: 'PartitionChanged', topicId: id, partition: i, partitionEpoch: a.partitionEpoch, leader: b.leader, isr: b.isr });
      else {
        records.push({
          type: 'PartitionReassigned',
          topicId: id,
          partition: i,
          partitionEpoch: a.partitionEpoch,
          replicas: b.replicas,
          isr: b.isr,
          leader: b.leader,
          adding: b.addingReplicas ?? [],
          removing: b.removingReplicas ?? [],
        });
      }
    }
  }
  for (const [nodeId, b] of next.brokers) {
    const before = previous.brokers.get(nodeId);
    if (before === undefined || before.brokerEpoch !== b.brokerEpoch) {
      records.push({ type: 'BrokerRegistered', nodeId, host: b.host, port: b.port, rack: b.rack, incarnationId: b.incarnationId, endpoints: b.endpoints });
      if (!b.fenced) records.push({ type: 'BrokerUnfenced', nodeId, brokerEpoch: b.brokerEpoch });
    } else if (before.fenced !== b.fenced) {
      records.push(b.fenced ? { type: 'BrokerFenced', nodeId, brokerEpoch: b.brokerEpoch } : { type: 'BrokerUnfenced', nodeId, brokerEpoch: b.brokerEpoch });
    }
  }
  return records;
}
