import { assert } from '@fluxo/common';
import { applyConfChange, decodeConfChange } from './conf-change.js';
import type { Entry, NodeId } from './types.js';

interface ConfigAt {
  readonly index: number;
  readonly voters: readonly NodeId[];
}

/**
 * Membership as the log defines it. A configuration takes effect as soon as its entry is in the log,
 * committed or not (Raft dissertation §4.1, single-server changes); truncating the entry reverts it.
 * `base` is the configuration at or before the commit index; `pending` are configurations from entries
 * after it (at most one uncommitted, enforced by the leader).
 */
export class Membership {
  private base: ConfigAt;
  private pending: ConfigAt[] = [];

  constructor(voters: readonly NodeId[], index: number) {
    this.base = { index, voters: [...voters] };
  }

  voters(): readonly NodeId[] {
    return this.latest().voters;
  }

  /** Index of the entry that set the current configuration (or of the snapshot that carried it). */
  configIndex(): number {
    return this.latest().index;
  }

  isVoter(id: NodeId): boolean {
    return this.latest().voters.includes(id);
  }

  /** Voter in the latest committed configuration (it may have appended, not yet committed, its own removal). */
  isCommittedVoter(id: NodeId): boolean {
    return this.base.voters.includes(id);
  }

  /** Entries were appended at entries[0].index on (replacing anything from there). */
  onAppend(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.truncateFrom((entries[0] as Entry).index);
    for (const e of entries) {
      if (e.type !== 'confChange') continue;
      const voters = applyConfChange(this.latest().voters, decodeConfChange(e.data));
      this.pending.push({ index: e.index, voters });
    }
  }

  truncateFrom(index: number): void {
    assert(index > this.base.index, `truncating config at ${index} below committed config ${this.base.index}`);
    while (this.pending.length > 0 && (this.pending[this.pending.length - 1] as ConfigAt).index >= index) this.pending.pop();
  }

  /** Committed configurations can never be truncated: fold them into the base. */
  onCommit(commit: number): void {
    while (this.pending.length > 0 && (this.pending[0] as ConfigAt).index <= commit) this.base = this.pending.shift() as ConfigAt;
  }

  reset(voters: readonly NodeId[], index: number): void {
    this.base = { index, voters: [...voters] };
    this.pending = [];
  }

  private latest(): ConfigAt {
    return this.pending.length > 0 ? (this.pending[this.pending.length - 1] as ConfigAt) : this.base;
  }
}
