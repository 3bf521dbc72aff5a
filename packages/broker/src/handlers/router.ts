import { DecodeError, ErrorCode, errorName, type Logger } from '@fluxo/common';
import { ApiKey, Reader, decodeRequestHeader, encodeResponseFrameBuffers, type RequestHeader } from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';
import type { PrepareOutcome, RequestResult, RequestRouter } from '../network/connection.js';
import { CLOSE_CONNECTION, NO_RESPONSE, type ApiHandler, type RequestContext } from './api-handler.js';
import { apiVersionsErrorResponse } from './api-versions.js';
import { versionLabel } from '../metrics.js';

/**
 * Turns request frames into runnable requests: header, version check, body decode (all synchronous, so a
 * malformed frame closes the connection before anything runs), then handler + response encoding + metrics.
 */
export class BrokerRouter implements RequestRouter {
  private readonly apiLoggers = new WeakMap<Logger, Map<number, Logger>>();

  constructor(private readonly broker: BrokerContext) {}

  prepare(frame: Buffer, connection: { readonly id: string; readonly logger: Logger }): PrepareOutcome {
    const r = new Reader(frame);
    let header: RequestHeader;
    try {
      header = decodeRequestHeader(r);
    } catch (err) {
      connection.logger.warn({ err: errMessage(err), sizeBytes: frame.length }, 'malformed request header; closing connection');
      return { kind: 'close', reason: 'malformed request header' };
    }
    const { apiKey, apiVersion, correlationId } = header;
    const handler = this.broker.handlers.handler(apiKey);
    const logger = this.apiLogger(connection.logger, apiKey, handler);
    if (handler === undefined) {
      logger.warn({ apiKey, apiVersion, correlationId, clientId: header.clientId }, 'unknown or unsupported api key; closing connection');
      return { kind: 'close', reason: `unknown api key ${apiKey}` };
    }
    const name = handler.codec.name;
    // The client picks the version: outside what the codec decodes, it is labelled "unsupported" (bounded series).
    const version = versionLabel(apiVersion, handler.codec.minVersion, handler.codec.maxVersion);
    this.broker.metrics.requests.inc({ api: name, version });
    const supported = this.broker.handlers.supports(apiKey, apiVersion);

    if (!supported && apiKey === ApiKey.ApiVersions) {
      // Kafka: answer an unknown ApiVersions version in v0 with UNSUPPORTED_VERSION and the supported list.
      const body = apiVersionsErrorResponse(this.broker.handlers, ErrorCode.UNSUPPORTED_VERSION);
      this.broker.metrics.requestErrors.inc({ api: name, error: errorName(ErrorCode.UNSUPPORTED_VERSION) });
      const buffers = encodeResponseFrameBuffers(apiKey, 0, correlationId, body);
      return { kind: 'request', request: { exclusive: false, run: () => Promise.resolve({ kind: 'response', buffers }) } };
    }
    if (apiVersion < handler.codec.minVersion || apiVersion > handler.codec.maxVersion) {
      // Cannot even parse the body: Kafka closes the connection.
      logger.warn({ apiVersion, correlationId, clientId: header.clientId }, `${name} v${apiVersion} cannot be decoded; closing connection`);
      return { kind: 'close', reason: `unsupported version ${name} v${apiVersion}` };
    }
    let request: unknown;
    try {
      request = handler.codec.decodeRequest(apiVersion, r);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      logger.warn({ err: err.message, apiVersion, correlationId, clientId: header.clientId }, `malformed ${name} request; closing connection`);
      return { kind: 'close', reason: `malformed ${name} request` };
    }
    return {
      kind: 'request',
      request: {
        exclusive: handler.exclusive,
        run: (signal) => this.run(handler, header, version, request, supported, logger, connection.id, signal),
      },
    };
  }

  private async run(
    handler: ApiHandler,
    header: RequestHeader,
    version: string,
    request: unknown,
    supported: boolean,
    logger: Logger,
    connectionId: string,
    signal: AbortSignal,
  ): Promise<RequestResult> {
    const { apiKey, apiVersion, correlationId } = header;
    const name = handler.codec.name;
    const started = process.hrtime.bigint();
    let body: unknown;
    if (!supported) {
      body = handler.errorResponse(request, ErrorCode.UNSUPPORTED_VERSION, apiVersion);
    } else {
      const ctx = requestContext(header, connectionId, logger, signal);
      try {
        const outcome = await handler.handle(this.broker, ctx, request);
        if (outcome === NO_RESPONSE) {
          this.observe(name, version, started);
          return { kind: 'none' };
        }
        if (outcome === CLOSE_CONNECTION) {
          this.observe(name, version, started);
          return { kind: 'close', reason: `${name} handler closed the connection` };
        }
        body = outcome;
      } catch (err) {
        ctx.logger.error({ err }, `${name} handler failed; answering UNKNOWN_SERVER_ERROR`);
        body = handler.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, apiVersion);
      }
    }
    this.countErrors(name, body);
    const buffers = encodeResponseFrameBuffers(apiKey, apiVersion, correlationId, body);
    this.observe(name, version, started);
    return { kind: 'response', buffers };
  }

  private observe(api: string, version: string, started: bigint): void {
    this.broker.metrics.requestDuration.observe({ api, version }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** Counts every non-zero `errorCode` in the response (per partition/topic/resource; never per record). */
  private countErrors(api: string, body: unknown): void {
    const visit = (value: unknown, depth: number): void => {
      if (depth > 6 || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
      if (Array.isArray(value)) {
        for (const v of value) visit(v, depth + 1);
        return;
      }
      for (const [k, v] of Object.entries(value)) {
        if (k === 'errorCode' && typeof v === 'number' && v !== 0) this.broker.metrics.requestErrors.inc({ api, error: errorName(v) });
        else if (typeof v === 'object') visit(v, depth + 1);
      }
    };
    visit(body, 0);
  }

  private apiLogger(connectionLogger: Logger, apiKey: number, handler: ApiHandler | undefined): Logger {
    let perApi = this.apiLoggers.get(connectionLogger);
    if (!perApi) {
      perApi = new Map();
      this.apiLoggers.set(connectionLogger, perApi);
    }
    let logger = perApi.get(apiKey);
    if (!logger) {
      logger = connectionLogger.child({ api: handler?.codec.name ?? `api-${apiKey}` });
      perApi.set(apiKey, logger);
    }
    return logger;
  }
}

/**
 * The handler's view of one request. Its logger carries the request context (api, version, correlation id,
 * client id) and is built on first use: handlers log only on warn/error paths, so a request that logs nothing
 * pays nothing.
 */
export function requestContext(header: RequestHeader, connectionId: string, apiLogger: Logger, signal: AbortSignal): RequestContext {
  let logger: Logger | null = null;
  return {
    apiVersion: header.apiVersion,
    correlationId: header.correlationId,
    clientId: header.clientId,
    connectionId,
    signal,
    get logger(): Logger {
      logger ??= apiLogger.child({ apiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId });
      return logger;
    },
  };
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
