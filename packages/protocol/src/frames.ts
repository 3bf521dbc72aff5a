import { DecodeError, FluxoError } from '@fluxo/common';
import type { ApiCodec } from './api-codec.js';
import { apiByKey } from './apis.js';
import { decodeRequestHeader, decodeResponseHeader, encodeRequestHeader, encodeResponseHeader, type RequestHeader } from './headers.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';

/** Size of the int32 length prefix in front of every request and response on the wire. */
export const FRAME_SIZE_PREFIX_BYTES = 4;

function codecFor(apiKey: number, apiVersion: number): ApiCodec {
  const codec = apiByKey(apiKey);
  if (codec === undefined) throw new FluxoError(`unknown api key ${apiKey}`, 35 /* UNSUPPORTED_VERSION */);
  if (apiVersion < codec.minVersion || apiVersion > codec.maxVersion) {
    throw new FluxoError(`${codec.name} v${apiVersion} unsupported (${codec.minVersion}-${codec.maxVersion})`, 35);
  }
  return codec;
}

function requestFrameWriter(header: RequestHeader, body: unknown): Writer {
  const codec = codecFor(header.apiKey, header.apiVersion);
  const w = new Writer(256);
  w.writeInt32(0); // size, patched below
  encodeRequestHeader(header, w);
  codec.encodeRequest(header.apiVersion, body, w);
  w.patchInt32(0, w.length - FRAME_SIZE_PREFIX_BYTES);
  return w;
}

/** A complete request on the wire: int32 size + header + body (codec chosen by header.apiKey). */
export function encodeRequestFrame(header: RequestHeader, body: unknown): Buffer {
  return requestFrameWriter(header, body).toBuffer();
}

/** Like encodeRequestFrame, as buffers for writev: large `records`/`bytes` values are not copied. */
export function encodeRequestFrameBuffers(header: RequestHeader, body: unknown): Buffer[] {
  return requestFrameWriter(header, body).toBuffers();
}

function responseFrameWriter(apiKey: number, apiVersion: number, correlationId: number, body: unknown): Writer {
  const codec = codecFor(apiKey, apiVersion);
  const w = new Writer(256);
  w.writeInt32(0); // size, patched below
  encodeResponseHeader(apiKey, apiVersion, correlationId, w);
  codec.encodeResponse(apiVersion, body, w);
  w.patchInt32(0, w.length - FRAME_SIZE_PREFIX_BYTES);
  return w;
}

/** A complete response on the wire: int32 size + header (v0/v1 per API version) + body. */
export function encodeResponseFrame(apiKey: number, apiVersion: number, correlationId: number, body: unknown): Buffer {
  return responseFrameWriter(apiKey, apiVersion, correlationId, body).toBuffer();
}

/**
 * Like encodeResponseFrame, as a list of buffers for socket writev / cork+write: record batches (Fetch) are
 * referenced, never copied. Keep the referenced buffers unchanged until the write completes.
 */
export function encodeResponseFrameBuffers(apiKey: number, apiVersion: number, correlationId: number, body: unknown): Buffer[] {
  return responseFrameWriter(apiKey, apiVersion, correlationId, body).toBuffers();
}

/** Correlation id of a response frame (without size prefix): always its first 4 bytes, any header version. */
export function readResponseCorrelationId(frame: Buffer): number {
  if (frame.length < 4) throw new DecodeError(`response frame of ${frame.length} bytes has no correlation id`);
  return frame.readInt32BE(0);
}

/** Decodes a response frame (without size prefix): header of the implied version, then the body. */
export function decodeResponseFrameBody<Res = unknown>(apiKey: number, apiVersion: number, frame: Buffer): Res {
  const codec = apiByKey(apiKey);
  if (codec === undefined) throw new DecodeError(`unknown api key ${apiKey}`);
  const r = new Reader(frame);
  decodeResponseHeader(apiKey, apiVersion, r);
  return codec.decodeResponse(apiVersion, r) as Res;
}

export interface DecodedRequest {
  header: RequestHeader;
  body: unknown;
}

/**
 * Decodes a request frame (without size prefix): header, then body with the codec of header.apiKey. Unknown
 * APIs and unsupported versions throw DecodeError; a broker that wants to answer UNSUPPORTED_VERSION reads
 * the header alone first (decodeRequestHeader) and checks the version range itself.
 */
export function decodeRequestFrame(frame: Buffer): DecodedRequest {
  const r = new Reader(frame);
  const header = decodeRequestHeader(r);
  const codec = apiByKey(header.apiKey);
  if (codec === undefined) throw new DecodeError(`unknown api key ${header.apiKey}`);
  if (header.apiVersion < codec.minVersion || header.apiVersion > codec.maxVersion) {
    throw new DecodeError(`${codec.name} v${header.apiVersion} unsupported (${codec.minVersion}-${codec.maxVersion})`);
  }
  return { header, body: codec.decodeRequest(header.apiVersion, r) };
}
