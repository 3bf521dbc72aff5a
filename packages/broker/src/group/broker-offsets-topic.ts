import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import type { TopicAdmin } from '../cluster/topic-admin.js';
import type { TopicRegistry } from '../cluster/topic-registry.js';
import { GROUP_METADATA_TOPIC, OFFSETS_TOPIC_SEGMENT_BYTES } from './group-config.js';
import type { OffsetsPartition, OffsetsTopic } from './offsets-log.js';

/** Kafka's GroupCoordinator.groupMetadataTopicConfigs: compacted, producer compression, 100 MiB segments. */
export function offsetsTopicConfigs(): Record<string, string> {
  return { 'cleanup.policy': 'compact', 'compression.type': 'producer', 'segment.bytes': String(OFFSETS_TOPIC_SEGMENT_BYTES) };
}

/** __consumer_offsets as hosted by this node: a compacted topic in the metadata, its partitions in the registry. */
export class BrokerOffsetsTopic implements OffsetsTopic {
  constructor(
    private readonly topics: TopicRegistry,
    private readonly admin: TopicAdmin,
  ) {}

  existing(): number | null {
    const topic = this.topics.topic(GROUP_METADATA_TOPIC);
    return topic !== undefined && topic.ready ? topic.partitionCount : null;
  }

  async ensure(partitions: number): Promise<number> {
    let topic = this.topics.topic(GROUP_METADATA_TOPIC);
    if (topic === undefined) {
      const created = await this.admin.createTopic(
        { name: GROUP_METADATA_TOPIC, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: offsetsTopicConfigs() },
        false,
      );
      if (!created.ok && created.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) throw new KafkaProtocolError(created.errorCode, created.errorMessage);
      topic = this.topics.topic(GROUP_METADATA_TOPIC);
      if (topic === undefined) throw new KafkaProtocolError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${GROUP_METADATA_TOPIC} was deleted while being created`);
    }
    await this.topics.whenReady(topic);
    if (topic.deleted || !topic.ready) throw new KafkaProtocolError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${GROUP_METADATA_TOPIC} is not available`);
    return topic.partitionCount;
  }

  partition(index: number): OffsetsPartition | undefined {
    const p = this.topics.topic(GROUP_METADATA_TOPIC)?.partition(index);
    if (p === undefined || p.isClosed) return undefined;
    return {
      get logStartOffset() {
        return p.logStartOffset;
      },
      get highWatermark() {
        return p.highWatermark;
      },
      append: async (batch) => {
        await p.append(batch, undefined);
      },
      read: async (offset, maxBytes, maxOffset) => (await p.log.read(offset, maxBytes, maxOffset)).records,
    };
  }
}
