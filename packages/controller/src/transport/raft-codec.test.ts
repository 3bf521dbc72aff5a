import { describe, expect, it } from 'vitest';
import { DecodeError } from '@fluxo/common';
import type { Message } from '@fluxo/raft';
import { Proto } from './protos.js';
import { messageFromProto, messageToProto } from './raft-codec.js';

const roundTrip = (m: Message): Message => {
  const bytes = Proto.StepRequest.encode({ from: m.from, to: m.to, messages: [messageToProto(m)] });
  const decoded = Proto.StepRequest.decode(bytes);
  return messageFromProto((decoded.messages as Record<string, unknown>[])[0]!);
};

describe('raft message codec', () => {
  it('round-trips every message type', () => {
    const data = Buffer.from([1, 2, 3]); // decoded bytes are Buffers (a Uint8Array)
    const messages: Message[] = [
      { type: 'preVote', from: 1, to: 2, term: 5, lastLogIndex: 10, lastLogTerm: 4, leaderTransfer: false },
      { type: 'vote', from: 1, to: 2, term: 5, lastLogIndex: 2 ** 40, lastLogTerm: 4, leaderTransfer: true },
      { type: 'preVoteResp', from: 2, to: 1, term: 5, reject: true },
      { type: 'voteResp', from: 2, to: 1, term: 5, reject: false },
      {
        type: 'append',
        from: 1,
        to: 3,
        term: 6,
        prevLogIndex: 9,
        prevLogTerm: 5,
        commit: 8,
        entries: [
          { index: 10, term: 6, type: 'normal', data },
          { index: 11, term: 6, type: 'confChange', data: Buffer.from([1, 0, 0, 0, 4]) },
        ],
      },
      { type: 'appendResp', from: 3, to: 1, term: 6, reject: true, index: 9, conflictTerm: 3, conflictIndex: 7 },
      { type: 'heartbeat', from: 1, to: 2, term: 6, commit: 11 },
      { type: 'heartbeatResp', from: 2, to: 1, term: 6 },
      { type: 'snapshot', from: 1, to: 2, term: 6, snapshot: { index: 100, term: 5, confState: { voters: [1, 2, 3] }, data } },
      { type: 'timeoutNow', from: 1, to: 2, term: 6 },
    ];
    for (const m of messages) expect(roundTrip(m)).toEqual(m);
  });

  it('rejects malformed messages before raft sees them', () => {
    const base = { from: 1, to: 2, term: '5' };
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...base, type: 0 }, /unknown raft message type/],
      [{ ...base, type: 42 }, /unknown raft message type/],
      [{ ...base, type: 7, commit: '18446744073709551615' }, /not a safe integer/],
      [{ ...base, type: 5, prevLogIndex: '1', prevLogTerm: '9', entries: [], commit: '0' }, /prevLogTerm 9 above message term 5/],
      [{ ...base, type: 5, prevLogIndex: '1', prevLogTerm: '1', entries: [{ index: '3', term: '1', type: 0, data: new Uint8Array() }], commit: '0' }, /not contiguous/],
      [{ ...base, type: 5, prevLogIndex: '1', prevLogTerm: '3', entries: [{ index: '2', term: '2', type: 0, data: new Uint8Array() }], commit: '0' }, /term 2 outside|below previous term/],
      [{ ...base, type: 5, prevLogIndex: '1', prevLogTerm: '1', entries: [{ index: '2', term: '1', type: 1, data: new Uint8Array(2) }], commit: '0' }, /conf change of 2 bytes/],
      [{ ...base, type: 9, snapshot: null }, /without a snapshot/],
      [{ ...base, type: 9, snapshot: { index: '5', term: '1', voters: [], data: new Uint8Array() } }, /voters must be distinct and non-empty/],
      [{ ...base, type: 9, snapshot: { index: '5', term: '7', voters: [1], data: new Uint8Array() } }, /impossible in term 5/],
    ];
    for (const [raw, pattern] of bad) {
      const decoded = Proto.StepRequest.decode(Proto.StepRequest.encode({ from: 1, to: 2, messages: [raw] }));
      const message = (decoded.messages as Record<string, unknown>[])[0]!;
      expect(() => messageFromProto(message), JSON.stringify(raw)).toThrow(pattern);
    }
    expect(() => Proto.StepRequest.decode(Buffer.from([0x1a, 0x05, 0x08]))).toThrow(DecodeError);
  });
});
