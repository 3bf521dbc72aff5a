import { DecodeError } from '../errors.js';
import type { BrokerEndpoint, MetadataRecord, PartitionAssignment } from './records.js';

/**
 * Checks that a value received from another process (a broker's forwarded commit) is a well-formed metadata
 * record before it reaches the log: a committed entry that made applyBatch throw anything but a
 * KafkaProtocolError would stop every controller that applies it. Throws DecodeError naming the field.
 */
export function parseMetadataRecord(value: unknown): MetadataRecord {
  const r = obj(value, 'record');
  const type = str(r.type, 'type');
  switch (type) {
    case 'BrokerRegistered':
      return {
        type,
        nodeId: int(r.nodeId, 'nodeId'),
        host: str(r.host, 'host'),
        port: int(r.port, 'port'),
        rack: r.rack === null ? null : str(r.rack, 'rack'),
        incarnationId: str(r.incarnationId, 'incarnationId'),
        endpoints: arr(r.endpoints, 'endpoints').map(endpoint),
      };
    case 'BrokerFenced':
    case 'BrokerUnfenced':
      return { type, nodeId: int(r.nodeId, 'nodeId'), brokerEpoch: int(r.brokerEpoch, 'brokerEpoch') };
    case 'TopicCreated':
      return {
        type,
        name: str(r.name, 'name'),
        topicId: str(r.topicId, 'topicId'),
        partitionCount: int(r.partitionCount, 'partitionCount'),
        configs: stringMap(r.configs, 'configs'),
        partitions: arr(r.partitions, 'partitions').map(assignment),
      };
    case 'PartitionsAdded':
      return { type, topicId: str(r.topicId, 'topicId'), partitionCount: int(r.partitionCount, 'partitionCount'), partitions: arr(r.partitions, 'partitions').map(assignment) };
    case 'ConfigChanged': {
      const changes: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(obj(r.changes, 'changes'))) changes[k] = v === null ? null : str(v, `changes.${k}`);
      return { type, topicId: str(r.topicId, 'topicId'), changes };
    }
    case 'TopicDeleted':
      return { type, topicId: str(r.topicId, 'topicId') };
    case 'PartitionChanged':
      return {
        type,
        topicId: str(r.topicId, 'topicId'),
        partition: int(r.partition, 'partition'),
        partitionEpoch: int(r.partitionEpoch, 'partitionEpoch'),
        leader: int(r.leader, 'leader'),
        isr: arr(r.isr, 'isr').map((x, i) => int(x, `isr[${i}]`)),
      };
    case 'ProducerIdsAllocated':
      return { type, brokerId: int(r.brokerId, 'brokerId'), brokerEpoch: int(r.brokerEpoch, 'brokerEpoch'), nextProducerId: int(r.nextProducerId, 'nextProducerId') };
    case 'PartitionReassigned':
      return {
        type,
        topicId: str(r.topicId, 'topicId'),
        partition: int(r.partition, 'partition'),
        partitionEpoch: int(r.partitionEpoch, 'partitionEpoch'),
        replicas: ints(r.replicas, 'replicas'),
        isr: ints(r.isr, 'isr'),
        leader: int(r.leader, 'leader'),
        adding: ints(r.adding, 'adding'),
        removing: ints(r.removing, 'removing'),
      };
    default:
      throw new DecodeError(`unknown metadata record type '${type}'`);
  }
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DecodeError(`${field}: expected an object`);
  return v as Record<string, unknown>;
}
function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new DecodeError(`${field}: expected a string`);
  return v;
}
function int(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new DecodeError(`${field}: expected an integer`);
  return v;
}
function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new DecodeError(`${field}: expected an array`);
  return v;
}
function ints(v: unknown, field: string): number[] {
  return arr(v, field).map((x, i) => int(x, `${field}[${i}]`));
}
function stringMap(v: unknown, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v, field))) out[k] = str(x, `${field}.${k}`);
  return out;
}
function endpoint(v: unknown, i: number): BrokerEndpoint {
  const e = obj(v, `endpoints[${i}]`);
  return { listener: str(e.listener, 'listener'), host: str(e.host, 'host'), port: int(e.port, 'port') };
}
function assignment(v: unknown, i: number): PartitionAssignment {
  const a = obj(v, `partitions[${i}]`);
  return { partition: int(a.partition, 'partition'), replicas: arr(a.replicas, 'replicas').map((x, j) => int(x, `replicas[${j}]`)) };
}
