/**
 * Shared pieces of the groups-* compat tests: the delivery/commit ledger that checks "every record processed,
 * none skipped, duplicates only for offsets not committed at a rebalance", group members running as separate
 * processes (kcat -G, test/compat/py-groups/member.py), and a tiny independent codec for the group APIs that
 * raw-socket tests send.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { KCAT, PYTHON, REPO_ROOT, waitFor } from '../harness/index.js';

// ---------------------------------------------------------------------------------------------------------
// Ledger

/** One member's history, in the order it happened in that member. */
export type MemberEvent =
  | { kind: 'm'; partition: number; offset: number; value: string; atMs: number }
  | { kind: 'c'; partition: number; offset: number }
  /** Partitions assigned or revoked in a rebalance: the member's runs on them end (later commits are not theirs). */
  | { kind: 'r'; partitions: number[] };

interface Run {
  member: string;
  partition: number;
  start: number;
  end: number; // last offset processed
  lastCommit: number; // highest offset this member committed for the partition during the run (or start)
  firstAtMs: number; // when its first record was processed (test clock): orders the runs of a partition
}

export interface LedgerReport {
  deliveries: number;
  distinct: number;
  duplicates: number;
  /** Sum over runs of records processed after the member's last commit: what a rebalance may redeliver. */
  uncommittedAtHandover: number;
  runs: number;
  missing: string[];
  unexpected: string[];
  /** Runs that resumed somewhere other than offset 0 or an offset a member committed. */
  badResumes: string[];
  /** Runs that started below a commit an earlier run (in time) of the partition had made: committed records redelivered. */
  resumesBelowCommit: string[];
  perPartitionDuplicates: Record<number, number>;
}

/**
 * Splits each member's records into runs (maximal stretches of consecutive offsets of one partition) and
 * checks them. The bound: a record is processed again only if it lies in the uncommitted tail of an earlier
 * run of its partition (processed after that run's last commit); the next owner resumes at the committed
 * offset, which is >= every earlier commit (checked run by run: resumesBelowCommit). So duplicates <= sum of
 * the tails of all but the last run of each partition (each extra processing of offset o charged to the one
 * earlier run whose tail holds it).
 */
export function checkLedger(
  members: ReadonlyMap<string, readonly MemberEvent[]>,
  expectedValues: readonly string[],
  opts: {
    /** Commits seen outside the event streams (kcat's commits on revoke), per member; matched to runs by offset. */
    extraCommits?: ReadonlyMap<string, ReadonlyArray<{ partition: number; offset: number }>>;
    /** False when not every commit is visible (kcat's periodic auto-commits): resume points cannot be checked. */
    resumesVisible?: boolean;
  } = {},
): LedgerReport {
  const runs: Run[] = [];
  const committedValues = new Map<number, Set<number>>();
  let deliveries = 0;
  const seen = new Map<string, number>(); // value -> times
  const seenOffsets = new Set<string>();
  for (const [member, events] of members) {
    const current = new Map<number, Run>();
    for (const e of events) {
      if (e.kind === 'r') {
        for (const p of e.partitions) current.delete(p);
        continue;
      }
      if (e.kind === 'c') {
        if (!committedValues.has(e.partition)) committedValues.set(e.partition, new Set());
        committedValues.get(e.partition)!.add(e.offset);
        const run = current.get(e.partition);
        if (run) run.lastCommit = Math.max(run.lastCommit, e.offset);
        continue;
      }
      deliveries++;
      seen.set(e.value, (seen.get(e.value) ?? 0) + 1);
      seenOffsets.add(`${e.partition}:${e.offset}`);
      const run = current.get(e.partition);
      if (run && run.end + 1 === e.offset) {
        run.end = e.offset;
      } else {
        const next: Run = { member, partition: e.partition, start: e.offset, end: e.offset, lastCommit: e.offset, firstAtMs: e.atMs };
        runs.push(next);
        current.set(e.partition, next);
      }
    }
  }
  for (const [member, commits] of opts.extraCommits ?? []) {
    for (const c of commits) {
      if (!committedValues.has(c.partition)) committedValues.set(c.partition, new Set());
      committedValues.get(c.partition)!.add(c.offset);
      for (const r of runs) {
        if (r.member === member && r.partition === c.partition && r.start <= c.offset && c.offset <= r.end + 1) r.lastCommit = Math.max(r.lastCommit, c.offset);
      }
    }
  }
  const expected = new Set(expectedValues);
  const missing = expectedValues.filter((v) => !seen.has(v));
  const unexpected = [...seen.keys()].filter((v) => !expected.has(v));
  const badResumes: string[] = [];
  for (const r of runs) {
    if (r.start !== 0 && !committedValues.get(r.partition)?.has(r.start) && opts.resumesVisible !== false) {
      const history = runs.filter((x) => x.partition === r.partition).map((x) => `${x.member}:${x.start}-${x.end}(c${x.lastCommit})`).join(' ');
      const commits = [...(committedValues.get(r.partition) ?? [])].sort((a, b) => a - b).join(',');
      badResumes.push(`${r.member} resumed partition ${r.partition} at ${r.start}, which nobody committed; runs ${history}; commits ${commits}`);
    }
  }
  // Runs of one partition never overlap in time (one owner at a time, a rebalance in between), so ordering them
  // by their first record is safe. No run may start below what earlier runs committed.
  const resumesBelowCommit: string[] = [];
  const lastRunOf = new Map<number, Run>();
  const byPartition = new Map<number, Run[]>();
  for (const r of runs) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => a.firstAtMs - b.firstAtMs);
    let committedSoFar = 0;
    for (const r of list) {
      if (r.start < committedSoFar) {
        const history = list.map((x) => `${x.member}:${x.start}-${x.end}(c${x.lastCommit}@${x.firstAtMs})`).join(' ');
        resumesBelowCommit.push(`${r.member} resumed partition ${partition} at ${r.start} though ${committedSoFar} was committed; runs ${history}`);
      }
      committedSoFar = Math.max(committedSoFar, r.lastCommit);
    }
    lastRunOf.set(partition, list[list.length - 1]!);
  }
  // The last run of a partition has nobody after it to redeliver its tail: it does not count.
  const tail = (r: Run): number => (lastRunOf.get(r.partition) === r ? 0 : Math.max(0, r.end + 1 - Math.max(r.start, r.lastCommit)));
  const perPartitionDuplicates: Record<number, number> = {};
  for (const r of runs) perPartitionDuplicates[r.partition] = (perPartitionDuplicates[r.partition] ?? 0) + (r.end - r.start + 1);
  const distinctPerPartition: Record<number, number> = {};
  for (const key of seenOffsets) {
    const p = Number(key.split(':')[0]);
    distinctPerPartition[p] = (distinctPerPartition[p] ?? 0) + 1;
  }
  for (const p of Object.keys(perPartitionDuplicates)) perPartitionDuplicates[Number(p)]! -= distinctPerPartition[Number(p)] ?? 0;
  return {
    deliveries,
    distinct: seenOffsets.size,
    duplicates: deliveries - seenOffsets.size,
    uncommittedAtHandover: runs.reduce((n, r) => n + tail(r), 0),
    runs: runs.length,
    missing: missing.slice(0, 20),
    unexpected: unexpected.slice(0, 20),
    badResumes: badResumes.slice(0, 20),
    resumesBelowCommit: resumesBelowCommit.slice(0, 20),
    perPartitionDuplicates,
  };
}

export function values(prefix: string, from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);
}

// ---------------------------------------------------------------------------------------------------------
// Members as separate processes

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** SIGKILLs every member process still running (call from afterAll, next to cleanupAll). */
export async function killMembers(): Promise<void> {
  await Promise.all([...children].map((c) => new Promise<void>((resolve) => {
    c.once('close', () => resolve());
    c.kill('SIGKILL');
  })));
}

/** A member process whose stdout lines are timestamped (test clock) as they arrive. */
export interface MemberProcess {
  readonly name: string;
  lines(): Array<{ line: string; atMs: number }>;
  stderr(): string;
  /** stderr lines about commits on revoke (librdkafka debug output), kept in full. */
  commitLog(): string[];
  running(): boolean;
  /** SIGTERM (kcat and member.py close cleanly: LeaveGroup) and wait for the exit. */
  stop(): Promise<number | null>;
  exited(): Promise<number | null>;
}

function spawnMember(name: string, cmd: string, args: string[]): MemberProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
  children.add(child);
  const lines: Array<{ line: string; atMs: number }> = [];
  let partial = '';
  let err = '';
  let errPartial = '';
  const commitLog: string[] = [];
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const now = Date.now();
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      lines.push({ line: partial.slice(0, nl), atMs: now });
      partial = partial.slice(nl + 1);
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    err += text;
    if (err.length > 200_000) err = err.slice(-100_000);
    errPartial += text;
    let nl: number;
    while ((nl = errPartial.indexOf('\n')) >= 0) {
      const line = errPartial.slice(0, nl);
      errPartial = errPartial.slice(nl + 1);
      if (/REMOVE\|.*Removing .* from assignment|COMMIT\|.*returned:/.test(line)) commitLog.push(line);
    }
  });
  const exit = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      children.delete(child);
      resolve(code);
    });
    child.on('error', () => resolve(null));
  });
  return {
    name,
    lines: () => lines,
    stderr: () => err,
    commitLog: () => commitLog,
    running: () => child.exitCode === null && child.signalCode === null,
    exited: () => exit,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exit;
    },
  };
}

/**
 * Settles like `work`, but rejects as soon as one of `members` exits first (with its exit code and the end
 * of its stderr): a member that crashed at start-up shows up as itself, not as a group that never fills up.
 */
export async function whileRunning<T>(members: Iterable<MemberProcess>, work: Promise<T>): Promise<T> {
  let settled = false;
  const exitedEarly = new Promise<never>((_, reject) => {
    for (const m of members) {
      void m.exited().then((code) => {
        if (!settled) reject(new Error(`member ${m.name} exited (code ${code}) while it should be running:\n${m.stderr().slice(-2000)}`));
      });
    }
  });
  try {
    return await Promise.race([work, exitedEarly]);
  } finally {
    settled = true;
  }
}

export const PY_GROUPS_DIR = path.join(REPO_ROOT, 'test/compat/py-groups');

export interface PyMemberOptions {
  client: 'confluent' | 'kafka-python';
  bootstrap: string;
  topic: string;
  group: string;
  commitEvery?: number;
  commitAtEnd?: boolean;
  commitOnRevoke?: boolean;
  max?: number;
  expect?: number;
  idleSeconds?: number;
  timeoutSeconds?: number;
}

export function pyMember(name: string, o: PyMemberOptions): MemberProcess {
  // member.py parses these with argparse type=int: a fractional value (e.g. COUNT / 30 + 50) makes it exit at
  // once with status 2, and the group simply never sees that member. Refuse it here, loudly.
  for (const [option, value] of [['commitEvery', o.commitEvery], ['max', o.max], ['expect', o.expect]] as const) {
    if (value !== undefined && !Number.isSafeInteger(value)) throw new Error(`pyMember ${name}: ${option} must be an integer, got ${value}`);
  }
  const args = ['-u', path.join(PY_GROUPS_DIR, 'member.py'), '--client', o.client, '--bootstrap', o.bootstrap, '--topic', o.topic, '--group', o.group];
  if (o.commitEvery) args.push('--commit-every', String(o.commitEvery));
  if (o.commitAtEnd) args.push('--commit-at-end');
  if (o.commitOnRevoke) args.push('--commit-on-revoke');
  if (o.max) args.push('--max', String(o.max));
  if (o.expect !== undefined) args.push('--expect', String(o.expect));
  if (o.idleSeconds) args.push('--idle-seconds', String(o.idleSeconds));
  args.push('--timeout-seconds', String(o.timeoutSeconds ?? 150));
  return spawnMember(name, PYTHON, args);
}

interface PyLine {
  e: 'ready' | 'assigned' | 'revoked' | 'm' | 'c' | 'cerr' | 'err' | 'done';
  p?: number | number[];
  o?: number;
  v?: string;
  why?: string;
  n?: number;
}

export function pyLines(m: MemberProcess): PyLine[] {
  return m.lines().filter((l) => l.line.startsWith('{')).map((l) => JSON.parse(l.line) as PyLine);
}

/** Parsed events of a member, parsed incrementally (members print tens of thousands of lines). */
function incremental(m: MemberProcess, cache: WeakMap<MemberProcess, { upTo: number; events: MemberEvent[] }>, parse: (line: string, atMs: number) => MemberEvent | null): MemberEvent[] {
  let c = cache.get(m);
  if (!c) cache.set(m, (c = { upTo: 0, events: [] }));
  const lines = m.lines();
  for (; c.upTo < lines.length; c.upTo++) {
    const { line, atMs } = lines[c.upTo]!;
    if (!line.startsWith('{')) continue;
    const e = parse(line, atMs);
    if (e) c.events.push(e);
  }
  return c.events;
}

const pyCache = new WeakMap<MemberProcess, { upTo: number; events: MemberEvent[] }>();
export function pyEvents(m: MemberProcess): MemberEvent[] {
  return incremental(m, pyCache, (line, atMs) => {
    const l = JSON.parse(line) as PyLine;
    if (l.e === 'm') return { kind: 'm', partition: l.p as number, offset: l.o!, value: l.v!, atMs };
    if (l.e === 'c') return { kind: 'c', partition: l.p as number, offset: l.o! };
    if (l.e === 'assigned' || l.e === 'revoked') return { kind: 'r', partitions: l.p as number[] };
    return null;
  });
}

/** Distinct record values processed by any of the members. */
export function distinctValues(members: Iterable<MemberProcess>, events: (m: MemberProcess) => MemberEvent[]): number {
  const seen = new Set<string>();
  for (const m of members) for (const e of events(m)) if (e.kind === 'm') seen.add(e.value);
  return seen.size;
}

export function pyErrors(m: MemberProcess): string[] {
  return pyLines(m).filter((l) => l.e === 'err' || l.e === 'cerr').map((l) => `${m.name} ${l.e}: ${l.why}`);
}

/** Processed-record count and whether the member has reported its first assignment. */
export function pyProgress(m: MemberProcess): { processed: number; assigned: boolean; done: boolean } {
  let processed = 0;
  let assigned = false;
  let done = false;
  for (const { line } of m.lines()) {
    if (line.startsWith('{"e":"m"')) processed++;
    else if (line.startsWith('{"e":"assigned"')) assigned = true;
    else if (line.startsWith('{"e":"done"')) done = true;
  }
  return { processed, assigned, done };
}

export const KCAT_AUTO_COMMIT_INTERVAL_MS = 200;

/** A kcat balanced consumer (-G): JSON line per record; SIGTERM makes it commit, leave the group and exit. */
export function kcatMember(name: string, bootstrap: string, group: string, topic: string, extra: string[] = []): MemberProcess {
  return spawnMember(name, KCAT, [
    '-b', bootstrap, '-G', group, topic, '-J', '-u',
    '-X', 'auto.offset.reset=earliest',
    '-X', `auto.commit.interval.ms=${KCAT_AUTO_COMMIT_INTERVAL_MS}`,
    '-X', 'session.timeout.ms=10000', '-X', 'heartbeat.interval.ms=500',
    // cgrp,topic debug logs the stored offset of every partition removed from the assignment (revoke, close),
    // which librdkafka then commits: the test's only view of kcat's commits.
    '-X', 'debug=cgrp,topic',
    ...extra,
  ]);
}

const kcatCache = new WeakMap<MemberProcess, { upTo: number; events: MemberEvent[] }>();
export function kcatEvents(m: MemberProcess): MemberEvent[] {
  return incremental(m, kcatCache, (line, atMs) => {
    const j = JSON.parse(line) as { partition: number; offset: number; payload: string };
    return { kind: 'm', partition: j.partition, offset: j.offset, value: j.payload, atMs };
  });
}

/**
 * Offsets kcat committed when partitions were taken away (rebalance revoke or close): the stored offset of each
 * removed partition, provided every such "unassigned partitions" OffsetCommit returned Success (if any failed,
 * none are trusted and the bound falls back to whole runs). Periodic auto-commits are not visible.
 */
export function kcatRevokeCommits(m: MemberProcess, topic: string): Array<{ partition: number; offset: number }> {
  const out: Array<{ partition: number; offset: number }> = [];
  let allSucceeded = true;
  const removed = new RegExp(`Removing ${topic.replace(/[-.]/g, '\\$&')} \\[(\\d+)\\] from assignment .*stored offset=(-?\\d+)`);
  for (const line of m.commitLog()) {
    const r = removed.exec(line);
    if (r) {
      if (Number(r[2]) >= 0) out.push({ partition: Number(r[1]), offset: Number(r[2]) });
    } else if (/unassigned partitions: returned:/.test(line) && !/returned: Success/.test(line)) {
      allSucceeded = false;
    }
  }
  return allSucceeded ? out : [];
}

export function kcatCount(m: MemberProcess): number {
  let n = 0;
  for (const { line } of m.lines()) if (line.startsWith('{')) n++;
  return n;
}

export async function waitForCount(what: string, count: () => number, target: number, timeoutMs: number): Promise<void> {
  await waitFor(() => count() >= target, { timeoutMs, intervalMs: 100, what: `${what} (have ${count()} of ${target})` });
}

// ---------------------------------------------------------------------------------------------------------
// Group APIs on the wire (non-flexible versions), independent of @fluxo/protocol

export const GROUP_API = { OffsetCommit: 8, JoinGroup: 11, Heartbeat: 12, SyncGroup: 14, DescribeGroups: 15 } as const;

export class WireOut {
  private parts: Buffer[] = [];
  int16(v: number): this { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  int32(v: number): this { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this; }
  int64(v: number): this { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); this.parts.push(b); return this; }
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    this.int16(b.length);
    this.parts.push(b);
    return this;
  }
  bytes(b: Buffer): this { this.int32(b.length); this.parts.push(b); return this; }
  done(): Buffer { return Buffer.concat(this.parts); }
}

export class WireIn {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  int16(): number { const v = this.buf.readInt16BE(this.pos); this.pos += 2; return v; }
  int32(): number { const v = this.buf.readInt32BE(this.pos); this.pos += 4; return v; }
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  array<T>(item: () => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }
}

/** ConsumerProtocolSubscription v0: the member metadata a consumer sends in JoinGroup. */
export function subscriptionV0(topics: string[], userData: Buffer = Buffer.alloc(0)): Buffer {
  const o = new WireOut().int16(0).int32(topics.length);
  for (const t of topics) o.string(t);
  return o.bytes(userData).done();
}

/** JoinGroup v1 body (no member id required handshake before v4). */
export function joinGroupV1(groupId: string, memberId: string, protocolType: string, protocols: Array<[string, Buffer]>): Buffer {
  const o = new WireOut().string(groupId).int32(10_000).int32(10_000).string(memberId).string(protocolType).int32(protocols.length);
  for (const [name, metadata] of protocols) o.string(name).bytes(metadata);
  return o.done();
}

export function decodeJoinGroupV1(frame: Buffer): { errorCode: number; generationId: number; memberId: string } {
  const r = new WireIn(frame);
  r.int32(); // correlation id
  const errorCode = r.int16();
  const generationId = r.int32();
  r.string(); // protocol name
  r.string(); // leader
  const memberId = r.string() ?? '';
  return { errorCode, generationId, memberId };
}

export function syncGroupV0(groupId: string, generationId: number, memberId: string): Buffer {
  return new WireOut().string(groupId).int32(generationId).string(memberId).int32(0).done();
}

export function heartbeatV0(groupId: string, generationId: number, memberId: string): Buffer {
  return new WireOut().string(groupId).int32(generationId).string(memberId).done();
}

/** SyncGroup v0 and Heartbeat v0 responses both start with the error code. */
export function decodeErrorCodeV0(frame: Buffer): number {
  return frame.readInt16BE(4);
}

export function offsetCommitV2(groupId: string, generationId: number, memberId: string, offsets: Array<[string, number, number]>): Buffer {
  const byTopic = new Map<string, Array<[number, number]>>();
  for (const [t, p, o] of offsets) byTopic.set(t, [...(byTopic.get(t) ?? []), [p, o]]);
  const w = new WireOut().string(groupId).int32(generationId).string(memberId).int64(-1).int32(byTopic.size);
  for (const [t, parts] of byTopic) {
    w.string(t).int32(parts.length);
    for (const [p, o] of parts) w.int32(p).int64(o).string('');
  }
  return w.done();
}

export function decodeOffsetCommitV2(frame: Buffer): Array<[string, number, number]> {
  const r = new WireIn(frame);
  r.int32();
  const out: Array<[string, number, number]> = [];
  r.array(() => {
    const t = r.string() ?? '';
    r.array(() => out.push([t, r.int32(), r.int16()]));
  });
  return out;
}

export function describeGroupsV0(groups: string[]): Buffer {
  const o = new WireOut().int32(groups.length);
  for (const g of groups) o.string(g);
  return o.done();
}

export function decodeDescribeGroupsV0(frame: Buffer): Array<{ errorCode: number; groupId: string; state: string; protocolType: string; protocol: string; members: string[] }> {
  const r = new WireIn(frame);
  r.int32();
  return r.array(() => {
    const errorCode = r.int16();
    const groupId = r.string() ?? '';
    const state = r.string() ?? '';
    const protocolType = r.string() ?? '';
    const protocol = r.string() ?? '';
    const members = r.array(() => {
      const id = r.string() ?? '';
      r.string();
      r.string();
      r.bytes();
      r.bytes();
      return id;
    });
    return { errorCode, groupId, state, protocolType, protocol, members };
  });
}
