import { NO_LEADER, counter, gauge, type Counter, type Gauge, type MetadataImage, type Registry } from '@fluxo/common';

export interface ControllerMetrics {
  readonly term: Gauge<string>;
  readonly commitIndex: Gauge<string>;
  readonly appliedIndex: Gauge<string>;
  readonly leaderId: Gauge<string>;
  readonly isActive: Gauge<string>;
  readonly followerLagEntries: Gauge<string>;
  readonly leaderChanges: Counter<string>;
  readonly rejectedRaftBatches: Counter<string>;
  readonly fencedBrokers: Counter<string>;
  readonly snapshots: Counter<string>;
  /** Cluster state as the active controller sees it (0 on the others, like Kafka's controller gauges). */
  readonly offlinePartitions: Gauge<string>;
  readonly globalPartitions: Gauge<string>;
  readonly globalTopics: Gauge<string>;
  readonly activeBrokers: Gauge<string>;
  readonly fencedBrokerCount: Gauge<string>;
  readonly preferredReplicaImbalance: Gauge<string>;
  readonly ongoingReassignments: Gauge<string>;
  readonly leaderElections: Counter<string>;
}

export function controllerMetrics(registry: Registry): ControllerMetrics {
  return {
    term: gauge(registry, 'fluxo_controller_raft_term', 'Current raft term of this controller'),
    commitIndex: gauge(registry, 'fluxo_controller_raft_commit_index', 'Highest metadata log index known committed'),
    appliedIndex: gauge(registry, 'fluxo_controller_raft_applied_index', 'Highest metadata log index applied to the state machine'),
    leaderId: gauge(registry, 'fluxo_controller_raft_leader_id', 'Node id of the known raft leader (-1: none)'),
    isActive: gauge(registry, 'fluxo_controller_active', '1 when this node is the active controller (raft leader)'),
    followerLagEntries: gauge(registry, 'fluxo_controller_raft_follower_lag_entries', 'Leader only: entries each voter is behind', ['voter']),
    leaderChanges: counter(registry, 'fluxo_controller_raft_leader_changes_total', 'Leader changes seen by this node'),
    rejectedRaftBatches: counter(registry, 'fluxo_controller_raft_rejected_batches_total', 'Incoming raft batches rejected', ['reason']),
    fencedBrokers: counter(registry, 'fluxo_controller_fenced_brokers_total', 'Brokers fenced by this controller (missed heartbeats or asked to be)'),
    snapshots: counter(registry, 'fluxo_controller_snapshots_total', 'Metadata snapshots taken'),
    offlinePartitions: gauge(registry, 'fluxo_controller_offline_partitions', 'Active controller: partitions without a leader (Kafka OfflinePartitionsCount)'),
    globalPartitions: gauge(registry, 'fluxo_controller_global_partitions', 'Active controller: partitions in the cluster'),
    globalTopics: gauge(registry, 'fluxo_controller_global_topics', 'Active controller: topics in the cluster'),
    activeBrokers: gauge(registry, 'fluxo_controller_active_brokers', 'Active controller: registered, unfenced brokers'),
    fencedBrokerCount: gauge(registry, 'fluxo_controller_fenced_brokers', 'Active controller: registered brokers that are fenced'),
    preferredReplicaImbalance: gauge(registry, 'fluxo_controller_preferred_replica_imbalance', 'Active controller: partitions not led by their preferred (first) replica'),
    leaderElections: counter(registry, 'fluxo_controller_leader_elections_total', 'Partition leader changes applied from the metadata log, by cause (election = new leader, offline = no leader)', ['cause']),
    ongoingReassignments: gauge(registry, 'fluxo_controller_ongoing_reassignments', 'Active controller: partitions being reassigned'),
  };
}

/**
 * Cluster-state gauges from the active controller's image (`null`: not active, all 0). Recounts only when the
 * image changed; returns the key to pass next time.
 */
export function setClusterGauges(m: ControllerMetrics, image: MetadataImage | null, lastKey: number): number {
  const key = image === null ? -1 : image.appliedIndex;
  if (key === lastKey) return lastKey;
  let partitions = 0;
  let offline = 0;
  let imbalanced = 0;
  let reassigning = 0;
  let fenced = 0;
  if (image !== null) {
    for (const t of image.topics.values()) {
      for (const p of t.partitions) {
        partitions++;
        if (p.leader === NO_LEADER) offline++;
        else if (p.leader !== p.replicas[0]) imbalanced++;
        if ((p.addingReplicas?.length ?? 0) > 0 || (p.removingReplicas?.length ?? 0) > 0) reassigning++;
      }
    }
    for (const b of image.brokers.values()) if (b.fenced) fenced++;
  }
  m.globalTopics.set(image?.topics.size ?? 0);
  m.globalPartitions.set(partitions);
  m.offlinePartitions.set(offline);
  m.preferredReplicaImbalance.set(imbalanced);
  m.ongoingReassignments.set(reassigning);
  m.fencedBrokerCount.set(fenced);
  m.activeBrokers.set(image === null ? 0 : image.brokers.size - fenced);
  return key;
}
