import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptDataError, silentLogger } from '@fluxo/common';
import { CompactedError, type Entry } from '@fluxo/raft';
import { corruptEntry, dropUncommittedTail } from '../testing/raft-disk-faults.js';
import { LevelRaftStorage } from './level-raft-storage.js';
import { entryKey } from './storage-codec.js';

const ent = (index: number, term: number, text = `v${index}`): Entry => ({ index, term, type: 'normal', data: new TextEncoder().encode(text) });
const range = (lo: number, hi: number, term: number): Entry[] => Array.from({ length: hi - lo + 1 }, (_, i) => ent(lo + i, term));

describe('LevelRaftStorage', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tmp = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'fluxo-raft-'));
    dirs.push(d);
    return join(d, 'raft');
  };
  const log = silentLogger();

  it('persists entries, hard state and suffix replacement, and reopens to the same log', async () => {
    const location = await tmp();
    const s = await LevelRaftStorage.open(location, log);
    expect(s.initialState().hardState).toEqual({ term: 0, vote: null, commit: 0 });
    expect([s.firstIndex(), s.lastIndex()]).toEqual([1, 0]);
    await s.persist({ entries: range(1, 5, 1), hardState: { term: 1, vote: 2, commit: 2 } });
    await s.persist({ entries: [ent(4, 2, 'new4')], hardState: { term: 2, vote: 3, commit: 3 } }); // drops old 4, 5
    expect(s.lastIndex()).toBe(4);
    expect(s.term(4)).toBe(2);
    await s.close();

    const r = await LevelRaftStorage.open(location, log);
    expect(r.initialState().hardState).toEqual({ term: 2, vote: 3, commit: 3 });
    expect([r.firstIndex(), r.lastIndex()]).toEqual([1, 4]);
    expect(r.entries(1, 5, 1e9).map((e) => [e.index, e.term, new TextDecoder().decode(e.data)])).toEqual([
      [1, 1, 'v1'],
      [2, 1, 'v2'],
      [3, 1, 'v3'],
      [4, 2, 'new4'],
    ]);
    expect(r.entries(1, 5, 1).length).toBe(1); // at least one entry even over maxBytes
    await r.close();
  });

  it('snapshots, compacts keeping a tail, applies a received snapshot, and reopens', async () => {
    const location = await tmp();
    const s = await LevelRaftStorage.open(location, log);
    await s.persist({ entries: range(1, 10, 1), hardState: { term: 1, vote: 1, commit: 10 } });
    const snap = await s.createSnapshot(8, { voters: [1, 2, 3] }, new Uint8Array([7]), 3);
    expect(snap).toMatchObject({ index: 8, term: 1 });
    expect(s.firstIndex()).toBe(6);
    expect(s.term(5)).toBe(1);
    expect(() => s.entries(5, 6, 1e9)).toThrow(CompactedError);
    await s.close();

    const r = await LevelRaftStorage.open(location, log);
    expect([r.firstIndex(), r.lastIndex()]).toEqual([6, 10]);
    expect(r.initialState()).toMatchObject({ confState: { voters: [1, 2, 3] }, confIndex: 8 });
    expect(r.snapshot().data).toEqual(new Uint8Array([7]));
    await r.persist({
      snapshot: { index: 20, term: 3, confState: { voters: [1, 2] }, data: new Uint8Array([9]) },
      entries: [ent(21, 3)],
      hardState: { term: 3, vote: null, commit: 20 },
    });
    await r.close();

    const again = await LevelRaftStorage.open(location, log);
    expect([again.firstIndex(), again.lastIndex()]).toEqual([21, 21]);
    expect(again.term(20)).toBe(3);
    expect(again.initialState()).toMatchObject({ confIndex: 20, hardState: { commit: 20 } });
    await again.close();
  });

  it('refuses to start on a corrupt entry instead of dropping committed entries', async () => {
    const location = await tmp();
    const s = await LevelRaftStorage.open(location, log);
    await s.persist({ entries: range(1, 5, 1), hardState: { term: 1, vote: 1, commit: 5 } });
    await s.close();
    await corruptEntry(location, 3);
    const err = await LevelRaftStorage.open(location, log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptDataError);
    expect((err as Error).message).toMatch(/raft log .* is corrupt, refusing to start.*entry 3: checksum mismatch/);
  });

  it('refuses to start when committed entries are missing or the log has a hole', async () => {
    const location = await tmp();
    const s = await LevelRaftStorage.open(location, log);
    await s.persist({ entries: range(1, 5, 1), hardState: { term: 1, vote: 1, commit: 5 } });
    await s.close();
    const db = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.del(entryKey(5));
    await db.close();
    await expect(LevelRaftStorage.open(location, log)).rejects.toThrow(/commit 5 is past the last entry 4/);

    const db2 = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db2.del(entryKey(2));
    await db2.close();
    await expect(LevelRaftStorage.open(location, log)).rejects.toThrow(/entries 2..2 are missing/);
  });

  it('the lost-unsynced-tail fault drops only entries past the commit index', async () => {
    const location = await tmp();
    const s = await LevelRaftStorage.open(location, log);
    await s.persist({ entries: range(1, 6, 1), hardState: { term: 1, vote: 1, commit: 4 } });
    await s.close();
    expect(await dropUncommittedTail(location)).toEqual([5, 6]);
    const r = await LevelRaftStorage.open(location, log);
    expect(r.lastIndex()).toBe(4);
    await r.close();
  });
});
