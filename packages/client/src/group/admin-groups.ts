import { ErrorCode, KafkaProtocolError, errorName } from '@fluxo/common';
import { apis, decodeAssignmentBytes, decodeSubscriptionBytes } from '@fluxo/protocol';
import type { Cluster } from '../cluster.js';
import { listOffsets, type IsolationLevel } from '../list-offsets.js';
import { CoordinatorClient, type CoordinatorAddress } from './coordinator-client.js';
import { CONSUMER_PROTOCOL_TYPE } from './membership.js';
import { NO_GENERATION, commitOffsets, fetchCommittedOffsets, type CommittedOffset, type OffsetToCommit } from './offsets.js';
import { flatten, sortTopicPartitions, tpKey, type TopicPartition } from './topic-partition.js';

export interface GroupListing {
  groupId: string;
  /** 'consumer' for consumer groups, '' for groups that only commit offsets. */
  protocolType: string;
  /** Kafka group state (Empty, Stable, PreparingRebalance, CompletingRebalance, Dead). */
  state: string | null;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Decoded for consumer groups; empty otherwise. */
  assignment: TopicPartition[];
  /** Topics the member subscribes to (consumer groups), else null. */
  subscription: string[] | null;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: string;
  /** The chosen assignor (consumer groups). */
  protocol: string;
  members: GroupMemberDescription[];
  coordinator: CoordinatorAddress;
}

export type ResetStrategy =
  | { to: 'earliest' }
  | { to: 'latest' }
  | { to: 'datetime'; timestampMs: number }
  | { to: 'offset'; offset: number }
  | { shiftBy: number };

export interface OffsetReset {
  topic: string;
  partition: number;
  /** Committed offset before the reset, -1 when none. */
  currentOffset: number;
  newOffset: number;
}

/** Group states in which offsets may be changed from outside (Kafka's kafka-consumer-groups rule). */
const INACTIVE_STATES = new Set(['Empty', 'Dead']);

function groupError(groupId: string, code: number, what: string): KafkaProtocolError {
  const known: Partial<Record<number, string>> = {
    [ErrorCode.GROUP_ID_NOT_FOUND]: `group ${groupId} does not exist`,
    [ErrorCode.NON_EMPTY_GROUP]: `group ${groupId} has active members`,
  };
  return new KafkaProtocolError(code, `${known[code] ?? `${what} of group ${groupId} failed`} (${errorName(code)})`);
}

/** Consumer-group administration (Kafka Admin: list/describe/delete groups, list/alter/delete offsets). */
export class GroupAdmin {
  constructor(private readonly cluster: Cluster) {}

  private coordinatorFor(groupId: string): CoordinatorClient {
    return new CoordinatorClient(this.cluster, { groupId, dedicatedConnection: false, logger: this.cluster.logger });
  }

  /** ListGroups on every broker (each knows the groups it coordinates), merged and sorted. */
  async listGroups(options: { states?: string[] } = {}): Promise<GroupListing[]> {
    await this.cluster.refreshMetadata();
    const brokers = this.cluster.brokerList;
    const lists = await Promise.all(
      brokers.map((b) =>
        this.cluster.retry(async () => {
          const connection = await this.cluster.connectionTo(b.nodeId);
          const hasState = connection.versionFor(apis.ListGroups) >= 4;
          // The state filter is applied here (older brokers cannot filter).
          const response = await connection.send(apis.ListGroups, { statesFilter: [], typesFilter: [] });
          if (response.errorCode !== ErrorCode.NONE) {
            throw new KafkaProtocolError(response.errorCode, `ListGroups on broker ${b.nodeId} failed (${errorName(response.errorCode)})`);
          }
          return response.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: hasState ? (g.groupState ?? null) : null }));
        }),
      ),
    );
    const groups: GroupListing[] = lists.flat();
    // Brokers before ListGroups v4 do not say the state: ask DescribeGroups instead.
    const missing = groups.filter((g) => g.state === null);
    if (missing.length > 0) {
      const described = await this.describeGroups(missing.map((g) => g.groupId));
      missing.forEach((g, i) => (g.state = described[i]!.state));
    }
    const wanted = options.states ? new Set(options.states.map((s) => s.toLowerCase())) : null;
    return groups
      .filter((g) => !wanted || (g.state !== null && wanted.has(g.state.toLowerCase())))
      .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  async describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    return Promise.all(groupIds.map((id) => this.describeGroup(id)));
  }

  private async describeGroup(groupId: string): Promise<GroupDescription> {
    const coordinator = this.coordinatorFor(groupId);
    return coordinator.retry(async () => {
      const response = await coordinator.send(apis.DescribeGroups, { groups: [groupId], includeAuthorizedOperations: false });
      const g = response.groups.find((x) => x.groupId === groupId);
      if (!g) throw new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `DescribeGroups answered without group ${groupId}`);
      if (g.errorCode !== ErrorCode.NONE && g.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) throw groupError(groupId, g.errorCode, 'describe');
      const consumer = g.protocolType === CONSUMER_PROTOCOL_TYPE;
      return {
        groupId,
        // Kafka answers an unknown group as Dead (GROUP_ID_NOT_FOUND from v6).
        state: g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? 'Dead' : g.groupState,
        protocolType: g.protocolType,
        protocol: g.protocolData,
        coordinator: coordinator.known!,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId ?? null,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: consumer && m.memberAssignment.length > 0 ? sortTopicPartitions(flatten(decodeAssignmentBytes(m.memberAssignment).assignment.assignedPartitions)) : [],
          subscription: consumer && m.memberMetadata.length > 0 ? decodeSubscriptionBytes(m.memberMetadata).subscription.topics : null,
        })),
      };
    });
  }

  /** Committed offsets of a group: of the given partitions, or every partition it has committed for. */
  async fetchOffsets(groupId: string, partitions?: TopicPartition[]): Promise<CommittedOffset[]> {
    return fetchCommittedOffsets(this.coordinatorFor(groupId), partitions ?? null);
  }

  /** Commits offsets on behalf of a group without members (generation -1, like Kafka's alterConsumerGroupOffsets). */
  async alterOffsets(groupId: string, offsets: OffsetToCommit[]): Promise<void> {
    await commitOffsets(this.coordinatorFor(groupId), NO_GENERATION, offsets);
  }

  /**
   * Kafka's `kafka-consumer-groups --reset-offsets`: computes new offsets per partition, clamped to
   * [log start, log end]; commits them unless dryRun. The group must be inactive (Empty or Dead).
   * `topics`: per topic the partitions (all when omitted); null = every topic the group has offsets for.
   */
  async resetOffsets(options: {
    groupId: string;
    topics: { topic: string; partitions?: number[] }[] | null;
    strategy: ResetStrategy;
    dryRun: boolean;
    isolationLevel?: IsolationLevel;
  }): Promise<OffsetReset[]> {
    const { groupId, strategy } = options;
    const [description] = await this.describeGroups([groupId]);
    if (!INACTIVE_STATES.has(description!.state)) {
      throw new KafkaProtocolError(
        ErrorCode.NON_EMPTY_GROUP,
        `offsets of group ${groupId} can only be reset while it is inactive, but its state is ${description!.state} (NON_EMPTY_GROUP)`,
      );
    }
    const committed = await this.fetchOffsets(groupId);
    let partitions: TopicPartition[];
    if (options.topics === null) {
      partitions = committed.map((c) => ({ topic: c.topic, partition: c.partition }));
    } else {
      partitions = [];
      for (const t of options.topics) {
        const metadata = await this.cluster.topicMetadata(t.topic);
        const all = metadata.partitions.map((p) => p.partition);
        for (const p of t.partitions ?? all) {
          if (!all.includes(p)) {
            throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${p} of topic ${t.topic} does not exist (UNKNOWN_TOPIC_OR_PARTITION)`);
          }
          partitions.push({ topic: t.topic, partition: p });
        }
      }
    }
    partitions = sortTopicPartitions([...new Map(partitions.map((tp) => [tpKey(tp.topic, tp.partition), tp])).values()]);
    if (partitions.length === 0) return [];
    const isolation = options.isolationLevel ?? 'read_uncommitted';
    const query = (timestamp: number) => listOffsets(this.cluster, partitions.map((tp) => ({ ...tp, timestamp })), isolation);
    const [starts, ends] = await Promise.all([query(-2), query(-1)]);
    const current = new Map(committed.map((c) => [tpKey(c.topic, c.partition), c.offset]));
    let wanted: number[];
    if ('shiftBy' in strategy) {
      wanted = partitions.map((tp) => {
        const c = current.get(tpKey(tp.topic, tp.partition));
        if (c === undefined || c < 0) {
          throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `cannot shift the offset of ${tp.topic}-${tp.partition}: group ${groupId} has no committed offset for it`);
        }
        return c + strategy.shiftBy;
      });
    } else if (strategy.to === 'earliest') {
      wanted = starts.map((s) => s.offset);
    } else if (strategy.to === 'latest') {
      wanted = ends.map((e) => e.offset);
    } else if (strategy.to === 'datetime') {
      // No record at or after the time: the end of the log (Kafka's rule).
      const found = await query(strategy.timestampMs);
      wanted = found.map((f, i) => (f.offset >= 0 ? f.offset : ends[i]!.offset));
    } else {
      wanted = partitions.map(() => strategy.offset);
    }
    const resets = partitions.map((tp, i) => ({
      topic: tp.topic,
      partition: tp.partition,
      currentOffset: current.get(tpKey(tp.topic, tp.partition)) ?? -1,
      newOffset: Math.min(Math.max(wanted[i]!, starts[i]!.offset), ends[i]!.offset),
    }));
    if (!options.dryRun) await this.alterOffsets(groupId, resets.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.newOffset })));
    return resets;
  }

  /** DeleteGroups: each group must be empty (NON_EMPTY_GROUP) and exist (GROUP_ID_NOT_FOUND). */
  async deleteGroups(groupIds: string[]): Promise<void> {
    const errors: KafkaProtocolError[] = [];
    await Promise.all(
      groupIds.map(async (groupId) => {
        const coordinator = this.coordinatorFor(groupId);
        const code = await coordinator.retry(async () => {
          const response = await coordinator.send(apis.DeleteGroups, { groupsNames: [groupId] });
          const r = response.results.find((x) => x.groupId === groupId);
          const c = r ? r.errorCode : ErrorCode.UNKNOWN_SERVER_ERROR;
          if (c === ErrorCode.NOT_COORDINATOR || c === ErrorCode.COORDINATOR_NOT_AVAILABLE || c === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) throw new KafkaProtocolError(c);
          return c;
        });
        if (code !== ErrorCode.NONE) errors.push(groupError(groupId, code, 'delete'));
      }),
    );
    if (errors.length === 1) throw errors[0]!;
    if (errors.length > 1) throw new KafkaProtocolError(errors[0]!.code, errors.map((e) => e.message).join('; '));
  }

  /** OffsetDelete: forgets a group's committed offsets of these partitions (not while members read the topic). */
  async deleteOffsets(groupId: string, partitions: TopicPartition[]): Promise<void> {
    if (partitions.length === 0) return;
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) {
      let list = byTopic.get(tp.topic);
      if (!list) byTopic.set(tp.topic, (list = []));
      list.push(tp.partition);
    }
    const coordinator = this.coordinatorFor(groupId);
    await coordinator.retry(async () => {
      const response = await coordinator.send(apis.OffsetDelete, {
        groupId,
        topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex })) })),
      });
      if (response.errorCode !== ErrorCode.NONE) throw groupError(groupId, response.errorCode, 'delete offsets');
      const failed = response.topics.flatMap((t) => t.partitions.filter((p) => p.errorCode !== ErrorCode.NONE).map((p) => ({ what: `${t.name}-${p.partitionIndex}`, code: p.errorCode })));
      if (failed.length > 0) {
        throw new KafkaProtocolError(
          failed[0]!.code,
          `delete offsets of group ${groupId} failed for ${failed.map((f) => `${f.what} (${errorName(f.code)})`).join(', ')}`,
        );
      }
    });
  }
}
