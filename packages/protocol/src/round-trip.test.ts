import { describe, expect, it } from 'vitest';
import type { ApiCodec } from './api-codec.js';
import { apis } from './apis.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';
import { loadSchema, sampleMessage, subsetMismatch } from './testing/schema-samples.js';

// Every generated message at every supported version: a sample built from the JSON schema (every field of
// that version, tagged ones included, some nulls) -> encode -> decode -> compare; then re-encode the decoded
// object and require identical bytes.
const SEEDS_PER_VERSION = 8;

describe('generated messages round-trip', () => {
  for (const codec of Object.values(apis) as ApiCodec[]) {
    for (const kind of ['Request', 'Response'] as const) {
      it(`${codec.name}${kind} v${codec.minVersion}-${codec.maxVersion}`, () => {
        const schema = loadSchema(`${codec.name}${kind}`);
        const encode = kind === 'Request' ? codec.encodeRequest : codec.encodeResponse;
        const decode = kind === 'Request' ? codec.decodeRequest : codec.decodeResponse;
        for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
          for (let seed = 1; seed <= SEEDS_PER_VERSION; seed++) {
            const what = `${codec.name}${kind} v${v} seed ${seed}`;
            const sample = sampleMessage(schema, v, seed * 1000 + v);
            const w = new Writer(16);
            encode(v, sample, w);
            const bytes = w.toBuffer();
            const r = new Reader(bytes);
            const decoded = decode(v, r);
            expect(r.remaining, `${what}: trailing bytes`).toBe(0);
            expect(subsetMismatch(sample, decoded), what).toBeNull();
            const w2 = new Writer(16);
            encode(v, decoded, w2);
            expect(w2.toBuffer().equals(bytes), `${what}: re-encode differs`).toBe(true);
          }
        }
      });
    }
  }

  it('data schemas (consumer protocol) round-trip too', async () => {
    const m = await import('./messages/index.js');
    const pairs = [
      ['ConsumerProtocolSubscription', m.encodeConsumerProtocolSubscription, m.decodeConsumerProtocolSubscription],
      ['ConsumerProtocolAssignment', m.encodeConsumerProtocolAssignment, m.decodeConsumerProtocolAssignment],
    ] as const;
    for (const [name, encode, decode] of pairs) {
      for (let v = 0; v <= 3; v++) {
        const sample = sampleMessage(loadSchema(name), v, v + 1);
        const w = new Writer();
        (encode as (v: number, o: unknown, w: Writer) => void)(v, sample, w);
        expect(subsetMismatch(sample, decode(v, new Reader(w.toBuffer()))), `${name} v${v}`).toBeNull();
      }
    }
  });
});
