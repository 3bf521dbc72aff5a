import { counter, gauge, histogram, type Counter, type Gauge, type Histogram, type Registry } from '@fluxo/common';

/** The node's request and traffic metrics (one registry per node, passed in). */
export interface BrokerMetrics {
  readonly requests: Counter<string>;
  readonly requestErrors: Counter<string>;
  readonly requestDuration: Histogram<string>;
  readonly messagesIn: Counter<string>;
  readonly bytesIn: Counter<string>;
  readonly bytesOut: Counter<string>;
  readonly connections: Gauge<string>;
  readonly partitions: Gauge<string>;
}

export function createBrokerMetrics(registry: Registry): BrokerMetrics {
  return {
    requests: counter(registry, 'fluxo_requests_total', 'Requests received, by API and version', ['api', 'version']),
    requestErrors: counter(registry, 'fluxo_request_errors_total', 'Error codes returned, by API and error name', ['api', 'error']),
    requestDuration: histogram(registry, 'fluxo_request_duration_seconds', 'Time from request decode to response ready', ['api']),
    messagesIn: counter(registry, 'fluxo_messages_in_total', 'Records appended, by topic', ['topic']),
    bytesIn: counter(registry, 'fluxo_bytes_in_total', 'Record batch bytes appended, by topic', ['topic']),
    bytesOut: counter(registry, 'fluxo_bytes_out_total', 'Record batch bytes sent to fetchers, by topic', ['topic']),
    connections: gauge(registry, 'fluxo_connections', 'Open client connections'),
    partitions: gauge(registry, 'fluxo_partitions', 'Partitions hosted (open) on this node'),
  };
}
