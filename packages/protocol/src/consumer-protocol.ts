import { DecodeError } from '@fluxo/common';
import {
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
  type ConsumerProtocolAssignment,
  type ConsumerProtocolSubscription,
} from './messages/index.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';

// The "consumer" group protocol payloads (JoinGroup protocol metadata, SyncGroup assignment) are bytes that
// start with an int16 version. Like Kafka's ConsumerProtocol, a version newer than we know is read with the
// newest schema we know (newer versions only append fields).
const MAX_SUBSCRIPTION_VERSION = 3;
const MAX_ASSIGNMENT_VERSION = 3;

export function encodeSubscriptionBytes(version: number, subscription: ConsumerProtocolSubscription): Buffer {
  const w = new Writer(64);
  w.writeInt16(version);
  encodeConsumerProtocolSubscription(version, subscription, w);
  return w.toBuffer();
}

export function decodeSubscriptionBytes(data: Buffer): { version: number; subscription: ConsumerProtocolSubscription } {
  const r = new Reader(data);
  const version = r.readInt16();
  if (version < 0) throw new DecodeError(`invalid consumer subscription version ${version}`);
  return { version, subscription: decodeConsumerProtocolSubscription(Math.min(version, MAX_SUBSCRIPTION_VERSION), r) };
}

export function encodeAssignmentBytes(version: number, assignment: ConsumerProtocolAssignment): Buffer {
  const w = new Writer(64);
  w.writeInt16(version);
  encodeConsumerProtocolAssignment(version, assignment, w);
  return w.toBuffer();
}

export function decodeAssignmentBytes(data: Buffer): { version: number; assignment: ConsumerProtocolAssignment } {
  const r = new Reader(data);
  const version = r.readInt16();
  if (version < 0) throw new DecodeError(`invalid consumer assignment version ${version}`);
  return { version, assignment: decodeConsumerProtocolAssignment(Math.min(version, MAX_ASSIGNMENT_VERSION), r) };
}
