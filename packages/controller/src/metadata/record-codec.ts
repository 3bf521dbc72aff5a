import { DecodeError, type MetadataRecord } from '@fluxo/common';

/** Log entry payload: version byte + JSON array of records (metadata is small; JSON keeps it inspectable). */
const VERSION = 1;

export function encodeRecords(records: readonly MetadataRecord[]): Uint8Array {
  const json = Buffer.from(JSON.stringify(records), 'utf8');
  const out = Buffer.allocUnsafe(1 + json.length);
  out[0] = VERSION;
  json.copy(out, 1);
  return out;
}

export function decodeRecords(data: Uint8Array): MetadataRecord[] {
  if (data.byteLength < 1 || data[0] !== VERSION) throw new DecodeError(`metadata entry has unknown version ${data[0]}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset + 1, data.byteLength - 1).toString('utf8'));
  } catch (err) {
    throw new DecodeError(`metadata entry is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.some((r) => typeof r !== 'object' || r === null || typeof (r as { type?: unknown }).type !== 'string')) {
    throw new DecodeError('metadata entry is not an array of records');
  }
  return parsed as MetadataRecord[];
}
