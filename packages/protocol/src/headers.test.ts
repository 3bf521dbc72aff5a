import { DecodeError, FluxoError } from '@fluxo/common';
import { describe, expect, it } from 'vitest';
import type { ApiCodec } from './api-codec.js';
import { ApiKey } from './api-keys.js';
import { apiByKey, apis } from './apis.js';
import { decodeRequestFrame, encodeRequestFrame, encodeResponseFrame, readResponseCorrelationId } from './frames.js';
import { decodeRequestHeader, decodeResponseHeader, requestHeaderVersion, responseHeaderVersion } from './headers.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';

describe('headers and frames', () => {
  it('ApiKey and the registry agree', () => {
    for (const [name, key] of Object.entries(ApiKey)) {
      expect(apiByKey(key)?.name).toBe(name);
      expect(apis[name as keyof typeof apis].apiKey).toBe(key);
    }
    expect(ApiKey.Produce).toBe(0);
    expect(ApiKey.ApiVersions).toBe(18);
    expect(apiByKey(1000)).toBeUndefined();
    expect(apiByKey(-1)).toBeUndefined();
  });

  it('every API and version: request header round-trips, version 1 or 2 by flexibility', () => {
    for (const codec of Object.values(apis) as ApiCodec[]) {
      for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
        const flexible = codec.flexibleMinVersion !== null && v >= codec.flexibleMinVersion;
        expect(requestHeaderVersion(codec.apiKey, v)).toBe(flexible ? 2 : 1);
        expect(responseHeaderVersion(codec.apiKey, v)).toBe(flexible && codec.apiKey !== ApiKey.ApiVersions ? 1 : 0);
        const w = new Writer();
        const header = { apiKey: codec.apiKey, apiVersion: v, correlationId: 0x7fffffff, clientId: v % 2 ? null : 'client-ü' };
        // Header followed by a marker byte: the decoder must stop exactly after the header.
        w.writeInt16(header.apiKey).writeInt16(v).writeInt32(header.correlationId).writeNullableString(header.clientId);
        if (flexible) w.writeUVarInt(1).writeUVarInt(3).writeUVarInt(2).writeInt16(9); // an unknown tagged field
        w.writeUInt8(0xab);
        const r = new Reader(w.toBuffer());
        expect(decodeRequestHeader(r)).toEqual(header);
        expect(r.readUInt8()).toBe(0xab);
      }
    }
  });

  it('response header v1 carries tagged fields; correlation id always first', () => {
    const frame = encodeResponseFrame(ApiKey.Metadata, 12, 55, { brokers: [], topics: [] });
    expect(readResponseCorrelationId(frame.subarray(4))).toBe(55);
    const r = new Reader(frame, 4);
    expect(decodeResponseHeader(ApiKey.Metadata, 12, r)).toBe(55);
    expect(frame[8]).toBe(0); // empty tagged fields of header v1
  });

  it('unknown APIs and unsupported versions', () => {
    const w = new Writer();
    w.writeInt16(250).writeInt16(0).writeInt32(1).writeNullableString('x').writeInt32(0);
    const r = new Reader(w.toBuffer());
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 250, apiVersion: 0, correlationId: 1, clientId: 'x' });
    expect(() => decodeRequestFrame(w.toBuffer())).toThrow(DecodeError);
    const tooNew = new Writer().writeInt16(0).writeInt16(99).writeInt32(1).writeNullableString(null).toBuffer();
    expect(() => decodeRequestFrame(tooNew)).toThrow(DecodeError);
    expect(() => encodeRequestFrame({ apiKey: 250, apiVersion: 0, correlationId: 1, clientId: null }, {})).toThrow(FluxoError);
    expect(() => encodeResponseFrame(ApiKey.Produce, 99, 1, {})).toThrow(FluxoError);
  });
});
