import type { Logger } from '@fluxo/common';
import type { ApiCodec } from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';

/** Returned by a handler that must not answer (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('no response');
/** Returned by a handler that wants the connection closed after earlier responses (Kafka's closeConnection). */
export const CLOSE_CONNECTION: unique symbol = Symbol('close connection');
export type HandlerOutcome<Res> = Res | typeof NO_RESPONSE | typeof CLOSE_CONNECTION;

export interface RequestContext {
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly connectionId: string;
  /** Bound to connection id and api. */
  readonly logger: Logger;
  /** Aborted when the connection closes or the node stops: long polls end early. */
  readonly signal: AbortSignal;
}

/**
 * One Kafka API as this node implements it. `minVersion..maxVersion` is what ApiVersions advertises; it must
 * lie inside what the codec can decode/encode (checked when the registry is built).
 */
export interface ApiHandler<Req = unknown, Res = unknown> {
  readonly codec: ApiCodec<Req, Res>;
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Admin mutations run exclusively on their connection: after every earlier request finished and before
   * any later one starts, so `CreateTopics` then `Metadata` on one connection sees the topic. Everything
   * else runs concurrently (responses are still written in request order).
   */
  readonly exclusive: boolean;
  handle(broker: BrokerContext, ctx: RequestContext, request: Req): Promise<HandlerOutcome<Res>> | HandlerOutcome<Res>;
  /** The response carrying `errorCode` everywhere it fits (UNSUPPORTED_VERSION, unexpected failures). */
  errorResponse(request: Req, errorCode: number, version: number): Res;
}

/** Keeps a handler's request/response types while storing it next to others in the registry. */
export function defineHandler<Req, Res>(handler: ApiHandler<Req, Res>): ApiHandler<Req, Res> {
  return handler;
}
