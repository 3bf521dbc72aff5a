import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { DecodeError } from '@fluxo/common';

/** proto/ at the repository root: same relative path from src/transport and dist/transport. */
const PROTO_DIR = fileURLToPath(new URL('../../../../proto/', import.meta.url));

const root = protobuf.loadSync([`${PROTO_DIR}raft.proto`, `${PROTO_DIR}controller.proto`]);

/** Plain objects as protobufjs produces them: 64-bit integers as decimal strings (checked, never rounded). */
export type PlainObject = Record<string, unknown>;

export interface ProtoType {
  encode(value: PlainObject): Buffer;
  /** Throws DecodeError on bytes that are not this message. */
  decode(bytes: Uint8Array): PlainObject;
}

function protoType(name: string): ProtoType {
  const type = root.lookupType(name);
  return {
    encode(value) {
      const bytes = type.encode(type.fromObject(value)).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode(bytes) {
      try {
        return type.toObject(type.decode(bytes), { longs: String, enums: Number, defaults: true, arrays: true }) as PlainObject;
      } catch (err) {
        throw new DecodeError(`malformed ${name}: ${(err as Error).message}`);
      }
    },
  };
}

export const Proto = {
  StepRequest: protoType('fluxo.raft.StepRequest'),
  StepResponse: protoType('fluxo.raft.StepResponse'),
  CreateTopicRequest: protoType('fluxo.controller.CreateTopicRequest'),
  CreateTopicResponse: protoType('fluxo.controller.CreateTopicResponse'),
  DescribeQuorumRequest: protoType('fluxo.controller.DescribeQuorumRequest'),
  DescribeQuorumResponse: protoType('fluxo.controller.DescribeQuorumResponse'),
  RegisterBrokerRequest: protoType('fluxo.controller.RegisterBrokerRequest'),
  RegisterBrokerResponse: protoType('fluxo.controller.RegisterBrokerResponse'),
  BrokerHeartbeatRequest: protoType('fluxo.controller.BrokerHeartbeatRequest'),
  BrokerHeartbeatResponse: protoType('fluxo.controller.BrokerHeartbeatResponse'),
  WatchMetadataRequest: protoType('fluxo.controller.WatchMetadataRequest'),
  MetadataEvent: protoType('fluxo.controller.MetadataEvent'),
  GetMetadataRequest: protoType('fluxo.controller.GetMetadataRequest'),
  GetMetadataResponse: protoType('fluxo.controller.GetMetadataResponse'),
  CommitRecordsRequest: protoType('fluxo.controller.CommitRecordsRequest'),
  CommitRecordsResponse: protoType('fluxo.controller.CommitRecordsResponse'),
  ElectLeadersRequest: protoType('fluxo.controller.ElectLeadersRequest'),
  AlterReassignmentsRequest: protoType('fluxo.controller.AlterReassignmentsRequest'),
  PartitionOutcomesResponse: protoType('fluxo.controller.PartitionOutcomesResponse'),
} as const;

/** A uint64/int64 field decoded as a decimal string: a JS number only if exactly representable. */
export function safeInt(value: unknown, field: string): number {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  if (!Number.isSafeInteger(n) || (typeof value === 'string' && String(n) !== value)) throw new DecodeError(`${field}: ${String(value)} is not a safe integer`);
  return n;
}
