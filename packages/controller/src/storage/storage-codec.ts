import { crc32 } from 'node:zlib';
import { CorruptDataError } from '@fluxo/common';
import type { ConfState, Entry, EntryType, HardState, Snapshot } from '@fluxo/raft';

/**
 * On-disk encoding of the Raft log in LevelDB. Every value starts with a CRC-32 of the rest, so a torn or
 * flipped value is detected on start instead of being fed to raft. Keys: 'e' + big-endian uint64 index
 * (sorts numerically), 'h' hard state, 's' snapshot, 'c' compaction point (index and term of the entry
 * before firstIndex).
 */
export const ENTRY_PREFIX = 0x65; // 'e'
export const HARD_STATE_KEY = Buffer.from('h');
export const SNAPSHOT_KEY = Buffer.from('s');
export const COMPACTION_KEY = Buffer.from('c');

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange'];

export function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = ENTRY_PREFIX;
  key.writeBigUInt64BE(BigInt(index), 1);
  return key;
}

export function indexOfEntryKey(key: Uint8Array): number {
  const buf = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  if (buf.length !== 9 || buf[0] !== ENTRY_PREFIX) throw new CorruptDataError(`raft log key ${buf.toString('hex')} is not an entry key`);
  return Number(buf.readBigUInt64BE(1));
}

function seal(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(crc32(body), 0);
  body.copy(out, 4);
  return out;
}

function open(value: Uint8Array, what: string, minBodyBytes: number): Buffer {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.length < 4 + minBodyBytes) throw new CorruptDataError(`${what}: value of ${buf.length} bytes is too short`);
  const body = buf.subarray(4);
  if (buf.readUInt32BE(0) !== crc32(body)) throw new CorruptDataError(`${what}: checksum mismatch`);
  return body;
}

export function encodeEntry(e: Entry): Buffer {
  const body = Buffer.allocUnsafe(17 + e.data.byteLength);
  body.writeBigUInt64BE(BigInt(e.index), 0);
  body.writeBigUInt64BE(BigInt(e.term), 8);
  body[16] = ENTRY_TYPES.indexOf(e.type);
  body.set(e.data, 17);
  return seal(body);
}

export function decodeEntry(value: Uint8Array, expectedIndex: number): Entry {
  const what = `raft log entry ${expectedIndex}`;
  const body = open(value, what, 17);
  const index = Number(body.readBigUInt64BE(0));
  const term = Number(body.readBigUInt64BE(8));
  const type = ENTRY_TYPES[body[16] as number];
  if (index !== expectedIndex) throw new CorruptDataError(`${what}: stored under the key of ${expectedIndex} but holds ${index}`);
  if (type === undefined) throw new CorruptDataError(`${what}: unknown entry type ${body[16]}`);
  return { index, term, type, data: new Uint8Array(body.subarray(17)) };
}

export function encodeHardState(hs: HardState): Buffer {
  const body = Buffer.allocUnsafe(20);
  body.writeBigUInt64BE(BigInt(hs.term), 0);
  body.writeInt32BE(hs.vote ?? -1, 8);
  body.writeBigUInt64BE(BigInt(hs.commit), 12);
  return seal(body);
}

export function decodeHardState(value: Uint8Array): HardState {
  const body = open(value, 'raft hard state', 20);
  const vote = body.readInt32BE(8);
  return { term: Number(body.readBigUInt64BE(0)), vote: vote < 0 ? null : vote, commit: Number(body.readBigUInt64BE(12)) };
}

export function encodeCompactionPoint(index: number, term: number): Buffer {
  const body = Buffer.allocUnsafe(16);
  body.writeBigUInt64BE(BigInt(index), 0);
  body.writeBigUInt64BE(BigInt(term), 8);
  return seal(body);
}

export function decodeCompactionPoint(value: Uint8Array): { index: number; term: number } {
  const body = open(value, 'raft compaction point', 16);
  return { index: Number(body.readBigUInt64BE(0)), term: Number(body.readBigUInt64BE(8)) };
}

export function encodeSnapshot(s: Snapshot): Buffer {
  const voters = s.confState.voters;
  const body = Buffer.allocUnsafe(20 + 4 * voters.length + s.data.byteLength);
  body.writeBigUInt64BE(BigInt(s.index), 0);
  body.writeBigUInt64BE(BigInt(s.term), 8);
  body.writeUInt32BE(voters.length, 16);
  voters.forEach((v, i) => body.writeUInt32BE(v, 20 + 4 * i));
  body.set(s.data, 20 + 4 * voters.length);
  return seal(body);
}

export function decodeSnapshot(value: Uint8Array): Snapshot {
  const body = open(value, 'raft snapshot', 20);
  const count = body.readUInt32BE(16);
  if (20 + 4 * count > body.length) throw new CorruptDataError(`raft snapshot: ${count} voters do not fit in ${body.length} bytes`);
  const voters: number[] = [];
  for (let i = 0; i < count; i++) voters.push(body.readUInt32BE(20 + 4 * i));
  const confState: ConfState = { voters };
  return {
    index: Number(body.readBigUInt64BE(0)),
    term: Number(body.readBigUInt64BE(8)),
    confState,
    data: new Uint8Array(body.subarray(20 + 4 * count)),
  };
}
