// Fuzz: random and mutated frames fed to the request decoder (header + body via apiByKey), the response
// decoders and the record batch decoder. The only acceptable failure is DecodeError: never RangeError /
// TypeError, never a hang, never an allocation sized by a hostile length (lengths are checked against the
// bytes left before allocating). Seeded PRNG: a failure message names the seed and case to replay.
import { DecodeError } from '@fluxo/common';
import { describe, expect, it } from 'vitest';
import type { ApiCodec } from './api-codec.js';
import { apiByKey, apis } from './apis.js';
import { Compression } from './compression/index.js';
import { decodeRequestFrame, encodeRequestFrame } from './frames.js';
import { decodeRequestHeader } from './headers.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';
import { decodeRecordBatch, encodeRecordBatch, scanBatches } from './record-batch/index.js';
import { loadSchema, prng, sampleMessage } from './testing/schema-samples.js';

const SEED = Number(process.env['FLUXO_FUZZ_SEED'] ?? 20261125);
const MUTATIONS_PER_FRAME = Number(process.env['FLUXO_FUZZ_MUTATIONS'] ?? 40);

type Rand = () => number;

/** One random structural mutation of `frame` (a copy). */
function mutate(frame: Buffer, rand: Rand): Buffer {
  const int = (n: number): number => Math.floor(rand() * n);
  const b = Buffer.from(frame);
  switch (int(8)) {
    case 0: // flip bits
      for (let i = 0, n = 1 + int(4); i < n && b.length > 0; i++) b[int(b.length)]! ^= 1 << int(8);
      return b;
    case 1: // random bytes
      for (let i = 0, n = 1 + int(8); i < n && b.length > 0; i++) b[int(b.length)] = int(256);
      return b;
    case 2: // truncate
      return b.subarray(0, int(b.length + 1));
    case 3: { // hostile int32 length somewhere
      if (b.length < 4) return b;
      const pos = int(b.length - 3);
      b.writeInt32BE([0x7fffffff, -2, -1, 0x10000000, int(1 << 20)][int(5)]!, pos);
      return b;
    }
    case 4: { // hostile int16 / varint bytes
      if (b.length < 2) return b;
      const pos = int(b.length - 1);
      if (rand() < 0.5) b.writeInt16BE([0x7fff, -2, -1][int(3)]!, pos);
      else b[pos] = 0xff, b[pos + 1] = 0xff;
      return b;
    }
    case 5: // insert junk
      return Buffer.concat([b.subarray(0, int(b.length + 1)), Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256))), b.subarray(int(b.length + 1))]);
    case 6: { // duplicate a slice
      const s = int(b.length + 1);
      const e = Math.min(b.length, s + int(32));
      return Buffer.concat([b.subarray(0, e), b.subarray(s, e), b.subarray(e)]);
    }
    default: // remove a slice
      {
        const s = int(b.length + 1);
        return Buffer.concat([b.subarray(0, s), b.subarray(Math.min(b.length, s + 1 + int(8)))]);
      }
  }
}

function expectOnlyDecodeError(fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof DecodeError)) {
      throw new Error(`${what}: threw ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
    }
  }
}

const codecs = Object.values(apis) as ApiCodec[];

describe(`fuzz (seed ${SEED}; replay with FLUXO_FUZZ_SEED)`, () => {
  it('mutated valid request frames only ever throw DecodeError', () => {
    const rand = prng(SEED);
    let cases = 0;
    for (const codec of codecs) {
      const schema = loadSchema(`${codec.name}Request`);
      for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
        const sample = sampleMessage(schema, v, SEED + v);
        const frame = encodeRequestFrame({ apiKey: codec.apiKey, apiVersion: v, correlationId: 1, clientId: 'fuzz' }, sample).subarray(4);
        // The unmutated frame decodes.
        decodeRequestFrame(frame);
        for (let m = 0; m < MUTATIONS_PER_FRAME; m++) {
          let mutated = mutate(frame, rand);
          if (rand() < 0.3) mutated = mutate(mutated, rand);
          expectOnlyDecodeError(() => decodeRequestFrame(mutated), `${codec.name} v${v} mutation ${m}`);
          cases++;
        }
      }
    }
    expect(cases).toBeGreaterThan(5000);
  });

  it('random frames with a plausible header only ever throw DecodeError', () => {
    const rand = prng(SEED ^ 0x5a5a5a5a);
    const keys = codecs.map((c) => c.apiKey);
    for (let i = 0; i < 20_000; i++) {
      const w = new Writer();
      const key = rand() < 0.9 ? keys[Math.floor(rand() * keys.length)]! : Math.floor(rand() * 100);
      w.writeInt16(key).writeInt16(Math.floor(rand() * 20)).writeInt32(i);
      if (rand() < 0.8) w.writeNullableString(rand() < 0.5 ? null : 'c');
      const len = Math.floor(rand() * 64);
      for (let j = 0; j < len; j++) w.writeUInt8(rand() < 0.2 ? 0xff : Math.floor(rand() * 256));
      const frame = w.toBuffer();
      expectOnlyDecodeError(() => {
        const r = new Reader(frame);
        const header = decodeRequestHeader(r);
        const codec = apiByKey(header.apiKey);
        if (codec !== undefined && header.apiVersion >= codec.minVersion && header.apiVersion <= codec.maxVersion) {
          codec.decodeRequest(header.apiVersion, r);
        }
      }, `random frame ${i}`);
    }
  });

  it('mutated responses only ever throw DecodeError (client side)', () => {
    const rand = prng(SEED + 7);
    for (const codec of codecs) {
      const schema = loadSchema(`${codec.name}Response`);
      for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
        const w = new Writer();
        codec.encodeResponse(v, sampleMessage(schema, v, SEED - v), w);
        const body = w.toBuffer();
        for (let m = 0; m < 15; m++) {
          const mutated = mutate(body, rand);
          expectOnlyDecodeError(() => codec.decodeResponse(v, new Reader(mutated)), `${codec.name} response v${v} mutation ${m}`);
        }
      }
    }
  });

  it('mutated record batches only ever throw DecodeError', () => {
    const rand = prng(SEED + 11);
    for (const compression of [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
      const batch = encodeRecordBatch({
        compression,
        records: Array.from({ length: 5 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`value ${i}`), headers: [{ key: 'h', value: null }] })),
      });
      for (let m = 0; m < 1000; m++) {
        const mutated = mutate(batch, rand);
        expectOnlyDecodeError(() => decodeRecordBatch(mutated), `codec ${compression} mutation ${m}`);
        expectOnlyDecodeError(() => scanBatches(mutated), `scan codec ${compression} mutation ${m}`);
      }
    }
  });
});
