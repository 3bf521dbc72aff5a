import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import type { TopicAdmin } from '../cluster/topic-admin.js';
import type { TopicRegistry } from '../cluster/topic-registry.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { GROUP_METADATA_TOPIC, OFFSETS_TOPIC_SEGMENT_BYTES } from './group-config.js';
import type { OffsetsPartition, OffsetsTopic } from './offsets-log.js';

/** Kafka's GroupCoordinator.groupMetadataTopicConfigs: compacted, producer compression, 100 MiB segments. */
export function offsetsTopicConfigs(): Record<string, string> {
  return { 'cleanup.policy': 'compact', 'compression.type': 'producer', 'segment.bytes': String(OFFSETS_TOPIC_SEGMENT_BYTES) };
}

/** Where leadership comes from: the metadata image (partition leader) and this node's id. */
export interface OffsetsLeadership {
  readonly metadata: MetadataStore;
  readonly nodeId: number;
}

/**
 * __consumer_offsets as this broker sees it: a compacted topic in the metadata, the partitions it leads in the
 * registry. A partition counts as led when the image names this node its leader, the local replica is open and
 * leads in that same leader epoch (the image and the replica agree).
 */
export class BrokerOffsetsTopic implements OffsetsTopic {
  private creating: Promise<number> | null = null;

  constructor(
    private readonly topics: TopicRegistry,
    private readonly admin: TopicAdmin,
    private readonly leadership: OffsetsLeadership | null = null,
  ) {}

  existing(): number | null {
    const topic = this.topics.topic(GROUP_METADATA_TOPIC);
    return topic !== undefined && !topic.deleted ? topic.partitionCount : null;
  }

  ensure(partitions: number, replicationFactor: number): Promise<number> {
    const count = this.existing();
    if (count !== null) return Promise.resolve(count);
    // Concurrent first lookups share one creation.
    this.creating ??= this.create(partitions, replicationFactor).finally(() => {
      this.creating = null;
    });
    return this.creating;
  }

  private async create(partitions: number, replicationFactor: number): Promise<number> {
    const created = await this.admin.createTopic(
      { name: GROUP_METADATA_TOPIC, numPartitions: partitions, replicationFactor, assignments: [], configs: offsetsTopicConfigs() },
      false,
    );
    // E.g. INVALID_REPLICATION_FACTOR while fewer brokers are alive than offsets.topic.replication.factor.
    if (!created.ok && created.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) throw new KafkaProtocolError(created.errorCode, created.errorMessage);
    const count = this.existing();
    if (count === null) throw new KafkaProtocolError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${GROUP_METADATA_TOPIC} was deleted while being created`);
    return count;
  }

  partition(index: number): OffsetsPartition | undefined {
    const p = this.topics.topic(GROUP_METADATA_TOPIC)?.partition(index);
    if (p === undefined || p.isClosed || !p.isLeader) return undefined;
    if (this.leadership !== null) {
      const state = this.leadership.metadata.image().topics.get(GROUP_METADATA_TOPIC)?.partitions[index];
      if (state === undefined || state.leader !== this.leadership.nodeId || state.leaderEpoch !== p.leaderEpoch) return undefined;
    }
    const leaderEpoch = p.leaderEpoch;
    return {
      leaderEpoch,
      get logStartOffset() {
        return p.logStartOffset;
      },
      get logEndOffset() {
        return p.logEndOffset;
      },
      append: async (batch) => {
        // The replica may have moved on since this handle was taken: never append in a later leadership.
        if (!p.isLeader || p.leaderEpoch !== leaderEpoch) throw new KafkaProtocolError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${GROUP_METADATA_TOPIC}-${index} is no longer led here in epoch ${leaderEpoch}`);
        await p.append(batch, undefined);
      },
      read: async (offset, maxBytes, maxOffset) => (await p.log.read(offset, maxBytes, maxOffset)).records,
    };
  }

  becomingLeader(index: number): boolean {
    if (this.leadership === null) return false;
    const state = this.leadership.metadata.image().topics.get(GROUP_METADATA_TOPIC)?.partitions[index];
    return state !== undefined && state.leader === this.leadership.nodeId && this.partition(index) === undefined;
  }

  onChange(listener: () => void): () => void {
    if (this.leadership === null) return () => undefined;
    // Deferred: the partitions apply the same change in their own listeners (roles, epochs) first.
    return this.leadership.metadata.subscribe(() => {
      setImmediate(listener);
    });
  }
}
