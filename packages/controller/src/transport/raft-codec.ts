import { DecodeError } from '@fluxo/common';
import type { Entry, Message, NodeId, Snapshot } from '@fluxo/raft';
import { safeInt, type PlainObject } from './protos.js';

const TYPES = ['preVote', 'vote', 'preVoteResp', 'voteResp', 'append', 'appendResp', 'heartbeat', 'heartbeatResp', 'snapshot', 'timeoutNow'] as const;
const TYPE_NUMBER: Record<Message['type'], number> = {
  preVote: 1,
  vote: 2,
  preVoteResp: 3,
  voteResp: 4,
  append: 5,
  appendResp: 6,
  heartbeat: 7,
  heartbeatResp: 8,
  snapshot: 9,
  timeoutNow: 10,
};
const CONF_CHANGE_BYTES = 5;

const num = (n: number): string => String(n);

function entryToProto(e: Entry): PlainObject {
  return { index: num(e.index), term: num(e.term), type: e.type === 'confChange' ? 1 : 0, data: e.data };
}

function snapshotToProto(s: Snapshot): PlainObject {
  return { index: num(s.index), term: num(s.term), voters: [...s.confState.voters], data: s.data };
}

/** Raft message -> protobuf plain object (fields a type does not use stay at their defaults). */
export function messageToProto(m: Message): PlainObject {
  const out: PlainObject = { type: TYPE_NUMBER[m.type], from: m.from, to: m.to, term: num(m.term) };
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return { ...out, lastLogIndex: num(m.lastLogIndex), lastLogTerm: num(m.lastLogTerm), leaderTransfer: m.leaderTransfer };
    case 'preVoteResp':
    case 'voteResp':
      return { ...out, reject: m.reject };
    case 'append':
      return { ...out, prevLogIndex: num(m.prevLogIndex), prevLogTerm: num(m.prevLogTerm), entries: m.entries.map(entryToProto), commit: num(m.commit) };
    case 'appendResp':
      return { ...out, reject: m.reject, index: num(m.index), conflictTerm: num(m.conflictTerm), conflictIndex: num(m.conflictIndex) };
    case 'heartbeat':
      return { ...out, commit: num(m.commit) };
    case 'snapshot':
      return { ...out, snapshot: snapshotToProto(m.snapshot) };
    case 'heartbeatResp':
    case 'timeoutNow':
      return out;
  }
}

function bytes(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new DecodeError(`${field}: not bytes`);
  return value;
}

function nodeId(value: unknown, field: string): NodeId {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new DecodeError(`${field}: bad node id ${String(value)}`);
  return value;
}

function entryFromProto(raw: PlainObject, expectedIndex: number, maxTerm: number): Entry {
  const index = safeInt(raw.index, 'entry.index');
  const term = safeInt(raw.term, 'entry.term');
  if (index !== expectedIndex) throw new DecodeError(`entries not contiguous: got index ${index}, expected ${expectedIndex}`);
  if (term < 1 || term > maxTerm) throw new DecodeError(`entry ${index}: term ${term} outside 1..${maxTerm}`);
  if (raw.type !== 0 && raw.type !== 1) throw new DecodeError(`entry ${index}: unknown type ${String(raw.type)}`);
  const data = bytes(raw.data, 'entry.data');
  if (raw.type === 1 && data.byteLength !== CONF_CHANGE_BYTES) throw new DecodeError(`entry ${index}: conf change of ${data.byteLength} bytes`);
  return { index, term, type: raw.type === 1 ? 'confChange' : 'normal', data };
}

/**
 * Protobuf plain object -> Raft message, checking everything raft relies on (known type, ids, safe
 * integers, contiguous entries with sane terms, a snapshot with voters) so a malformed message is
 * rejected at the edge instead of tripping an assertion inside raft.
 */
export function messageFromProto(raw: PlainObject): Message {
  const type = TYPES[(raw.type as number) - 1];
  if (type === undefined) throw new DecodeError(`unknown raft message type ${String(raw.type)}`);
  const base = { from: nodeId(raw.from, 'from'), to: nodeId(raw.to, 'to'), term: safeInt(raw.term, 'term') };
  switch (type) {
    case 'preVote':
    case 'vote':
      return { ...base, type, lastLogIndex: safeInt(raw.lastLogIndex, 'lastLogIndex'), lastLogTerm: safeInt(raw.lastLogTerm, 'lastLogTerm'), leaderTransfer: raw.leaderTransfer === true };
    case 'preVoteResp':
    case 'voteResp':
      return { ...base, type, reject: raw.reject === true };
    case 'append': {
      const prevLogIndex = safeInt(raw.prevLogIndex, 'prevLogIndex');
      const prevLogTerm = safeInt(raw.prevLogTerm, 'prevLogTerm');
      if (prevLogTerm > base.term) throw new DecodeError(`append: prevLogTerm ${prevLogTerm} above message term ${base.term}`);
      const rawEntries = raw.entries as PlainObject[];
      const entries: Entry[] = [];
      let lastTerm = prevLogTerm;
      for (const [i, e] of rawEntries.entries()) {
        const entry = entryFromProto(e, prevLogIndex + 1 + i, base.term);
        if (entry.term < lastTerm) throw new DecodeError(`append: entry ${entry.index} term ${entry.term} below previous term ${lastTerm}`);
        lastTerm = entry.term;
        entries.push(entry);
      }
      return { ...base, type, prevLogIndex, prevLogTerm, entries, commit: safeInt(raw.commit, 'commit') };
    }
    case 'appendResp':
      return {
        ...base,
        type,
        reject: raw.reject === true,
        index: safeInt(raw.index, 'index'),
        conflictTerm: safeInt(raw.conflictTerm, 'conflictTerm'),
        conflictIndex: safeInt(raw.conflictIndex, 'conflictIndex'),
      };
    case 'heartbeat':
      return { ...base, type, commit: safeInt(raw.commit, 'commit') };
    case 'snapshot': {
      const s = raw.snapshot as PlainObject | null | undefined;
      if (s === null || s === undefined) throw new DecodeError('snapshot message without a snapshot');
      const voters = (s.voters as unknown[]).map((v) => nodeId(v, 'snapshot.voters'));
      if (voters.length === 0 || new Set(voters).size !== voters.length) throw new DecodeError('snapshot voters must be distinct and non-empty');
      const index = safeInt(s.index, 'snapshot.index');
      const term = safeInt(s.term, 'snapshot.term');
      if (index < 1 || term < 1 || term > base.term) throw new DecodeError(`snapshot at index ${index} term ${term} is impossible in term ${base.term}`);
      return { ...base, type, snapshot: { index, term, confState: { voters }, data: bytes(s.data, 'snapshot.data') } };
    }
    case 'heartbeatResp':
    case 'timeoutNow':
      return { ...base, type };
  }
}
