import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { DecodeError } from '@fluxo/common';

/** proto/ at the repository root: same relative path from src/replication and dist/replication. */
const PROTO_DIR = fileURLToPath(new URL('../../../../proto/', import.meta.url));
const root = protobuf.loadSync([`${PROTO_DIR}replication.proto`]);

export const REPLICATION_FETCH_PATH = '/fluxo.replication.Replication/Fetch';
export const REPLICATION_EPOCH_PATH = '/fluxo.replication.Replication/OffsetForLeaderEpoch';

// Typed views of proto/replication.proto (int64 as JS numbers: offsets stay below 2^53, checked on decode).

export interface FetchPartitionRequest {
  readonly topicId: string;
  readonly partition: number;
  readonly currentLeaderEpoch: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  readonly highWatermark: number;
  readonly maxBytes: number;
}

export interface FetchRequestMessage {
  readonly requestId: number;
  readonly replicaId: number;
  readonly brokerEpoch: number;
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly partitions: readonly FetchPartitionRequest[];
}

export interface FetchPartitionData {
  readonly topicId: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly divergingEpoch: { readonly epoch: number; readonly endOffset: number } | null;
  readonly records: Buffer;
}

export interface FetchResponseMessage {
  readonly requestId: number;
  readonly errorCode: number;
  readonly errorMessage: string;
  readonly partitions: readonly FetchPartitionData[];
}

export interface EpochPartitionRequest {
  readonly topicId: string;
  readonly partition: number;
  readonly currentLeaderEpoch: number;
  readonly leaderEpoch: number;
}

export interface EpochRequestMessage {
  readonly replicaId: number;
  readonly brokerEpoch: number;
  readonly partitions: readonly EpochPartitionRequest[];
}

export interface EpochPartitionResult {
  readonly topicId: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly leaderEpoch: number;
  readonly endOffset: number;
}

export interface EpochResponseMessage {
  readonly errorCode: number;
  readonly errorMessage: string;
  readonly partitions: readonly EpochPartitionResult[];
}

type Plain = Record<string, unknown>;

class Codec<T> {
  private readonly type: protobuf.Type;
  constructor(
    name: string,
    private readonly check: (o: Plain) => T,
  ) {
    this.type = root.lookupType(name);
  }

  encode(value: T): Buffer {
    const bytes = this.type.encode(this.type.fromObject(value as unknown as Plain)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Throws DecodeError for bytes that are not this message or carry out-of-range values. */
  decode(bytes: Uint8Array): T {
    let o: Plain;
    try {
      o = this.type.toObject(this.type.decode(bytes), { longs: Number, enums: Number, defaults: true, arrays: true }) as Plain;
    } catch (err) {
      throw new DecodeError(`malformed ${this.type.name}: ${(err as Error).message}`);
    }
    return this.check(o);
  }
}

function int(o: Plain, field: string, min = -0x80000000): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new DecodeError(`${field}: ${String(v)} is out of range`);
  return v;
}

function str(o: Plain, field: string, maxLength = 64): string {
  const v = o[field];
  if (typeof v !== 'string' || v.length > maxLength) throw new DecodeError(`${field} is not a string of at most ${maxLength} characters`);
  return v;
}

function list(o: Plain, field: string, max: number): Plain[] {
  const v = o[field];
  if (!Array.isArray(v) || v.length > max) throw new DecodeError(`${field}: more than ${max} entries`);
  return v as Plain[];
}

/** Bounds on one request: partitions per fetch (a broker leads at most this many for one follower). */
export const MAX_PARTITIONS_PER_REQUEST = 100_000;

export const FetchRequestCodec = new Codec<FetchRequestMessage>('fluxo.replication.FetchRequest', (o) => ({
  requestId: int(o, 'requestId', 0),
  replicaId: int(o, 'replicaId', 0),
  brokerEpoch: int(o, 'brokerEpoch'),
  maxWaitMs: int(o, 'maxWaitMs', 0),
  minBytes: int(o, 'minBytes', 0),
  maxBytes: int(o, 'maxBytes', 0),
  partitions: list(o, 'partitions', MAX_PARTITIONS_PER_REQUEST).map((p) => ({
    topicId: str(p, 'topicId'),
    partition: int(p, 'partition', 0),
    currentLeaderEpoch: int(p, 'currentLeaderEpoch', -1),
    fetchOffset: int(p, 'fetchOffset', 0),
    lastFetchedEpoch: int(p, 'lastFetchedEpoch', -1),
    highWatermark: int(p, 'highWatermark', -1),
    maxBytes: int(p, 'maxBytes', 0),
  })),
}));

export const FetchResponseCodec = new Codec<FetchResponseMessage>('fluxo.replication.FetchResponse', (o) => ({
  requestId: int(o, 'requestId', 0),
  errorCode: int(o, 'errorCode'),
  errorMessage: str(o, 'errorMessage', 4096),
  partitions: list(o, 'partitions', MAX_PARTITIONS_PER_REQUEST).map((p) => {
    const d = p.divergingEpoch as Plain | null;
    const records = p.records;
    if (!(records instanceof Uint8Array)) throw new DecodeError('records are not bytes');
    return {
      topicId: str(p, 'topicId'),
      partition: int(p, 'partition', 0),
      errorCode: int(p, 'errorCode'),
      highWatermark: int(p, 'highWatermark', -1),
      logStartOffset: int(p, 'logStartOffset', -1),
      logEndOffset: int(p, 'logEndOffset', -1),
      divergingEpoch: d === null || d === undefined ? null : { epoch: int(d, 'epoch', -1), endOffset: int(d, 'endOffset', -1) },
      records: Buffer.isBuffer(records) ? records : Buffer.from(records.buffer, records.byteOffset, records.byteLength),
    };
  }),
}));

export const EpochRequestCodec = new Codec<EpochRequestMessage>('fluxo.replication.OffsetForLeaderEpochRequest', (o) => ({
  replicaId: int(o, 'replicaId', 0),
  brokerEpoch: int(o, 'brokerEpoch'),
  partitions: list(o, 'partitions', MAX_PARTITIONS_PER_REQUEST).map((p) => ({
    topicId: str(p, 'topicId'),
    partition: int(p, 'partition', 0),
    currentLeaderEpoch: int(p, 'currentLeaderEpoch', -1),
    leaderEpoch: int(p, 'leaderEpoch', -1),
  })),
}));

export const EpochResponseCodec = new Codec<EpochResponseMessage>('fluxo.replication.OffsetForLeaderEpochResponse', (o) => ({
  errorCode: int(o, 'errorCode'),
  errorMessage: str(o, 'errorMessage', 4096),
  partitions: list(o, 'partitions', MAX_PARTITIONS_PER_REQUEST).map((p) => ({
    topicId: str(p, 'topicId'),
    partition: int(p, 'partition', 0),
    errorCode: int(p, 'errorCode'),
    leaderEpoch: int(p, 'leaderEpoch', -1),
    endOffset: int(p, 'endOffset', -1),
  })),
}));
