import net from 'node:net';
import { assert, ErrorCode, KafkaProtocolError, silentLogger, type Logger } from '@fluxo/common';
import { apis, encodeRequestFrameBuffers, decodeResponseFrameBody, type ApiCodec } from '@fluxo/protocol';
import { FrameReader } from './frame-reader.js';
import type { ClientMetrics } from './metrics.js';
import { CLIENT_API_VERSIONS, pickVersion, unsupportedApi, type VersionRange } from './versions.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  connectTimeoutMs?: number;
  /** How long a request may wait for its response (queueing included) before the connection is dropped. */
  requestTimeoutMs?: number;
  /** Requests written and not yet answered; more wait in a queue (kafkajs maxInFlightRequests). */
  maxInFlightRequests?: number;
  /** Requests queued behind the in-flight ones before send() rejects. */
  maxQueuedRequests?: number;
  maxResponseSizeBytes?: number;
  logger?: Logger;
  metrics?: ClientMetrics | null;
  /** Called once when the socket closes, for whatever reason. */
  onClose?: (connection: Connection) => void;
}

export interface SendOptions {
  /** Defaults to the version negotiated with ApiVersions. */
  version?: number;
  /** Overrides requestTimeoutMs (long-poll fetches add their max wait). */
  timeoutMs?: number;
  /** false for Produce with acks=0: the broker sends no response; resolves once written. */
  expectResponse?: boolean;
}

interface InFlight {
  readonly apiKey: number;
  readonly apiName: string;
  readonly version: number;
  readonly resolve: (body: unknown) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
  readonly startedAt: bigint;
}

interface Queued {
  readonly correlationId: number;
  /** Header and body pieces; record batches are referenced, not copied. */
  readonly frame: Buffer[];
  /** null when no response is expected. */
  readonly inFlight: InFlight | null;
  readonly onWritten: (() => void) | null;
  /** For requests without a response: called if the connection fails before the write. */
  readonly onFailed: ((err: Error) => void) | null;
}

const CLIENT_SOFTWARE_NAME = 'fluxo-client';
const CLIENT_SOFTWARE_VERSION = '0.1.0';
const MAX_CORRELATION_ID = 0x7fffffff;

/**
 * One TCP connection to one broker: framing, correlation ids, pipelined requests bounded by
 * maxInFlightRequests, per-request timeouts, and ApiVersions negotiation on connect.
 */
export class Connection {
  readonly host: string;
  readonly port: number;
  private readonly clientId: string;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxInFlightRequests: number;
  private readonly maxQueuedRequests: number;
  private readonly logger: Logger;
  private readonly onClose: ((connection: Connection) => void) | undefined;
  private readonly frames: FrameReader;
  private readonly metrics: ClientMetrics | null;

  private socket: net.Socket | null = null;
  private nextCorrelationId = 0;
  private readonly inFlight = new Map<number, InFlight>();
  private readonly queue: Queued[] = [];
  private waitingForDrain = false;
  private closedError: KafkaProtocolError | null = null;
  private connecting: Promise<void> | null = null;
  /** apiKey -> version to use, from ApiVersions. */
  private versions = new Map<number, number>();
  /** apiKey -> range the broker advertised. */
  private brokerVersions = new Map<number, VersionRange>();

  constructor(options: ConnectionOptions) {
    this.host = options.host;
    this.port = options.port;
    this.clientId = options.clientId;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.maxInFlightRequests = options.maxInFlightRequests ?? 64;
    this.maxQueuedRequests = options.maxQueuedRequests ?? 10_000;
    this.logger = options.logger ?? silentLogger();
    this.onClose = options.onClose;
    this.metrics = options.metrics ?? null;
    this.frames = new FrameReader(options.maxResponseSizeBytes ?? 512 * 1024 * 1024);
    assert(this.maxInFlightRequests >= 1, 'maxInFlightRequests must be at least 1');
    assert(this.requestTimeoutMs > 0, 'requestTimeoutMs must be positive');
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get isConnected(): boolean {
    return this.socket !== null && this.closedError === null && this.connecting === null;
  }

  get isClosed(): boolean {
    return this.closedError !== null;
  }

  /** Requests written and waiting for their response. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Opens the socket and negotiates API versions. Safe to call more than once. */
  connect(): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.socket && !this.connecting) return Promise.resolve();
    this.connecting ??= this.doConnect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 60_000);
      const timer = setTimeout(() => {
        this.fail(new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `connect to ${this.address} timed out after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        this.metrics?.connections.inc();
        resolve();
      });
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('drain', () => {
        this.waitingForDrain = false;
        this.pump();
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        const error = new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `connection to ${this.address} failed: ${err.message}`, { cause: err });
        this.fail(error);
        reject(error);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        this.fail(new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `connection to ${this.address} closed`));
        // The first recorded cause (e.g. the connect timeout) explains the failure best.
        reject(this.closedError!);
      });
    });
    try {
      await this.negotiateVersions();
    } catch (err) {
      // Without negotiated versions the connection is unusable: close it so the next connect() starts over.
      this.fail(err instanceof KafkaProtocolError ? err : new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `ApiVersions to ${this.address} failed: ${(err as Error).message}`, { cause: err }));
      throw err;
    }
  }

  /** ApiVersions: try the highest version we know; on UNSUPPORTED_VERSION retry with what the broker names, else v0. */
  private async negotiateVersions(): Promise<void> {
    const codec = apis.ApiVersions;
    const ours = CLIENT_API_VERSIONS.get(codec.apiKey)!;
    let version = Math.min(ours.maxVersion, codec.maxVersion);
    for (let attempt = 0; ; attempt++) {
      const response = await this.send(
        codec,
        { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION },
        { version },
      );
      if (response.errorCode === ErrorCode.UNSUPPORTED_VERSION && attempt === 0) {
        const advertised = response.apiKeys.find((k) => k.apiKey === codec.apiKey);
        version = advertised ? Math.min(advertised.maxVersion, version - 1) : 0;
        if (version < 0) version = 0;
        continue;
      }
      if (response.errorCode !== ErrorCode.NONE) {
        throw new KafkaProtocolError(response.errorCode, `ApiVersions to ${this.address} failed`);
      }
      this.brokerVersions = new Map(response.apiKeys.map((k) => [k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion }]));
      this.versions = new Map();
      return;
    }
  }

  /** The version to use for an API: highest common to this client, the codec and the broker. */
  versionFor(codec: ApiCodec<unknown, unknown>): number {
    const cached = this.versions.get(codec.apiKey);
    if (cached !== undefined) return cached;
    const broker = this.brokerVersions.get(codec.apiKey);
    const client = CLIENT_API_VERSIONS.get(codec.apiKey) ?? { minVersion: codec.minVersion, maxVersion: codec.maxVersion };
    const version = broker ? pickVersion(client, codec, broker) : null;
    if (version === null) throw unsupportedApi(codec.name, this.address);
    this.versions.set(codec.apiKey, version);
    return version;
  }

  /** Whether the broker advertised any usable version of the API. */
  supports(codec: ApiCodec<unknown, unknown>): boolean {
    try {
      this.versionFor(codec);
      return true;
    } catch {
      return false;
    }
  }

  send<Req, Res>(codec: ApiCodec<Req, Res>, body: Req, options: SendOptions = {}): Promise<Res> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (!this.socket) return Promise.reject(new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `not connected to ${this.address}`));
    if (this.queue.length >= this.maxQueuedRequests) {
      return Promise.reject(new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `more than ${this.maxQueuedRequests} requests queued for ${this.address}`));
    }
    let version: number;
    try {
      version = options.version ?? this.versionFor(codec);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = this.nextCorrelationId === MAX_CORRELATION_ID ? 0 : this.nextCorrelationId + 1;
    let frame: Buffer[];
    try {
      frame = encodeRequestFrameBuffers({ apiKey: codec.apiKey, apiVersion: version, correlationId, clientId: this.clientId }, body);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    this.metrics?.requests.inc({ api: codec.name });

    return new Promise<Res>((resolve, reject) => {
      if (options.expectResponse === false) {
        this.queue.push({ correlationId, frame, inFlight: null, onWritten: () => resolve(undefined as Res), onFailed: reject });
        this.pump();
        return;
      }
      const entry: InFlight = {
        apiKey: codec.apiKey,
        apiName: codec.name,
        version,
        resolve: resolve as (body: unknown) => void,
        reject,
        timer: null,
        startedAt: process.hrtime.bigint(),
      };
      // Counted from enqueue: the caller's wait is bounded whether the request is queued or written.
      entry.timer = setTimeout(() => {
        entry.timer = null;
        this.fail(
          new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `connection to ${this.address} dropped after a request timeout`),
          { correlationId, error: new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, `${codec.name} to ${this.address} timed out after ${timeoutMs} ms`) },
        );
      }, timeoutMs);
      this.queue.push({ correlationId, frame, inFlight: entry, onWritten: null, onFailed: null });
      this.pump();
    });
  }

  private pump(): void {
    const socket = this.socket;
    if (!socket || this.closedError) return;
    while (this.queue.length > 0 && !this.waitingForDrain) {
      const next = this.queue[0]!;
      if (next.inFlight && this.inFlight.size >= this.maxInFlightRequests) break;
      this.queue.shift();
      if (next.inFlight) this.inFlight.set(next.correlationId, next.inFlight);
      let flushed = true;
      socket.cork();
      for (let i = 0; i < next.frame.length; i++) {
        const last = i === next.frame.length - 1;
        flushed = socket.write(next.frame[i]!, last && next.onWritten ? () => next.onWritten!() : undefined) && flushed;
      }
      socket.uncork();
      if (!flushed) this.waitingForDrain = true;
    }
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.frames.push(chunk);
    } catch (err) {
      this.fail(new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `bad response from ${this.address}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    for (const frame of frames) {
      if (this.closedError) return;
      this.onFrame(frame);
    }
    this.pump();
  }

  private onFrame(frame: Buffer): void {
    if (frame.length < 4) {
      this.fail(new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `response frame of ${frame.length} bytes from ${this.address}`));
      return;
    }
    const correlationId = frame.readInt32BE(0);
    const entry = this.inFlight.get(correlationId);
    if (!entry) {
      this.fail(new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `response with unknown correlation id ${correlationId} from ${this.address}`));
      return;
    }
    this.inFlight.delete(correlationId);
    if (entry.timer) clearTimeout(entry.timer);
    this.metrics?.requestDuration.observe({ api: entry.apiName }, Number(process.hrtime.bigint() - entry.startedAt) / 1e9);
    let body: unknown;
    try {
      body = decodeResponseFrameBody(entry.apiKey, entry.version, frame);
    } catch (err) {
      // A broker that does not support our ApiVersions version answers in v0 (Kafka's rule): decode again as v0.
      if (entry.apiKey === apis.ApiVersions.apiKey && entry.version !== 0) {
        try {
          body = decodeResponseFrameBody(entry.apiKey, 0, frame);
        } catch {
          body = undefined;
        }
      }
      if (body === undefined) {
        this.metrics?.requestErrors.inc({ api: entry.apiName });
        entry.reject(new KafkaProtocolError(ErrorCode.CORRUPT_MESSAGE, `cannot decode ${entry.apiName} v${entry.version} response from ${this.address}: ${(err as Error).message}`, { cause: err }));
        return;
      }
    }
    entry.resolve(body);
  }

  /** Fails every pending request and closes the socket; `one` gets its own error (a request timeout). */
  private fail(error: KafkaProtocolError, one?: { correlationId: number; error: KafkaProtocolError }): void {
    if (this.closedError) return;
    this.closedError = error;
    if (one) this.logger.warn({ broker: this.address, err: one.error.message }, 'request timed out, closing connection');
    else this.logger.debug({ broker: this.address, err: error.message }, 'connection closed');
    const rejectEntry = (correlationId: number, entry: InFlight): void => {
      if (entry.timer) clearTimeout(entry.timer);
      this.metrics?.requestErrors.inc({ api: entry.apiName });
      entry.reject(one && one.correlationId === correlationId ? one.error : error);
    };
    for (const [correlationId, entry] of this.inFlight) rejectEntry(correlationId, entry);
    this.inFlight.clear();
    for (const queued of this.queue.splice(0)) {
      if (queued.inFlight) rejectEntry(queued.correlationId, queued.inFlight);
      else queued.onFailed?.(error);
    }
    this.socket?.destroy();
    this.onClose?.(this);
  }

  /** Closes the socket; pending requests fail with NETWORK_EXCEPTION. */
  close(): Promise<void> {
    const socket = this.socket;
    this.fail(new KafkaProtocolError(ErrorCode.NETWORK_EXCEPTION, `connection to ${this.address} closed by the client`));
    if (!socket || socket.closed) return Promise.resolve();
    return new Promise((resolve) => socket.once('close', () => resolve()));
  }
}
