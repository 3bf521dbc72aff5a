import { ErrorCode, KafkaProtocolError, errorName } from '@fluxo/common';
import { apis } from '@fluxo/protocol';
import { Cluster, topicError, type ClusterOptions, type TopicMetadata } from './cluster.js';
import { sleep } from './retry.js';
import { listOffsets, specTimestamp, type IsolationLevel, type OffsetSpec } from './list-offsets.js';
import { GroupAdmin, type GroupDescription, type GroupListing, type OffsetReset, type ResetStrategy } from './group/admin-groups.js';
import type { CommittedOffset, OffsetToCommit } from './group/offsets.js';
import type { TopicPartition } from './group/topic-partition.js';

/** One partition's answer to an election or reassignment (errorCode 0 = done). */
export interface PartitionResult {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface QuorumDescription {
  readonly leaderId: number;
  /** Raft term. */
  readonly leaderEpoch: number;
  /** Commit index of the metadata log. */
  readonly highWatermark: number;
  readonly voters: readonly { nodeId: number; logEndOffset: number; lag: number; lastFetchTimestamp: number; lastCaughtUpTimestamp: number }[];
}

export type AdminOptions = ClusterOptions;

export interface NewTopic {
  topic: string;
  /** Default: the broker's num.partitions. */
  numPartitions?: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  configs?: Record<string, string> | { name: string; value: string | null }[];
  /** Explicit replica lists per partition (then numPartitions/replicationFactor are not sent). */
  replicaAssignment?: { partition: number; replicas: number[] }[];
}

export type ConfigResourceType = 'topic' | 'broker';

/** Kafka ConfigResource.Type wire values. */
const RESOURCE_TYPE_CODE: Record<ConfigResourceType, number> = { topic: 2, broker: 4 };

/** Kafka DescribeConfigsResponse.ConfigSource names, by wire value. */
export const CONFIG_SOURCE_NAMES: readonly string[] = [
  'UNKNOWN',
  'DYNAMIC_TOPIC_CONFIG',
  'DYNAMIC_BROKER_CONFIG',
  'DYNAMIC_DEFAULT_BROKER_CONFIG',
  'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG',
  'DYNAMIC_BROKER_LOGGER_CONFIG',
  'CLIENT_METRICS_CONFIG',
  'GROUP_CONFIG',
];

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  /** A CONFIG_SOURCE_NAMES name, e.g. DYNAMIC_TOPIC_CONFIG for a value set on the topic. */
  source: string;
  isSensitive: boolean;
}

export interface ConfigResourceResult {
  type: ConfigResourceType;
  name: string;
  configs: ConfigEntry[];
}

export type AlterConfigOperation = 'set' | 'delete' | 'append' | 'subtract';
const OPERATION_CODE: Record<AlterConfigOperation, number> = { set: 0, delete: 1, append: 2, subtract: 3 };

export interface PartitionDescription {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  errorCode: number;
}

export interface TopicDescription {
  name: string;
  isInternal: boolean;
  partitions: PartitionDescription[];
}

export interface PartitionOffset {
  partition: number;
  offset: number;
  timestamp: number;
}

function resourceError(what: string, code: number, message: string | null | undefined): KafkaProtocolError {
  return new KafkaProtocolError(code, `${what}: ${message ? `${message} ` : ''}(${errorName(code)})`);
}

/** Throws one error for a list of per-item failures (the first one's code; every item named). */
function throwAll(errors: KafkaProtocolError[]): void {
  if (errors.length === 0) return;
  if (errors.length === 1) throw errors[0]!;
  throw new KafkaProtocolError(errors[0]!.code, errors.map((e) => e.message).join('; '));
}

/** Topic and cluster administration over the Kafka protocol (kafkajs admin-like). */
export class Admin {
  readonly cluster: Cluster;
  private readonly groups: GroupAdmin;

  constructor(options: AdminOptions) {
    this.cluster = new Cluster(options);
    this.groups = new GroupAdmin(this.cluster);
  }

  /** Groups of every broker, sorted by id; `states` filters (Kafka state names, case-insensitive). */
  listGroups(options: { states?: string[] } = {}): Promise<GroupListing[]> {
    return this.groups.listGroups(options);
  }

  /** State, assignor and members (with decoded assignments) of each group; unknown groups come back Dead. */
  describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    return this.groups.describeGroups(groupIds);
  }

  /** A group's committed offsets: of these partitions (-1 where none), or of every partition it committed. */
  fetchOffsets(options: { groupId: string; partitions?: TopicPartition[] }): Promise<CommittedOffset[]> {
    return this.groups.fetchOffsets(options.groupId, options.partitions);
  }

  /** Sets committed offsets of a group that has no members (OffsetCommit with generation -1). */
  alterOffsets(options: { groupId: string; offsets: OffsetToCommit[] }): Promise<void> {
    return this.groups.alterOffsets(options.groupId, options.offsets);
  }

  /** kafka-consumer-groups --reset-offsets: plans (dryRun) or commits new offsets of an inactive group. */
  resetOffsets(options: {
    groupId: string;
    topics: { topic: string; partitions?: number[] }[] | null;
    strategy: ResetStrategy;
    dryRun: boolean;
    isolationLevel?: IsolationLevel;
  }): Promise<OffsetReset[]> {
    return this.groups.resetOffsets(options);
  }

  deleteGroups(groupIds: string[]): Promise<void> {
    return this.groups.deleteGroups(groupIds);
  }

  deleteOffsets(options: { groupId: string; partitions: TopicPartition[] }): Promise<void> {
    return this.groups.deleteOffsets(options.groupId, options.partitions);
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  async close(): Promise<void> {
    await this.cluster.close();
  }

  /**
   * Creates topics; by default waits until every new partition has a leader (kafkajs waitForLeaders), so that
   * produce and fetch work as soon as this resolves.
   */
  async createTopics(options: { topics: NewTopic[]; validateOnly?: boolean; timeoutMs?: number; waitForLeaders?: boolean }): Promise<void> {
    if (options.topics.length === 0) return;
    const response = await this.cluster.retry(async () => {
      const connection = await this.cluster.controllerConnection();
      const version = connection.versionFor(apis.CreateTopics);
      const response = await connection.send(apis.CreateTopics, {
        topics: options.topics.map((t) => {
          const configs = Array.isArray(t.configs)
            ? t.configs
            : Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value }));
          const assigned = t.replicaAssignment !== undefined && t.replicaAssignment.length > 0;
          // v4+ lets the broker pick defaults with -1; older versions need numbers.
          const useDefault = version >= 4 ? -1 : 1;
          return {
            name: t.topic,
            numPartitions: assigned ? -1 : (t.numPartitions ?? useDefault),
            replicationFactor: assigned ? -1 : (t.replicationFactor ?? useDefault),
            assignments: (t.replicaAssignment ?? []).map((a) => ({ partitionIndex: a.partition, brokerIds: a.replicas })),
            configs,
          };
        }),
        timeoutMs: options.timeoutMs ?? 60_000,
        validateOnly: options.validateOnly ?? false,
      });
      const retriable = response.topics.find((t) => t.errorCode !== ErrorCode.NONE && new KafkaProtocolError(t.errorCode).retriable);
      if (retriable) throw topicError(retriable.name, retriable.errorCode, retriable.errorMessage);
      return response;
    });
    throwAll(response.topics.filter((t) => t.errorCode !== ErrorCode.NONE).map((t) => topicError(t.name, t.errorCode, t.errorMessage)));
    if (!options.validateOnly) {
      this.cluster.markStale();
      if (options.waitForLeaders ?? true) await this.waitForLeaders(options.topics.map((t) => t.topic), options.timeoutMs ?? 60_000);
    }
  }

  private async waitForLeaders(topics: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const response = await this.cluster.retry(() => this.cluster.fetchMetadata(topics, false));
      const ready = topics.every((name) => {
        const t = response.topics.find((x) => x.name === name);
        return t !== undefined && t.errorCode === ErrorCode.NONE && t.partitions.length > 0 && t.partitions.every((p) => p.leaderId >= 0);
      });
      if (ready) return;
      if (Date.now() >= deadline) {
        throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `topics ${topics.join(', ')} have no leaders after ${timeoutMs} ms (LEADER_NOT_AVAILABLE)`);
      }
      await sleep(Math.min(50 * 2 ** attempt, 500));
    }
  }

  async deleteTopics(options: { topics: string[]; timeoutMs?: number }): Promise<void> {
    if (options.topics.length === 0) return;
    const response = await this.cluster.retry(async () => {
      const connection = await this.cluster.controllerConnection();
      return connection.send(apis.DeleteTopics, {
        topicNames: options.topics,
        topics: [],
        timeoutMs: options.timeoutMs ?? 30_000,
      });
    });
    throwAll(
      response.responses
        .filter((r) => r.errorCode !== ErrorCode.NONE)
        .map((r) => topicError(r.name ?? '?', r.errorCode, r.errorMessage)),
    );
    for (const t of options.topics) this.cluster.untrack(t);
    this.cluster.markStale();
  }

  /** Topic names, sorted; internal topics (__consumer_offsets) only when asked. */
  async listTopics(options: { includeInternal?: boolean } = {}): Promise<string[]> {
    const response = await this.cluster.retry(() => this.cluster.fetchMetadata(null, false));
    return response.topics
      .filter((t) => (t.errorCode === ErrorCode.NONE || t.errorCode === ErrorCode.LEADER_NOT_AVAILABLE) && t.name && (options.includeInternal || !t.isInternal))
      .map((t) => t.name!)
      .sort();
  }

  async describeTopics(topics: string[]): Promise<TopicDescription[]> {
    const response = await this.cluster.retry(async () => {
      const r = await this.cluster.fetchMetadata(topics, false);
      // A topic being created answers LEADER_NOT_AVAILABLE for a moment: retry that.
      const pending = r.topics.find((t) => t.errorCode === ErrorCode.LEADER_NOT_AVAILABLE);
      if (pending) throw topicError(pending.name ?? '?', pending.errorCode);
      return r;
    });
    return topics.map((name) => {
      const t = response.topics.find((x) => x.name === name);
      const code = t ? t.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (code !== ErrorCode.NONE) throw topicError(name, code);
      const metadata: TopicMetadata | undefined = this.cluster.cachedTopic(name);
      return {
        name,
        isInternal: t!.isInternal ?? false,
        partitions: (metadata?.partitions ?? []).map((p) => ({ ...p })),
      };
    });
  }

  /** Raises the partition count of topics to `count` (never lowers it: Kafka rule). */
  async createPartitions(options: { topicPartitions: { topic: string; count: number; assignments?: number[][] }[]; validateOnly?: boolean; timeoutMs?: number }): Promise<void> {
    const response = await this.cluster.retry(async () => {
      const connection = await this.cluster.controllerConnection();
      return connection.send(apis.CreatePartitions, {
        topics: options.topicPartitions.map((t) => ({
          name: t.topic,
          count: t.count,
          assignments: t.assignments ? t.assignments.map((brokerIds) => ({ brokerIds })) : null,
        })),
        timeoutMs: options.timeoutMs ?? 30_000,
        validateOnly: options.validateOnly ?? false,
      });
    });
    throwAll(response.results.filter((r) => r.errorCode !== ErrorCode.NONE).map((r) => topicError(r.name, r.errorCode, r.errorMessage)));
    this.cluster.markStale();
  }

  async describeConfigs(options: {
    resources: { type: ConfigResourceType; name: string; configNames?: string[] }[];
    includeSynonyms?: boolean;
  }): Promise<ConfigResourceResult[]> {
    const results: ConfigResourceResult[] = [];
    for (const resource of options.resources) {
      const response = await this.cluster.retry(async () => {
        // Broker resources are answered by that broker (Kafka rule); topics by any.
        const connection =
          resource.type === 'broker' && resource.name !== '' && this.cluster.broker(Number(resource.name))
            ? await this.cluster.connectionTo(Number(resource.name))
            : await this.cluster.anyConnection();
        return connection.send(apis.DescribeConfigs, {
          resources: [{ resourceType: RESOURCE_TYPE_CODE[resource.type], resourceName: resource.name, configurationKeys: resource.configNames ?? null }],
          includeSynonyms: options.includeSynonyms ?? false,
          includeDocumentation: false,
        });
      });
      for (const r of response.results) {
        if (r.errorCode !== ErrorCode.NONE) {
          if (resource.type === 'topic' && r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw topicError(resource.name, r.errorCode, r.errorMessage);
          throw resourceError(`describe configs of ${resource.type} ${resource.name}`, r.errorCode, r.errorMessage);
        }
        results.push({
          type: resource.type,
          name: r.resourceName,
          configs: r.configs.map((c) => {
            const source = c.configSource ?? -1;
            return {
              name: c.name,
              value: c.value,
              readOnly: c.readOnly,
              // v0 has isDefault; v1+ has configSource (the decoder fills isDefault with false there).
              isDefault: source >= 0 ? source === 5 : (c.isDefault ?? false),
              source: CONFIG_SOURCE_NAMES[source] ?? (c.isDefault ? 'DEFAULT_CONFIG' : 'UNKNOWN'),
              isSensitive: c.isSensitive,
            };
          }),
        });
      }
    }
    return results;
  }

  /**
   * Changes individual config keys (set, delete = back to the default, append/subtract for lists). Uses
   * IncrementalAlterConfigs; against a broker without it, falls back to AlterConfigs with the topic's current
   * dynamic configs plus the changes (what kafka-configs.sh did before KIP-339).
   */
  async incrementalAlterConfigs(options: {
    resources: { type: ConfigResourceType; name: string; configs: { name: string; value?: string | null; operation?: AlterConfigOperation }[] }[];
    validateOnly?: boolean;
  }): Promise<void> {
    for (const resource of options.resources) {
      const response = await this.cluster.retry(async () => {
        const connection =
          resource.type === 'broker' && resource.name !== '' && this.cluster.broker(Number(resource.name))
            ? await this.cluster.connectionTo(Number(resource.name))
            : await this.cluster.anyConnection();
        if (connection.supports(apis.IncrementalAlterConfigs)) {
          const r = await connection.send(apis.IncrementalAlterConfigs, {
            resources: [
              {
                resourceType: RESOURCE_TYPE_CODE[resource.type],
                resourceName: resource.name,
                configs: resource.configs.map((c) => ({ name: c.name, configOperation: OPERATION_CODE[c.operation ?? 'set'], value: c.value ?? null })),
              },
            ],
            validateOnly: options.validateOnly ?? false,
          });
          return r.responses;
        }
        const current = await this.describeConfigs({ resources: [{ type: resource.type, name: resource.name }] });
        const values = new Map<string, string | null>();
        for (const c of current[0]?.configs ?? []) {
          if (c.source === 'DYNAMIC_TOPIC_CONFIG' || c.source === 'DYNAMIC_BROKER_CONFIG') values.set(c.name, c.value);
        }
        for (const c of resource.configs) {
          const op = c.operation ?? 'set';
          if (op === 'set') values.set(c.name, c.value ?? null);
          else if (op === 'delete') values.delete(c.name);
          else {
            const list = (values.get(c.name) ?? current[0]?.configs.find((x) => x.name === c.name)?.value ?? '').split(',').filter((x) => x !== '');
            const items = (c.value ?? '').split(',').filter((x) => x !== '');
            values.set(c.name, (op === 'append' ? [...list, ...items.filter((i) => !list.includes(i))] : list.filter((i) => !items.includes(i))).join(','));
          }
        }
        const r = await connection.send(apis.AlterConfigs, {
          resources: [{ resourceType: RESOURCE_TYPE_CODE[resource.type], resourceName: resource.name, configs: [...values].map(([name, value]) => ({ name, value })) }],
          validateOnly: options.validateOnly ?? false,
        });
        return r.responses;
      });
      for (const r of response) {
        if (r.errorCode === ErrorCode.NONE) continue;
        if (resource.type === 'topic' && r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw topicError(resource.name, r.errorCode, r.errorMessage);
        throw resourceError(`alter configs of ${resource.type} ${resource.name}`, r.errorCode, r.errorMessage);
      }
    }
  }

  /** Deletes records before the given offsets (-1: up to the high watermark); returns the new low watermarks. */
  async deleteRecords(options: { topic: string; partitions: { partition: number; offset: number }[]; timeoutMs?: number }): Promise<{ partition: number; lowWatermark: number }[]> {
    const { topic } = options;
    return this.cluster.retry(async () => {
      await this.cluster.topicMetadata(topic);
      const byLeader = new Map<number, { partition: number; offset: number }[]>();
      for (const p of options.partitions) {
        const leader = this.cluster.leaderFor(topic, p.partition);
        if (leader < 0) throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `no leader for ${topic}-${p.partition} (LEADER_NOT_AVAILABLE)`);
        let list = byLeader.get(leader);
        if (!list) byLeader.set(leader, (list = []));
        list.push(p);
      }
      const out: { partition: number; lowWatermark: number }[] = [];
      await Promise.all(
        [...byLeader].map(async ([leader, list]) => {
          const connection = await this.cluster.connectionTo(leader);
          const response = await connection.send(apis.DeleteRecords, {
            topics: [{ name: topic, partitions: list.map((p) => ({ partitionIndex: p.partition, offset: p.offset })) }],
            timeoutMs: options.timeoutMs ?? 30_000,
          });
          for (const t of response.topics) {
            for (const p of t.partitions) {
              if (p.errorCode !== ErrorCode.NONE) {
                if (p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw topicError(topic, p.errorCode);
                throw new KafkaProtocolError(p.errorCode, `delete records of ${topic}-${p.partitionIndex} failed (${errorName(p.errorCode)})`);
              }
              out.push({ partition: p.partitionIndex, lowWatermark: p.lowWatermark });
            }
          }
        }),
      );
      return out.sort((a, b) => a.partition - b.partition);
    });
  }

  /**
   * The controller quorum (DescribeQuorum, like kafka-metadata-quorum.sh describe --status): leader, term, the
   * metadata log's high watermark and each voter's log end and lag. Any broker answers (it asks the controller).
   */
  async describeQuorum(): Promise<QuorumDescription> {
    const response = await this.cluster.retry(async () => {
      const connection = await this.cluster.anyConnection();
      return connection.send(apis.DescribeQuorum, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] });
    });
    if (response.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(response.errorCode, `describe quorum failed (${errorName(response.errorCode)}): ${response.errorMessage ?? ''}`);
    const p = response.topics[0]?.partitions[0];
    if (p === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, 'describe quorum: empty answer');
    if (p.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(p.errorCode, `describe quorum failed (${errorName(p.errorCode)}): ${p.errorMessage ?? ''}`);
    const highWatermark = p.highWatermark;
    return {
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      highWatermark,
      voters: p.currentVoters.map((v) => ({
        nodeId: v.replicaId,
        logEndOffset: v.logEndOffset,
        lag: v.logEndOffset < 0 ? -1 : Math.max(0, highWatermark - v.logEndOffset),
        lastFetchTimestamp: v.lastFetchTimestamp ?? -1,
        lastCaughtUpTimestamp: v.lastCaughtUpTimestamp ?? -1,
      })),
    };
  }

  /**
   * Kafka's ElectLeaders: 'preferred' moves leadership back to each partition's first replica; 'unclean' elects
   * any alive replica for a leaderless partition (may lose acknowledged records). No partitions = all.
   */
  async electLeaders(options: { type?: 'preferred' | 'unclean'; partitions?: { topic: string; partition: number }[]; timeoutMs?: number } = {}): Promise<PartitionResult[]> {
    const byTopic = new Map<string, number[]>();
    for (const p of options.partitions ?? []) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    const response = await this.cluster.retry(async () => {
      const connection = await this.cluster.anyConnection();
      return connection.send(apis.ElectLeaders, {
        electionType: options.type === 'unclean' ? 1 : 0,
        topicPartitions: options.partitions === undefined ? null : [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        timeoutMs: options.timeoutMs ?? 30_000,
      });
    });
    if ((response.errorCode ?? 0) !== ErrorCode.NONE) throw new KafkaProtocolError(response.errorCode ?? 0, `elect leaders failed (${errorName(response.errorCode ?? 0)})`);
    this.cluster.markStale();
    return response.replicaElectionResults.flatMap((t) => t.partitionResult.map((p) => ({ topic: t.topic, partition: p.partitionId, errorCode: p.errorCode, errorMessage: p.errorMessage ?? null })));
  }

  /** Kafka's AlterPartitionReassignments (KIP-455): `replicas` null cancels a partition's ongoing move. */
  async alterPartitionReassignments(options: { reassignments: { topic: string; partition: number; replicas: number[] | null }[]; timeoutMs?: number }): Promise<PartitionResult[]> {
    const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
    for (const r of options.reassignments) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), { partitionIndex: r.partition, replicas: r.replicas }]);
    const response = await this.cluster.retry(async () => {
      const connection = await this.cluster.anyConnection();
      return connection.send(apis.AlterPartitionReassignments, { timeoutMs: options.timeoutMs ?? 30_000, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) });
    });
    if (response.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(response.errorCode, `alter reassignments failed (${errorName(response.errorCode)}): ${response.errorMessage ?? ''}`);
    this.cluster.markStale();
    return response.responses.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode, errorMessage: p.errorMessage ?? null })));
  }

  /** Ongoing reassignments (all, or of the given topics). */
  async listPartitionReassignments(topics?: string[]): Promise<{ topic: string; partition: number; replicas: number[]; adding: number[]; removing: number[] }[]> {
    const response = await this.cluster.retry(async () => {
      const connection = await this.cluster.anyConnection();
      return connection.send(apis.ListPartitionReassignments, { timeoutMs: 30_000, topics: topics === undefined ? null : topics.map((name) => ({ name, partitionIndexes: [] })) });
    });
    if (response.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(response.errorCode, `list reassignments failed (${errorName(response.errorCode)})`);
    return response.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas, adding: p.addingReplicas, removing: p.removingReplicas })));
  }

  /** Offsets of every partition of a topic: earliest, latest, or the first at or after a timestamp (-1 if none). */
  async listOffsets(topic: string, spec: OffsetSpec = 'latest', isolationLevel: IsolationLevel = 'read_uncommitted'): Promise<PartitionOffset[]> {
    const timestamp = specTimestamp(spec);
    const metadata = await this.cluster.topicMetadata(topic);
    const answers = await listOffsets(
      this.cluster,
      metadata.partitions.map((p) => ({ topic, partition: p.partition, timestamp })),
      isolationLevel,
    );
    return answers.map((a) => ({ partition: a.partition, offset: a.offset, timestamp: a.timestamp }));
  }
}
