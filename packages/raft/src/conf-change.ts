import { assert } from '@fluxo/common';
import { InvalidConfChangeError } from './errors.js';
import type { NodeId } from './types.js';

/** Single-server membership change (Raft dissertation §4.1): one voter at a time. */
export interface ConfChange {
  readonly type: 'addVoter' | 'removeVoter';
  readonly nodeId: NodeId;
}

const ADD = 1;
const REMOVE = 2;
const ENCODED_SIZE_BYTES = 5;

export function encodeConfChange(change: ConfChange): Uint8Array {
  assert(Number.isInteger(change.nodeId) && change.nodeId >= 0 && change.nodeId <= 0x7fffffff, 'bad node id');
  const out = new Uint8Array(ENCODED_SIZE_BYTES);
  out[0] = change.type === 'addVoter' ? ADD : REMOVE;
  new DataView(out.buffer).setUint32(1, change.nodeId);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  assert(data.byteLength === ENCODED_SIZE_BYTES, 'conf change entry has wrong size');
  const kind = data[0];
  assert(kind === ADD || kind === REMOVE, 'conf change entry has unknown type');
  const nodeId = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1);
  return { type: kind === ADD ? 'addVoter' : 'removeVoter', nodeId };
}

/** Throws InvalidConfChangeError when `change` does not apply to `voters`. */
export function validateConfChange(voters: readonly NodeId[], change: ConfChange): void {
  if (!Number.isInteger(change.nodeId) || change.nodeId < 0 || change.nodeId > 0x7fffffff) {
    throw new InvalidConfChangeError(`invalid node id ${change.nodeId}`);
  }
  const present = voters.includes(change.nodeId);
  if (change.type === 'addVoter' && present) throw new InvalidConfChangeError(`node ${change.nodeId} is already a voter`);
  if (change.type === 'removeVoter') {
    if (!present) throw new InvalidConfChangeError(`node ${change.nodeId} is not a voter`);
    if (voters.length === 1) throw new InvalidConfChangeError('cannot remove the last voter');
  }
}

/** The voters after `change`; asserts it applies (entries in a log were validated when proposed). */
export function applyConfChange(voters: readonly NodeId[], change: ConfChange): NodeId[] {
  const present = voters.includes(change.nodeId);
  if (change.type === 'addVoter') {
    assert(!present, `conf change adds existing voter ${change.nodeId}`);
    return [...voters, change.nodeId].sort((a, b) => a - b);
  }
  assert(present, `conf change removes non-voter ${change.nodeId}`);
  return voters.filter((id) => id !== change.nodeId);
}

/** Log entries that bootstrap a new cluster: every initial voter writes these same entries at term 1. */
export function bootstrapEntries(voters: readonly NodeId[]): { index: number; term: number; type: 'confChange'; data: Uint8Array }[] {
  assert(voters.length > 0, 'bootstrap needs at least one voter');
  assert(new Set(voters).size === voters.length, 'bootstrap voters must be distinct');
  return [...voters]
    .sort((a, b) => a - b)
    .map((nodeId, i) => ({ index: i + 1, term: 1, type: 'confChange' as const, data: encodeConfChange({ type: 'addVoter', nodeId }) }));
}
