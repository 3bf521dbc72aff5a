import { counter, gauge, histogram, type Counter, type Gauge, type Histogram, type Registry } from '@fluxo/common';
import { BATCH_HEADER_SIZE, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, RECORDS_COUNT_OFFSET } from '@fluxo/protocol';

/**
 * The node's request and traffic metrics (one registry per node, passed in). Every label value is bounded by
 * what the node knows, never by what a client sends: `api` is a handler name, `version` a version its codec
 * decodes (else "unsupported"), `error` a Kafka error name, `topic` an existing topic.
 */
export interface BrokerMetrics {
  readonly requests: Counter<string>;
  readonly requestErrors: Counter<string>;
  readonly requestDuration: Histogram<string>;
  readonly messagesIn: Counter<string>;
  readonly bytesIn: Counter<string>;
  readonly messagesOut: Counter<string>;
  readonly bytesOut: Counter<string>;
  readonly connections: Gauge<string>;
  readonly partitions: Gauge<string>;
}

export function createBrokerMetrics(registry: Registry): BrokerMetrics {
  return {
    requests: counter(registry, 'fluxo_requests_total', 'Requests received, by API and version', ['api', 'version']),
    requestErrors: counter(registry, 'fluxo_request_errors_total', 'Error codes returned, by API and error name', ['api', 'error']),
    requestDuration: histogram(registry, 'fluxo_request_duration_seconds', 'Time from request decode to response ready, by API and version', ['api', 'version']),
    messagesIn: counter(registry, 'fluxo_messages_in_total', 'Records appended, by topic', ['topic']),
    bytesIn: counter(registry, 'fluxo_bytes_in_total', 'Record batch bytes appended, by topic', ['topic']),
    messagesOut: counter(registry, 'fluxo_messages_out_total', 'Records sent to fetchers (whole batches, as stored), by topic', ['topic']),
    bytesOut: counter(registry, 'fluxo_bytes_out_total', 'Record batch bytes sent to fetchers, by topic', ['topic']),
    connections: gauge(registry, 'fluxo_connections', 'Open client connections'),
    partitions: gauge(registry, 'fluxo_partitions', 'Partitions hosted (open) on this node'),
  };
}

/** The `version` label of a request: one the API's codec decodes, else "unsupported" (a client picks it). */
export function versionLabel(apiVersion: number, minVersion: number, maxVersion: number): string {
  return apiVersion >= minVersion && apiVersion <= maxVersion ? String(apiVersion) : 'unsupported';
}

/**
 * Counts what a fetch response carries for one partition: bytes, and records from the batch headers (per
 * batch, never per record; a truncated trailing batch counts only its bytes, as Kafka sends it).
 */
export function countFetched(metrics: BrokerMetrics, topic: string, records: Buffer): void {
  if (records.length === 0) return;
  let messages = 0;
  let offset = 0;
  while (offset + BATCH_HEADER_SIZE <= records.length) {
    const batchLength = records.readInt32BE(offset + BATCH_LENGTH_OFFSET);
    const end = offset + LOG_OVERHEAD + batchLength;
    if (batchLength <= 0 || end > records.length) break;
    messages += records.readInt32BE(offset + RECORDS_COUNT_OFFSET);
    offset = end;
  }
  metrics.bytesOut.inc({ topic }, records.length);
  if (messages > 0) metrics.messagesOut.inc({ topic }, messages);
}
