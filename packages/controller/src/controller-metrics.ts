import { counter, gauge, type Counter, type Gauge, type Registry } from '@fluxo/common';

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
  };
}
