import { counter, histogram, type Counter, type Histogram, type Registry } from '@fluxo/common';

/**
 * Client-side metrics in a caller's prom-client Registry (none when no registry is given). Series are per
 * API or per component, never per record, so updating them stays off the per-record path.
 */
export class ClientMetrics {
  readonly requests: Counter<string>;
  readonly requestErrors: Counter<string>;
  readonly requestDuration: Histogram<string>;
  readonly connections: Counter<string>;
  readonly producedRecords: Counter<string>;
  readonly producedBatches: Counter<string>;
  readonly produceRetries: Counter<string>;
  readonly produceFailures: Counter<string>;
  readonly consumedRecords: Counter<string>;
  readonly fetchErrors: Counter<string>;
  readonly groupRebalances: Counter<string>;
  readonly groupCommits: Counter<string>;
  readonly groupCommitFailures: Counter<string>;
  readonly groupHeartbeatFailures: Counter<string>;

  constructor(registry: Registry) {
    this.requests = counter(registry, 'fluxo_client_requests_total', 'Requests sent by the client', ['api']);
    this.requestErrors = counter(registry, 'fluxo_client_request_errors_total', 'Requests that failed (network, timeout, decode)', ['api']);
    this.requestDuration = histogram(registry, 'fluxo_client_request_duration_seconds', 'Time from send to response', ['api']);
    this.connections = counter(registry, 'fluxo_client_connections_opened_total', 'TCP connections opened to brokers');
    this.producedRecords = counter(registry, 'fluxo_client_produced_records_total', 'Records acknowledged by brokers');
    this.producedBatches = counter(registry, 'fluxo_client_produced_batches_total', 'Record batches acknowledged by brokers');
    this.produceRetries = counter(registry, 'fluxo_client_produce_retries_total', 'Batches requeued after a retriable error', ['error']);
    this.produceFailures = counter(registry, 'fluxo_client_produce_failures_total', 'Batches that failed for good', ['error']);
    this.consumedRecords = counter(registry, 'fluxo_client_consumed_records_total', 'Records returned by fetches');
    this.fetchErrors = counter(registry, 'fluxo_client_fetch_errors_total', 'Fetch rounds that failed with a retriable error', ['error']);
    this.groupRebalances = counter(registry, 'fluxo_client_group_rebalances_total', 'Completed JoinGroup/SyncGroup rounds of consumer group members', ['protocol']);
    this.groupCommits = counter(registry, 'fluxo_client_group_commits_total', 'OffsetCommit requests that succeeded');
    this.groupCommitFailures = counter(registry, 'fluxo_client_group_commit_failures_total', 'OffsetCommit requests that failed for good', ['error']);
    this.groupHeartbeatFailures = counter(registry, 'fluxo_client_group_heartbeat_failures_total', 'Heartbeats answered with an error or not answered', ['error']);
  }
}
