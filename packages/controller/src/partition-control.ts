import {
  allPartitions,
  collectPartitionOps,
  dueReassignmentCompletions,
  electLeader,
  preferredElectionsDue,
  startReassignment,
  type Logger,
  type MetadataImage,
  type MetadataRecord,
  type PartitionOpResult,
  type PartitionOutcome,
} from '@fluxo/common';
import type { Committed } from './proposals.js';
import type { ControllerConfig } from './quorum-config.js';

export interface PartitionControlDeps {
  /** The applied image (current only on the active controller). */
  readonly image: () => MetadataImage;
  /** Proposes one batch; resolves once applied without conflict. */
  readonly propose: (records: readonly MetadataRecord[]) => Promise<Committed>;
  readonly logger: Logger;
  readonly config: ControllerConfig;
}

/**
 * The active controller's partition decisions beyond fencing: operator-requested leader elections and
 * reassignments, completing reassignments once their new replicas are in sync, and Kafka's auto leader rebalance.
 * Decisions are pure functions of the image (common/metadata/partition-ops.ts); this class proposes them.
 */
export class PartitionControl {
  /** A completion / rebalance proposal is in flight: the next is computed from its result. */
  private completing = false;
  private rebalancing = false;
  private lastRebalanceCheckMs = Date.now();

  constructor(private readonly deps: PartitionControlDeps) {}

  /**
   * Kafka's ElectLeaders: `partitions` null means every partition (then partitions that need no election are
   * left out of the answer, as Kafka does). All elections are one batch, computed from one image.
   */
  electLeaders(electionType: number, partitions: readonly { topic: string; partition: number }[] | null): Promise<PartitionOutcome[]> {
    return this.proposeOps(partitions ?? allPartitions(this.deps.image()), (tp) => electLeader(this.deps.image(), tp.topic, tp.partition, electionType), partitions === null);
  }

  /** Kafka's AlterPartitionReassignments: `replicas` null cancels a partition's ongoing reassignment. */
  async alterReassignments(targets: readonly { topic: string; partition: number; replicas: readonly number[] | null }[]): Promise<PartitionOutcome[]> {
    const outcomes = await this.proposeOps(targets, (tp) => startReassignment(this.deps.image(), tp.topic, tp.partition, tp.replicas), false);
    for (const o of outcomes) if (o.errorCode === 0) this.deps.logger.info({ topic: o.topic, partition: o.partition }, 'partition reassignment changed');
    return outcomes;
  }

  /** All decisions from one image, proposed as one batch. */
  private async proposeOps<T extends { topic: string; partition: number }>(targets: readonly T[], op: (tp: T) => PartitionOpResult, omitNotNeeded: boolean): Promise<PartitionOutcome[]> {
    const { records, outcomes } = collectPartitionOps(targets, op, omitNotNeeded);
    if (records.length > 0) await this.deps.propose(records);
    return outcomes;
  }

  /** Completes reassignments whose new replicas have joined the ISR (one proposal at a time). */
  maybeCompleteReassignments(): void {
    if (this.completing) return;
    const due = dueReassignmentCompletions(this.deps.image());
    if (due.length === 0) return;
    this.completing = true;
    void this.deps.propose(due)
      .then(() => this.deps.logger.info({ partitions: due.length }, 'partition reassignments completed'))
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'completing reassignments failed; retried on a later tick'))
      .finally(() => {
        this.completing = false;
      });
  }

  /** Kafka's auto.leader.rebalance.enable: every leader.imbalance.check.interval, preferred elections where due. */
  maybeRebalanceLeaders(): void {
    const c = this.deps.config;
    if (!c.autoLeaderRebalanceEnable || this.rebalancing) return;
    const now = Date.now();
    if (now - this.lastRebalanceCheckMs < c.leaderImbalanceCheckIntervalMs) return;
    this.lastRebalanceCheckMs = now;
    const due = preferredElectionsDue(this.deps.image(), c.leaderImbalancePerBrokerPercentage);
    if (due.length === 0) return;
    this.rebalancing = true;
    void this.deps.propose(due)
      .then(() => this.deps.logger.info({ partitions: due.length }, 'preferred leaders restored (auto leader rebalance)'))
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'auto leader rebalance failed; retried at the next check'))
      .finally(() => {
        this.rebalancing = false;
      });
  }
}
