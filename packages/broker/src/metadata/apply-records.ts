import { ErrorCode, KafkaProtocolError, assertNever } from '@fluxo/common';
import type { BrokerImage, MetadataImage, MetadataRecord, TopicImage } from './records.js';

/**
 * Pure state transition: the image after `records`, or a KafkaProtocolError when one conflicts. Shared by
 * every MetadataStore implementation so they agree on semantics.
 */
export function applyRecords(image: MetadataImage, records: readonly MetadataRecord[]): MetadataImage {
  const topics = new Map(image.topics);
  const topicsById = new Map(image.topicsById);
  const brokers = new Map(image.brokers);
  const byId = (topicId: string): TopicImage => {
    const t = topicsById.get(topicId);
    if (!t) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_ID, `unknown topic id ${topicId}`);
    return t;
  };
  const put = (t: TopicImage): void => {
    topics.set(t.name, t);
    topicsById.set(t.topicId, t);
  };
  for (const record of records) {
    switch (record.type) {
      case 'BrokerRegistered': {
        const b: BrokerImage = { nodeId: record.nodeId, host: record.host, port: record.port, rack: record.rack };
        brokers.set(b.nodeId, b);
        break;
      }
      case 'TopicCreated': {
        if (topics.has(record.name)) throw new KafkaProtocolError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${record.name}' already exists.`);
        if (topicsById.has(record.topicId)) throw new KafkaProtocolError(ErrorCode.INCONSISTENT_TOPIC_ID, `topic id ${record.topicId} is taken`);
        if (!Number.isInteger(record.partitionCount) || record.partitionCount < 1) {
          throw new KafkaProtocolError(ErrorCode.INVALID_PARTITIONS, `invalid partition count ${record.partitionCount}`);
        }
        put({ name: record.name, topicId: record.topicId, partitionCount: record.partitionCount, configs: { ...record.configs } });
        break;
      }
      case 'PartitionsAdded': {
        const t = byId(record.topicId);
        if (!Number.isInteger(record.partitionCount) || record.partitionCount <= t.partitionCount) {
          throw new KafkaProtocolError(
            ErrorCode.INVALID_PARTITIONS,
            `Topic currently has ${t.partitionCount} partitions, which is higher than the requested ${record.partitionCount}.`,
          );
        }
        put({ ...t, partitionCount: record.partitionCount });
        break;
      }
      case 'ConfigChanged': {
        const t = byId(record.topicId);
        const configs: Record<string, string> = { ...t.configs };
        for (const [key, value] of Object.entries(record.changes)) {
          if (value === null) delete configs[key];
          else configs[key] = value;
        }
        put({ ...t, configs });
        break;
      }
      case 'TopicDeleted': {
        const t = byId(record.topicId);
        topics.delete(t.name);
        topicsById.delete(t.topicId);
        break;
      }
      default:
        assertNever(record, 'metadata record');
    }
  }
  return { clusterId: image.clusterId, topics, topicsById, brokers };
}
