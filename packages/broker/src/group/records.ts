import { DecodeError } from '@fluxo/common';
import { Reader, Writer } from '@fluxo/protocol';

// Records of __consumer_offsets in Kafka's formats (GroupMetadataManager / OffsetCommitKey & co. schemas), so
// the log is compacted by key like Kafka's and a value of null (tombstone) deletes an offset or a group.

/** Key versions 0 and 1 are offset commits (Kafka writes 1); version 2 is group metadata. */
const OFFSET_COMMIT_KEY_VERSION = 1;
const GROUP_METADATA_KEY_VERSION = 2;
/** Value versions Kafka 3.x writes: offset v3 (v1 when an explicit expire timestamp is set), group v3. */
const OFFSET_VALUE_VERSION = 3;
const OFFSET_VALUE_VERSION_WITH_EXPIRY = 1;
const GROUP_VALUE_VERSION = 3;

export type OffsetsKey =
  | { readonly kind: 'offset'; readonly group: string; readonly topic: string; readonly partition: number }
  | { readonly kind: 'group'; readonly group: string };

export interface OffsetValue {
  readonly offset: number;
  /** -1 when unknown. */
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
  /** Set only by OffsetCommit v2-v4 with an explicit retention time (value v1); else null. */
  readonly expireTimestampMs: number | null;
}

export interface StoredMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly subscription: Buffer;
  readonly assignment: Buffer;
}

export interface GroupValue {
  readonly protocolType: string;
  readonly generationId: number;
  readonly protocolName: string | null;
  readonly leaderId: string | null;
  /** -1 when unknown (values older than v2). */
  readonly currentStateTimestampMs: number;
  readonly members: readonly StoredMember[];
}

export function encodeOffsetKey(group: string, topic: string, partition: number): Buffer {
  return new Writer(64).writeInt16(OFFSET_COMMIT_KEY_VERSION).writeString(group).writeString(topic).writeInt32(partition).toBuffer();
}

export function encodeGroupKey(group: string): Buffer {
  return new Writer(32).writeInt16(GROUP_METADATA_KEY_VERSION).writeString(group).toBuffer();
}

export function decodeKey(key: Buffer): OffsetsKey {
  const r = new Reader(key);
  const version = r.readInt16();
  if (version === 0 || version === 1) {
    const group = r.readString();
    const topic = r.readString();
    const partition = r.readInt32();
    return { kind: 'offset', group, topic, partition };
  }
  if (version === GROUP_METADATA_KEY_VERSION) return { kind: 'group', group: r.readString() };
  throw new DecodeError(`unknown __consumer_offsets key version ${version}`);
}

export function encodeOffsetValue(v: OffsetValue): Buffer {
  const w = new Writer(64);
  if (v.expireTimestampMs !== null) {
    w.writeInt16(OFFSET_VALUE_VERSION_WITH_EXPIRY).writeInt64(v.offset).writeString(v.metadata).writeInt64(v.commitTimestampMs).writeInt64(v.expireTimestampMs);
  } else {
    w.writeInt16(OFFSET_VALUE_VERSION).writeInt64(v.offset).writeInt32(v.leaderEpoch).writeString(v.metadata).writeInt64(v.commitTimestampMs);
  }
  return w.toBuffer();
}

export function decodeOffsetValue(value: Buffer): OffsetValue {
  const r = new Reader(value);
  const version = r.readInt16();
  switch (version) {
    case 0:
    case 2: {
      const offset = r.readInt64();
      const metadata = r.readString();
      const commitTimestampMs = r.readInt64();
      return { offset, leaderEpoch: -1, metadata, commitTimestampMs, expireTimestampMs: null };
    }
    case 1: {
      const offset = r.readInt64();
      const metadata = r.readString();
      const commitTimestampMs = r.readInt64();
      const expireTimestampMs = r.readInt64();
      return { offset, leaderEpoch: -1, metadata, commitTimestampMs, expireTimestampMs };
    }
    case 3:
    case 4: {
      const flexible = version === 4;
      const offset = r.readInt64();
      const leaderEpoch = r.readInt32();
      const metadata = flexible ? r.readCompactString() : r.readString();
      const commitTimestampMs = r.readInt64();
      if (flexible) r.readTaggedFields();
      return { offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs: null };
    }
    default:
      throw new DecodeError(`unknown offset commit value version ${version}`);
  }
}

export function encodeGroupValue(v: GroupValue): Buffer {
  const w = new Writer(256);
  w.writeInt16(GROUP_VALUE_VERSION)
    .writeString(v.protocolType)
    .writeInt32(v.generationId)
    .writeNullableString(v.protocolName)
    .writeNullableString(v.leaderId)
    .writeInt64(v.currentStateTimestampMs)
    .writeArrayLength(v.members.length);
  for (const m of v.members) {
    w.writeString(m.memberId)
      .writeNullableString(m.groupInstanceId)
      .writeString(m.clientId)
      .writeString(m.clientHost)
      .writeInt32(m.rebalanceTimeoutMs)
      .writeInt32(m.sessionTimeoutMs)
      .writeBytes(m.subscription)
      .writeBytes(m.assignment);
  }
  return w.toBuffer();
}

export function decodeGroupValue(value: Buffer): GroupValue {
  const r = new Reader(value);
  const version = r.readInt16();
  if (version < 0 || version > 4) throw new DecodeError(`unknown group metadata value version ${version}`);
  const flexible = version >= 4;
  const str = (): string => (flexible ? r.readCompactString() : r.readString());
  const nullableStr = (): string | null => (flexible ? r.readCompactNullableString() : r.readNullableString());
  const bytes = (): Buffer => Buffer.from(flexible ? r.readCompactBytes() : r.readBytes());
  const protocolType = str();
  const generationId = r.readInt32();
  const protocolName = nullableStr();
  const leaderId = nullableStr();
  const currentStateTimestampMs = version >= 2 ? r.readInt64() : -1;
  const count = flexible ? r.readCompactArrayLength() : r.readArrayLength();
  const members: StoredMember[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = str();
    const groupInstanceId = version >= 3 ? nullableStr() : null;
    const clientId = str();
    const clientHost = str();
    const sessionOrRebalance = r.readInt32();
    const rebalanceTimeoutMs = sessionOrRebalance;
    const sessionTimeoutMs = version >= 1 ? r.readInt32() : sessionOrRebalance;
    const subscription = bytes();
    const assignment = bytes();
    if (flexible) r.readTaggedFields();
    members.push({ memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs, sessionTimeoutMs, subscription, assignment });
  }
  if (flexible) r.readTaggedFields();
  return { protocolType, generationId, protocolName, leaderId, currentStateTimestampMs, members };
}
