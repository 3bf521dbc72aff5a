import type { Reader } from './primitives/reader.js';
import type { Writer } from './primitives/writer.js';
import type { Apis } from './apis.js';

/** Encoder/decoder of one Kafka API's request and response bodies, for every version it supports. */
export interface ApiCodec<Req = unknown, Res = unknown> {
  apiKey: number;
  name: string;
  /** Versions this codec can encode/decode (the schema's validVersions, minus a latestVersionUnstable top). */
  minVersion: number;
  maxVersion: number;
  /** First flexible version (compact encodings, tagged fields, request header v2), or null if none. */
  flexibleMinVersion: number | null;
  decodeRequest(version: number, r: Reader): Req;
  encodeRequest(version: number, body: Req, w: Writer): void;
  decodeResponse(version: number, r: Reader): Res;
  encodeResponse(version: number, body: Res, w: Writer): void;
}

/** Request body type of an API by name: `RequestOf<'Produce'>` is `ProduceRequest`. */
export type RequestOf<K extends keyof Apis> = Apis[K] extends ApiCodec<infer Req, unknown> ? Req : never;
/** Response body type of an API by name: `ResponseOf<'Fetch'>` is `FetchResponse`. */
export type ResponseOf<K extends keyof Apis> = Apis[K] extends ApiCodec<unknown, infer Res> ? Res : never;
