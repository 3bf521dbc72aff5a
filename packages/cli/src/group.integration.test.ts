// Spawns the built CLI (packages/cli/dist/main.js): build first with `npx tsc -b packages/cli`.
import { spawn } from 'node:child_process';
import { Admin } from '@fluxo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, fluxo, startCliNode, type CliNode } from './testing/cli-process.js';

let cliNode: CliNode;
let bootstrap: string;
let admin: Admin;

beforeAll(async () => {
  cliNode = await startCliNode(['--set', 'group.initial.rebalance.delay.ms=0', '--set', 'offsets.topic.num.partitions=4']);
  bootstrap = cliNode.bootstrap;
  admin = new Admin({ brokers: bootstrap });
  await admin.connect();
});

afterAll(async () => {
  await admin?.close();
  await cliNode?.stop();
});

interface OffsetRow {
  topic: string;
  partition: number;
  current: number | null;
  logEnd: number;
  lag: number | null;
  consumer: string;
}

/** The OFFSETS table of `fluxo group describe`. */
function offsetRows(stdout: string): OffsetRow[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => /^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID$/.test(l));
  expect(start, stdout).toBeGreaterThan(0);
  const rows: OffsetRow[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const [topic, partition, current, logEnd, lag, consumer] = line.split(/\s+/);
    rows.push({
      topic: topic!,
      partition: Number(partition),
      current: current === '-' ? null : Number(current),
      logEnd: Number(logEnd),
      lag: lag === '-' ? null : Number(lag),
      consumer: consumer!,
    });
  }
  return rows;
}

describe('fluxo group', () => {
  it('consume --group commits what it printed; describe shows lag = log end - committed (checked against ListOffsets)', async () => {
    const b = ['-b', bootstrap];
    expect((await fluxo(['topic', 'create', 'lagged', '-p', '3', ...b])).code).toBe(0);
    const lines = Array.from({ length: 30 }, (_, i) => `k${i}:v${i}`);
    expect((await fluxo(['produce', 'lagged', '--key-separator', ':', ...b], lines.join('\n') + '\n')).code).toBe(0);

    const first = await fluxo(['consume', 'lagged', '--group', 'cli-g', '--from-beginning', '-n', '12', '-f', '%p %o %v\\n', ...b]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('Processed a total of 12 messages\n');

    const listed = await fluxo(['group', 'list', ...b]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^GROUP\s+PROTOCOL-TYPE\s+STATE\n/);
    expect(listed.stdout).toMatch(/\ncli-g\s+consumer\s+Empty\n/);

    const described = await fluxo(['group', 'describe', 'cli-g', ...b]);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(/^GROUP\s+cli-g\nCOORDINATOR\s+1 \(127\.0\.0\.1:\d+\)\nSTATE\s+Empty\n/);
    // An inactive group shows the partitions it committed for (the printed records may not cover all three).
    const rows = offsetRows(described.stdout);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => [0, 1, 2].includes(r.partition) && r.topic === 'lagged' && r.consumer === '-')).toBe(true);
    const ends = await admin.listOffsets('lagged', 'latest');
    const committed = await admin.fetchOffsets({ groupId: 'cli-g' });
    for (const r of rows) {
      expect(r.logEnd).toBe(ends.find((e) => e.partition === r.partition)!.offset);
      expect(r.current).toBe(committed.find((c) => c.partition === r.partition)!.offset);
      expect(r.lag).toBe(r.logEnd - r.current!);
    }
    // Exactly the 12 printed records were committed; TOTAL-LAG sums the rows.
    expect(rows.reduce((s, r) => s + r.current!, 0)).toBe(12);
    expect(described.stdout).toContain(`\nTOTAL-LAG    ${rows.reduce((s, r) => s + r.lag!, 0)}\n`);

    // The next member of the group continues after them: no record printed twice, none skipped
    // (--from-beginning only matters for partitions the group has no offset for).
    const second = await fluxo(['consume', 'lagged', '--group', 'cli-g', '--from-beginning', '-n', '18', '-f', '%p %o %v\\n', ...b]);
    expect(second.code, second.stderr).toBe(0);
    const all = [...first.stdout.trimEnd().split('\n'), ...second.stdout.trimEnd().split('\n')];
    expect(new Set(all).size).toBe(30);
    expect(all.map((l) => l.split(' ')[2]).sort()).toEqual(lines.map((l) => l.split(':')[1]).sort());
    const after = offsetRows((await fluxo(['group', 'describe', 'cli-g', ...b])).stdout);
    expect(after.every((r) => r.lag === 0)).toBe(true);
  });

  it('describes a running member with its assignment', async () => {
    const b = ['-b', bootstrap];
    expect((await fluxo(['topic', 'create', 'live', '-p', '2', ...b])).code).toBe(0);
    const child = spawn(process.execPath, [MAIN, 'consume', 'live', '--group', 'live-g', ...b], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await expect
        .poll(async () => (await fluxo(['group', 'describe', 'live-g', ...b])).stdout, { timeout: 20_000, interval: 300 })
        .toMatch(/STATE\s+Stable\n/);
      const described = await fluxo(['group', 'describe', 'live-g', ...b]);
      expect(described.stdout).toMatch(/\nMEMBERS\s+1\n/);
      expect(described.stdout).toMatch(/\nCONSUMER-ID\s+INSTANCE-ID\s+HOST\s+CLIENT-ID\s+#PARTITIONS\s+ASSIGNMENT\n\S+\s+-\s+\S+\s+fluxo-cli\s+2\s+live:0,1\n/);
      const rows = offsetRows(described.stdout);
      expect(rows.map((r) => [r.partition, r.current, r.lag])).toEqual([
        [0, null, null],
        [1, null, null],
      ]);
      expect(rows.every((r) => r.consumer !== '-')).toBe(true);
      // A group with members cannot be reset or deleted.
      const reset = await fluxo(['group', 'reset-offsets', 'live-g', '--topic', 'live', '--to-earliest', ...b]);
      expect(reset.code).toBe(1);
      expect(reset.stderr).toMatch(/inactive.*Stable.*NON_EMPTY_GROUP/);
      const del = await fluxo(['group', 'delete', 'live-g', ...b]);
      expect(del.code).toBe(1);
      expect(del.stderr).toBe('fluxo: group live-g has active members (NON_EMPTY_GROUP)\n');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    // SIGINT leaves the group gracefully.
    await expect.poll(async () => (await fluxo(['group', 'describe', 'live-g', ...b])).stdout, { timeout: 10_000 }).toMatch(/STATE\s+Empty\n/);
  });

  it('reset-offsets is a dry run unless --execute; every strategy; delete removes the group', async () => {
    const b = ['-b', bootstrap];
    expect((await fluxo(['topic', 'create', 'resettable', '-p', '2', ...b])).code).toBe(0);
    const beforeMs = Date.now();
    expect((await fluxo(['produce', 'resettable', '-p', '0', ...b], Array.from({ length: 10 }, (_, i) => `a${i}`).join('\n') + '\n')).code).toBe(0);
    expect((await fluxo(['produce', 'resettable', '-p', '1', ...b], Array.from({ length: 6 }, (_, i) => `b${i}`).join('\n') + '\n')).code).toBe(0);
    await admin.alterOffsets({ groupId: 'reset-g', offsets: [{ topic: 'resettable', partition: 0, offset: 4 }, { topic: 'resettable', partition: 1, offset: 2 }] });
    const committed = async (): Promise<number[]> => (await admin.fetchOffsets({ groupId: 'reset-g' })).map((o) => o.offset);

    const dry = await fluxo(['group', 'reset-offsets', 'reset-g', '--topic', 'resettable', '--to-earliest', ...b]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(
      'GROUP    TOPIC       PARTITION  CURRENT-OFFSET  NEW-OFFSET\nreset-g  resettable  0          4               0\nreset-g  resettable  1          2               0\n',
    );
    expect(dry.stderr).toMatch(/^Dry run: nothing was committed/);
    expect(await committed()).toEqual([4, 2]);

    const run = async (...args: string[]): Promise<number[]> => {
      const r = await fluxo(['group', 'reset-offsets', 'reset-g', ...args, '--execute', ...b]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^Committed new offsets for \d+ partitions? of group reset-g\.\n$/);
      return committed();
    };
    expect(await run('--topic', 'resettable', '--to-earliest')).toEqual([0, 0]);
    expect(await run('--all-topics', '--to-latest')).toEqual([10, 6]);
    expect(await run('--all-topics', '--shift-by', '-3')).toEqual([7, 3]);
    expect(await run('--topic', 'resettable:1', '--shift-by', '-100')).toEqual([7, 0]);
    expect(await run('--topic', 'resettable:0', '--to-offset', '5')).toEqual([5, 0]);
    expect(await run('--topic', 'resettable', '--to-offset', '99')).toEqual([10, 6]);
    expect(await run('--all-topics', '--to-datetime', new Date(beforeMs - 60_000).toISOString())).toEqual([0, 0]);
    expect(await run('--all-topics', '--to-datetime', String(Date.now() + 3_600_000))).toEqual([10, 6]);

    const usage = await fluxo(['group', 'reset-offsets', 'reset-g', '--topic', 'resettable', '--to-earliest', '--to-latest', ...b]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/exactly one of --to-earliest/);

    // The group now reads from the reset offsets.
    expect(await run('--topic', 'resettable:0', '--to-offset', '8')).toEqual([8, 6]);
    const consumed = await fluxo(['consume', 'resettable', '--group', 'reset-g', '-n', '2', ...b]);
    expect(consumed.stdout).toBe('a8\na9\n');

    const deleted = await fluxo(['group', 'delete', 'reset-g', ...b]);
    expect(deleted).toMatchObject({ code: 0, stdout: 'Deleted group reset-g.\n' });
    expect((await fluxo(['group', 'list', ...b])).stdout).not.toMatch(/\nreset-g\s/);
    for (const command of ['delete', 'describe']) {
      const missing = await fluxo(['group', command, 'reset-g', ...b]);
      expect(missing.code, command).toBe(1);
      expect(missing.stderr, command).toBe('fluxo: group reset-g does not exist (GROUP_ID_NOT_FOUND)\n');
    }
  });

  it('rejects --group with --partition or --offset, and prints group help', async () => {
    const b = ['-b', bootstrap];
    const r = await fluxo(['consume', 'x', '--group', 'g', '-p', '0', ...b]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--partition cannot be used with --group/);
    const assignor = await fluxo(['consume', 'x', '--group', 'g', '--assignor', 'sticky', ...b]);
    expect(assignor.code).toBe(2);
    expect(assignor.stderr).toMatch(/--assignor must be one of range, roundrobin, cooperative-sticky, not "sticky"/);
    const help = await fluxo(['group']);
    expect(help.code).toBe(2);
    expect(help.stdout).toMatch(/reset-offsets/);
  });
});
