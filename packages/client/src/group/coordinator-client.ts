import { ErrorCode, KafkaProtocolError, errorName, type Logger } from '@fluxo/common';
import { apis, type ApiCodec } from '@fluxo/protocol';
import type { Cluster } from '../cluster.js';
import { Connection } from '../connection.js';
import { backoffMs, errorCodeOf, sleep } from '../retry.js';

/** FindCoordinator key types. */
export const CoordinatorKeyType = { GROUP: 0, TRANSACTION: 1 } as const;

/** Errors after which the coordinator must be looked up again (Kafka's markCoordinatorUnknown cases). */
const REDISCOVER_CODES = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.REQUEST_TIMED_OUT,
]);

export function needsCoordinatorRediscovery(code: number): boolean {
  return REDISCOVER_CODES.has(code);
}

/** Errors a coordinator request is retried on (after rediscovery where needed). */
export function isRetriableCoordinatorError(code: number): boolean {
  return REDISCOVER_CODES.has(code) || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || code === ErrorCode.UNSTABLE_OFFSET_COMMIT;
}

export interface CoordinatorAddress {
  nodeId: number;
  host: string;
  port: number;
}

/** One FindCoordinator round trip (v0-v3: one key per request). Throws its error code. */
export async function findCoordinator(cluster: Cluster, key: string, keyType: number = CoordinatorKeyType.GROUP): Promise<CoordinatorAddress> {
  const connection = await cluster.anyConnection();
  const response = await connection.send(apis.FindCoordinator, { key, keyType, coordinatorKeys: [key] });
  const entry = response.coordinators?.find((c) => c.key === key);
  const errorCode = entry ? entry.errorCode : (response.errorCode ?? ErrorCode.NONE);
  if (errorCode !== ErrorCode.NONE) {
    const message = (entry ? entry.errorMessage : response.errorMessage) ?? null;
    throw new KafkaProtocolError(errorCode, `no coordinator for ${key}: ${message ? `${message} ` : ''}(${errorName(errorCode)})`);
  }
  const nodeId = entry ? entry.nodeId : (response.nodeId ?? -1);
  const host = entry ? entry.host : (response.host ?? '');
  const port = entry ? entry.port : (response.port ?? -1);
  if (nodeId < 0 || host === '' || port <= 0) {
    throw new KafkaProtocolError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `no coordinator for ${key} yet (COORDINATOR_NOT_AVAILABLE)`);
  }
  return { nodeId, host, port };
}

export interface CoordinatorClientOptions {
  groupId: string;
  /**
   * A socket of its own (like Kafka's coordinator connection), so that heartbeats and JoinGroup never wait
   * behind long-poll fetches on the shared connection. Admin calls share the cluster's connection instead.
   */
  dedicatedConnection: boolean;
  logger: Logger;
}

/**
 * Talks to the coordinator of one group: finds it, keeps a connection to it, and on NOT_COORDINATOR /
 * COORDINATOR_NOT_AVAILABLE / network errors forgets it so the next request looks it up again.
 */
export class CoordinatorClient {
  readonly groupId: string;
  private readonly dedicated: boolean;
  private readonly logger: Logger;
  private coordinator: CoordinatorAddress | null = null;
  private connection: Connection | null = null;
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    options: CoordinatorClientOptions,
  ) {
    this.groupId = options.groupId;
    this.dedicated = options.dedicatedConnection;
    this.logger = options.logger;
  }

  get known(): CoordinatorAddress | null {
    return this.coordinator;
  }

  /** Forgets the coordinator (Kafka markCoordinatorUnknown); the next request rediscovers it. */
  markUnknown(reason: string): void {
    if (this.coordinator) this.logger.info({ groupId: this.groupId, coordinator: this.coordinator.nodeId, reason }, 'group coordinator unknown, rediscovering');
    this.coordinator = null;
    const c = this.connection;
    this.connection = null;
    if (c && this.dedicated) void c.close();
  }

  /** A connected connection to the coordinator, looking it up first when unknown. */
  async connect(): Promise<Connection> {
    if (this.closed) throw new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, 'the client is closed');
    if (this.connection && !this.connection.isClosed && this.coordinator) return this.connection;
    const coordinator = this.coordinator ?? (await findCoordinator(this.cluster, this.groupId));
    this.coordinator = coordinator;
    let connection: Connection;
    if (this.dedicated) {
      connection = new Connection({
        host: coordinator.host,
        port: coordinator.port,
        clientId: this.cluster.clientId,
        requestTimeoutMs: this.cluster.requestTimeoutMs,
        logger: this.logger,
        metrics: this.cluster.metrics,
      });
    } else {
      if (!this.cluster.broker(coordinator.nodeId)) await this.cluster.refreshMetadata();
      connection = this.cluster.broker(coordinator.nodeId)
        ? await this.cluster.connectionTo(coordinator.nodeId)
        : new Connection({ host: coordinator.host, port: coordinator.port, clientId: this.cluster.clientId, logger: this.logger });
    }
    try {
      await connection.connect();
    } catch (err) {
      this.markUnknown((err as Error).message);
      throw err;
    }
    if (this.closed) {
      if (this.dedicated) await connection.close();
      throw new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, 'the client is closed');
    }
    this.connection = connection;
    return connection;
  }

  /**
   * Sends one request to the coordinator. A network failure or a coordinator error code that `check` raises
   * forgets the coordinator before the error propagates; callers decide about retrying.
   */
  async send<Req, Res>(codec: ApiCodec<Req, Res>, body: Req, options: { timeoutMs?: number; version?: number } = {}): Promise<Res> {
    const connection = await this.connect();
    try {
      return await connection.send(codec, body, options);
    } catch (err) {
      if (needsCoordinatorRediscovery(errorCodeOf(err))) this.markUnknown((err as Error).message);
      throw err;
    }
  }

  /** Version the coordinator will be spoken to in (after connect()). */
  async versionFor(codec: ApiCodec<unknown, unknown>): Promise<number> {
    return (await this.connect()).versionFor(codec);
  }

  /**
   * Runs `fn` until it succeeds or fails with a non-retriable error, rediscovering the coordinator on the way;
   * `fn` throws KafkaProtocolError for error codes in responses. At most `retries` retries.
   */
  async retry<T>(fn: () => Promise<T>, retries: number = this.cluster.retryOptions.retries): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const code = errorCodeOf(err);
        if (this.closed || attempt >= retries || !isRetriableCoordinatorError(code)) throw err;
        if (needsCoordinatorRediscovery(code)) this.markUnknown((err as Error).message);
        this.logger.debug({ groupId: this.groupId, err: (err as Error).message }, 'coordinator request failed, retrying');
        await sleep(backoffMs(this.cluster.retryOptions, attempt));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.connection;
    this.connection = null;
    if (c && this.dedicated) await c.close();
  }
}
