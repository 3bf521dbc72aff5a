import { DecodeError } from '@fluxo/common';
import { ApiKey } from './api-keys.js';
import { apiByKey } from './apis.js';
import type { Reader } from './primitives/reader.js';
import type { Writer } from './primitives/writer.js';

/** Kafka request header (RequestHeader.json) as Fluxo uses it. */
export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/**
 * Request header version for an API version: 2 (flexible: tagged fields after the client id) from the API's
 * first flexible version on, else 1. Like Kafka's generated ApiMessageType.requestHeaderVersion, versions
 * above the supported maximum still count as flexible (a newer client's ApiVersions v5 carries header v2);
 * an unknown API is read as v1 so the broker can still answer or close.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  const codec = apiByKey(apiKey);
  if (codec === undefined || codec.flexibleMinVersion === null) return 1;
  return apiVersion >= codec.flexibleMinVersion ? 2 : 1;
}

/**
 * Response header version: 1 (flexible: trailing tagged fields) from the API's first flexible version, else 0.
 * ApiVersions responses always use header v0 so that a client can parse the answer whatever version it sent.
 */
export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  const codec = apiByKey(apiKey);
  if (codec === undefined || codec.flexibleMinVersion === null) return 0;
  return apiVersion >= codec.flexibleMinVersion ? 1 : 0;
}

/** Reads a request header; the header version is chosen from its own apiKey/apiVersion. */
export function decodeRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.readInt16();
  const apiVersion = r.readInt16();
  const correlationId = r.readInt32();
  // The client id keeps the classic int16 length even in header v2 (flexibleVersions "none").
  const clientId = r.readNullableString();
  if (requestHeaderVersion(apiKey, apiVersion) === 2) r.readTaggedFields();
  return { apiKey, apiVersion, correlationId, clientId };
}

export function encodeRequestHeader(header: RequestHeader, w: Writer): void {
  w.writeInt16(header.apiKey);
  w.writeInt16(header.apiVersion);
  w.writeInt32(header.correlationId);
  w.writeNullableString(header.clientId);
  if (requestHeaderVersion(header.apiKey, header.apiVersion) === 2) w.writeEmptyTaggedFields();
}

/** Reads a response header of the version the (apiKey, apiVersion) pair implies; returns the correlation id. */
export function decodeResponseHeader(apiKey: number, apiVersion: number, r: Reader): number {
  const correlationId = r.readInt32();
  if (responseHeaderVersion(apiKey, apiVersion) === 1) r.readTaggedFields();
  return correlationId;
}

export function encodeResponseHeader(apiKey: number, apiVersion: number, correlationId: number, w: Writer): void {
  w.writeInt32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) === 1) w.writeEmptyTaggedFields();
}

/**
 * Version in which to answer an ApiVersions request: the requested one when supported, else 0. Kafka answers
 * an unsupported ApiVersions version with a v0 body (header v0) carrying UNSUPPORTED_VERSION and the supported
 * ranges, so the client can retry with a version both sides know; the request body is not parsed then.
 */
export function apiVersionsResponseVersion(requestedVersion: number): number {
  const codec = apiByKey(ApiKey.ApiVersions);
  if (codec === undefined) throw new DecodeError('ApiVersions codec missing');
  return requestedVersion >= codec.minVersion && requestedVersion <= codec.maxVersion ? requestedVersion : 0;
}
