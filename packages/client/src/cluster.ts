import { ErrorCode, KafkaProtocolError, errorName, silentLogger, type Logger, type Registry } from '@fluxo/common';
import { apis, type MetadataResponse } from '@fluxo/protocol';
import { Connection } from './connection.js';
import { ClientMetrics } from './metrics.js';
import { resolveRetryOptions, withRetries, type ResolvedRetryOptions, type RetryOptions } from './retry.js';

export interface BrokerAddress {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionMetadata {
  partition: number;
  /** -1 while there is no leader. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  errorCode: number;
}

export interface TopicMetadata {
  name: string;
  isInternal: boolean;
  /** Sorted by partition index. */
  partitions: PartitionMetadata[];
}

export interface ClusterOptions {
  /** Bootstrap servers, `host:port` each (a comma-separated string is accepted too). */
  brokers: string[] | string;
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxInFlightRequests?: number;
  retry?: RetryOptions;
  /** Metadata older than this is refreshed before use (Kafka metadata.max.age.ms). */
  metadataMaxAgeMs?: number;
  logger?: Logger;
  /** Where client metrics go (fluxo_client_*); none are kept without one. */
  registry?: Registry;
}

/** Errors after which the cached leaders may be wrong: refresh metadata before retrying. */
const METADATA_REFRESH_CODES = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.REPLICA_NOT_AVAILABLE,
]);

export function needsMetadataRefresh(code: number): boolean {
  return METADATA_REFRESH_CODES.has(code);
}

export function parseBrokerList(brokers: string[] | string): { host: string; port: number }[] {
  const list = (Array.isArray(brokers) ? brokers : [brokers]).flatMap((b) => b.split(',')).map((b) => b.trim()).filter((b) => b.length > 0);
  if (list.length === 0) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'no bootstrap servers given');
  return list.map((b) => {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(b);
    if (!m) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `bootstrap server "${b}" is not host:port`);
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `bootstrap server "${b}" has a bad port`);
    return { host: m[1]!, port };
  });
}

/**
 * What a client knows about the cluster: bootstrap servers, brokers and topic metadata, one connection
 * per broker, and retries with backoff that refresh metadata when leadership may have moved.
 */
export class Cluster {
  readonly clientId: string;
  readonly logger: Logger;
  readonly retryOptions: ResolvedRetryOptions;
  readonly requestTimeoutMs: number;
  readonly metrics: ClientMetrics | null;
  private readonly seeds: { host: string; port: number }[];
  private readonly connectTimeoutMs: number;
  private readonly maxInFlightRequests: number;
  private readonly metadataMaxAgeMs: number;

  private readonly connections = new Map<string, Connection>();
  private readonly brokers = new Map<number, BrokerAddress>();
  private readonly topics = new Map<string, TopicMetadata>();
  /** Cached topic metadata whose every partition has a leader (checked once per refresh, not per send). */
  private readonly fullyLed = new WeakSet<TopicMetadata>();
  /** Topics whose metadata every refresh fetches. */
  private readonly tracked = new Set<string>();
  private metadataUpdatedAtMs = 0;
  private refreshing: Promise<void> | null = null;
  private closed = false;
  controllerId = -1;
  clusterId: string | null = null;

  constructor(options: ClusterOptions) {
    this.seeds = parseBrokerList(options.brokers);
    this.clientId = options.clientId ?? 'fluxo';
    this.logger = options.logger ?? silentLogger();
    this.retryOptions = resolveRetryOptions(options.retry);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.maxInFlightRequests = options.maxInFlightRequests ?? 64;
    this.metadataMaxAgeMs = options.metadataMaxAgeMs ?? 300_000;
    this.metrics = options.registry ? new ClientMetrics(options.registry) : null;
  }

  /** Connects to a bootstrap server and loads the broker list. */
  async connect(): Promise<void> {
    await this.refreshMetadata();
  }

  get brokerList(): BrokerAddress[] {
    return [...this.brokers.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  broker(nodeId: number): BrokerAddress | undefined {
    return this.brokers.get(nodeId);
  }

  private connectionFor(host: string, port: number): Connection {
    const key = `${host}:${port}`;
    let connection = this.connections.get(key);
    if (!connection || connection.isClosed) {
      connection = new Connection({
        host,
        port,
        clientId: this.clientId,
        connectTimeoutMs: this.connectTimeoutMs,
        requestTimeoutMs: this.requestTimeoutMs,
        maxInFlightRequests: this.maxInFlightRequests,
        logger: this.logger,
        metrics: this.metrics,
        onClose: (c) => {
          if (this.connections.get(key) === c) this.connections.delete(key);
        },
      });
      this.connections.set(key, connection);
    }
    return connection;
  }

  /** A connected connection to the broker with this node id. */
  async connectionTo(nodeId: number): Promise<Connection> {
    this.assertOpen();
    const broker = this.brokers.get(nodeId);
    if (!broker) {
      throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `broker ${nodeId} is not in the cluster metadata (LEADER_NOT_AVAILABLE)`);
    }
    const connection = this.connectionFor(broker.host, broker.port);
    await connection.connect();
    return connection;
  }

  /** A connection to any reachable broker: known brokers first, then the bootstrap servers. */
  async anyConnection(): Promise<Connection> {
    this.assertOpen();
    for (const connection of this.connections.values()) if (connection.isConnected) return connection;
    const candidates = [...this.brokerList.map((b) => ({ host: b.host, port: b.port })), ...this.seeds];
    const failures: string[] = [];
    for (const { host, port } of candidates) {
      const connection = this.connectionFor(host, port);
      try {
        await connection.connect();
        return connection;
      } catch (err) {
        failures.push(`${host}:${port}: ${(err as Error).message}`);
      }
    }
    throw new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `cannot connect to any broker (${failures.join('; ')})`);
  }

  /** A connection to the controller (CreateTopics, DeleteTopics, CreatePartitions go there), else any broker. */
  async controllerConnection(): Promise<Connection> {
    if (this.brokers.size === 0 || this.isStale()) await this.refreshMetadata();
    if (this.controllerId >= 0 && this.brokers.has(this.controllerId)) return this.connectionTo(this.controllerId);
    return this.anyConnection();
  }

  private isStale(): boolean {
    return Date.now() - this.metadataUpdatedAtMs > this.metadataMaxAgeMs;
  }

  /** Refreshes the tracked topics' metadata when it is older than metadataMaxAgeMs (the periodic refresh). */
  async refreshIfStale(): Promise<void> {
    if (this.isStale()) await this.refreshMetadata();
  }

  /** Forces the next metadata lookup to go to the cluster. */
  markStale(): void {
    this.metadataUpdatedAtMs = 0;
  }

  /**
   * Fetches metadata for the tracked topics plus `topics`; concurrent callers share one request when they
   * ask for no new topic.
   */
  async refreshMetadata(topics: string[] = [], options: { allowAutoTopicCreation?: boolean } = {}): Promise<void> {
    const fresh = topics.filter((t) => !this.tracked.has(t));
    if (fresh.length === 0 && this.refreshing) return this.refreshing;
    for (const t of topics) this.tracked.add(t);
    const run = this.fetchMetadata([...this.tracked], options.allowAutoTopicCreation ?? false).then(() => undefined);
    if (fresh.length === 0) {
      this.refreshing = run.finally(() => {
        this.refreshing = null;
      });
      return this.refreshing;
    }
    return run;
  }

  /** One Metadata request; `topics` null means every topic. Updates the cache and returns the raw response. */
  async fetchMetadata(topics: string[] | null, allowAutoTopicCreation: boolean): Promise<MetadataResponse> {
    const connection = await this.anyConnection();
    const response = await connection.send(apis.Metadata, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    this.applyMetadata(response, topics);
    return response;
  }

  private applyMetadata(response: MetadataResponse, requested: string[] | null): void {
    this.brokers.clear();
    for (const b of response.brokers) this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    this.controllerId = response.controllerId ?? -1;
    this.clusterId = response.clusterId ?? null;
    const seen = new Set<string>();
    for (const t of response.topics) {
      if (t.name === null || t.name === undefined) continue;
      seen.add(t.name);
      if (t.errorCode !== ErrorCode.NONE) {
        this.topics.delete(t.name);
        continue;
      }
      const metadata: TopicMetadata = {
        name: t.name,
        isInternal: t.isInternal ?? false,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch ?? -1,
            replicas: [...p.replicaNodes],
            isr: [...p.isrNodes],
            offlineReplicas: [...(p.offlineReplicas ?? [])],
            errorCode: p.errorCode,
          }))
          .sort((a, b) => a.partition - b.partition),
      };
      this.topics.set(t.name, metadata);
      if (metadata.partitions.every((p) => p.leader >= 0)) this.fullyLed.add(metadata);
    }
    if (requested) for (const t of requested) if (!seen.has(t)) this.topics.delete(t);
    this.metadataUpdatedAtMs = Date.now();
  }

  /** Cached metadata of a topic, undefined when unknown (no refresh). */
  cachedTopic(topic: string): TopicMetadata | undefined {
    return this.topics.get(topic);
  }

  /**
   * Metadata of one topic, refreshed when missing or stale. Throws KafkaProtocolError with the topic's error
   * (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE while it is being created) once retries run out.
   */
  async topicMetadata(topic: string, options: { allowAutoTopicCreation?: boolean } = {}): Promise<TopicMetadata> {
    this.tracked.add(topic);
    const cached = this.topics.get(topic);
    if (cached && !this.isStale() && cached.partitions.every((p) => p.leader >= 0)) return cached;
    return withRetries(this.retryOptions, async () => {
      const response = await this.fetchMetadata([...this.tracked], options.allowAutoTopicCreation ?? false);
      const entry = response.topics.find((t) => t.name === topic);
      const code = entry ? entry.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (code !== ErrorCode.NONE) throw topicError(topic, code);
      const metadata = this.topics.get(topic);
      if (!metadata || metadata.partitions.length === 0) throw topicError(topic, ErrorCode.LEADER_NOT_AVAILABLE);
      return metadata;
    });
  }

  /**
   * Cached metadata of a topic when topicMetadata() would use it without asking the cluster (fresh, every
   * partition led); undefined otherwise. Synchronous, for the producer's per-send fast path.
   */
  freshTopic(topic: string): TopicMetadata | undefined {
    const cached = this.topics.get(topic);
    if (!cached || !this.fullyLed.has(cached) || this.isStale() || !this.tracked.has(topic)) return undefined;
    return cached;
  }

  /** Leader node of a partition from the cache, -1 when unknown. */
  leaderFor(topic: string, partition: number): number {
    const partitions = this.topics.get(topic)?.partitions;
    if (!partitions) return -1;
    const p = partitions[partition]?.partition === partition ? partitions[partition] : partitions.find((x) => x.partition === partition);
    return p?.leader ?? -1;
  }

  /** Stops tracking topics no one uses any more (consumer unassign). */
  untrack(topic: string): void {
    this.tracked.delete(topic);
  }

  /** Retries `fn` on retriable errors with backoff, refreshing metadata when leadership may have moved. */
  retry<T>(fn: (attempt: number) => Promise<T>): Promise<T> {
    return withRetries(this.retryOptions, fn, async (err) => {
      this.logger.debug({ err: err.message, code: err.code }, 'retriable error, retrying');
      if (needsMetadataRefresh(err.code)) {
        this.markStale();
        await this.refreshMetadata().catch(() => undefined);
      }
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, 'the client is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}

/** A KafkaProtocolError whose message names the topic, e.g. "topic foo does not exist (UNKNOWN_TOPIC_OR_PARTITION)". */
export function topicError(topic: string, code: number, detail?: string | null): KafkaProtocolError {
  const known: Partial<Record<number, string>> = {
    [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]: `topic ${topic} does not exist`,
    [ErrorCode.TOPIC_ALREADY_EXISTS]: `topic ${topic} already exists`,
    [ErrorCode.LEADER_NOT_AVAILABLE]: `topic ${topic} has no leader yet`,
  };
  // The broker's own message adds detail for other errors (e.g. which config is invalid).
  const what = known[code] ?? `topic ${topic}: ${detail || 'request failed'}`;
  return new KafkaProtocolError(code, `${what} (${errorName(code)})`);
}
