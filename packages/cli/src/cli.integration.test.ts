// Spawns the built CLI (packages/cli/dist/main.js): build first with `npx tsc -b packages/cli`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { partitionForKey } from '@fluxo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, fluxo, startCliNode, type CliNode } from './testing/cli-process.js';

let cliNode: CliNode;
let bootstrap: string;

beforeAll(async () => {
  cliNode = await startCliNode();
  bootstrap = cliNode.bootstrap;
});

afterAll(async () => {
  // A clean SIGTERM shutdown exits 0.
  if (cliNode) expect(await cliNode.stop()).toBe(0);
});

describe('fluxo topic', () => {
  it('creates, lists, describes, alters and deletes a topic', async () => {
    const b = ['-b', bootstrap];
    const created = await fluxo(['topic', 'create', 'orders', '-p', '3', '-r', '1', '-c', 'retention.ms=3600000', ...b]);
    expect(created).toMatchObject({ code: 0, stdout: 'Created topic orders.\n' });

    const list = await fluxo(['topic', 'list', ...b]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')).toContain('orders');

    const described = await fluxo(['topic', 'describe', 'orders', ...b]);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('Topic: orders\tPartitionCount: 3\tReplicationFactor: 1');
    expect(described.stdout).toMatch(/PARTITION\s+LEADER\s+REPLICAS\s+ISR\n0\s+1\s+1\s+1\n1\s+1\s+1\s+1\n2\s+1\s+1\s+1\n/);
    expect(described.stdout).toMatch(/retention\.ms\s+3600000\s+DYNAMIC_TOPIC_CONFIG/);

    const altered = await fluxo(['topic', 'alter-config', 'orders', '--set', 'segment.ms=60000', '--delete', 'retention.ms', ...b]);
    expect(altered).toMatchObject({ code: 0, stdout: 'Altered configs of topic orders.\n' });
    const after = await fluxo(['topic', 'describe', 'orders', ...b]);
    expect(after.stdout).toMatch(/segment\.ms\s+60000\s+DYNAMIC_TOPIC_CONFIG/);
    expect(after.stdout).not.toMatch(/retention\.ms\s+3600000/);

    const again = await fluxo(['topic', 'create', 'orders', ...b]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('fluxo: topic orders already exists (TOPIC_ALREADY_EXISTS)\n');
    expect((await fluxo(['topic', 'create', 'orders', '--if-not-exists', ...b])).code).toBe(0);

    const deleted = await fluxo(['topic', 'delete', 'orders', ...b]);
    expect(deleted).toMatchObject({ code: 0, stdout: 'Deleted topic orders.\n' });
  });

  it('names a missing topic with its Kafka error', async () => {
    const b = ['-b', bootstrap];
    for (const argv of [
      ['topic', 'describe', 'nope'],
      ['topic', 'alter-config', 'nope', '--set', 'retention.ms=1'],
      ['consume', 'nope', '-n', '1'],
    ]) {
      const r = await fluxo([...argv, ...b]);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr, argv.join(' ')).toBe('fluxo: topic nope does not exist (UNKNOWN_TOPIC_OR_PARTITION)\n');
    }
    const invalid = await fluxo(['topic', 'create', 'bad', '-c', 'retention.ms=soon', ...b]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/INVALID_CONFIG/);
  });

  it('fails clearly when no broker is reachable', async () => {
    const r = await fluxo(['topic', 'list', '-b', '127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^fluxo: cannot connect to any broker .*ECONNREFUSED.*\(NETWORK_EXCEPTION\)\n$/);
  });
});

describe('fluxo produce / consume', () => {
  it('produces keyed lines with headers and consumes them with a kcat format, keys on the Java partition', async () => {
    const b = ['-b', bootstrap];
    expect((await fluxo(['topic', 'create', 'keyed', '-p', '4', ...b])).code).toBe(0);
    const lines = Array.from({ length: 50 }, (_, i) => `user-${i % 10}:event ${i}`);
    const produced = await fluxo(['produce', 'keyed', '--key-separator', ':', '-H', 'source=cli', '-H', 'v=1', ...b], lines.join('\n') + '\n');
    expect(produced.code).toBe(0);
    expect(produced.stderr).toMatch(/^Produced 50 records to topic keyed in \d+ ms/);

    const consumed = await fluxo(['consume', 'keyed', '--from-beginning', '--max-messages', '50', '--format', '%p|%k|%v|%h\\n', ...b]);
    expect(consumed.code).toBe(0);
    expect(consumed.stderr).toBe('Processed a total of 50 messages\n');
    const rows = consumed.stdout.trimEnd().split('\n').map((l) => l.split('|'));
    expect(rows).toHaveLength(50);
    for (const [partition, key, value, headers] of rows) {
      expect(Number(partition)).toBe(partitionForKey(Buffer.from(key!), 4));
      expect(value).toMatch(/^event \d+$/);
      expect(headers).toBe('source=cli,v=1');
    }
    // Order per key is production order.
    for (let k = 0; k < 10; k++) {
      const events = rows.filter((r) => r[1] === `user-${k}`).map((r) => Number(r[2]!.split(' ')[1]));
      expect(events).toEqual([...events].sort((x, y) => x - y));
    }
  });

  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    it(`round-trips lines compressed with ${compression} (json output, partition and offset selection)`, async () => {
      const b = ['-b', bootstrap];
      const topic = `codec-${compression}`;
      expect((await fluxo(['topic', 'create', topic, '-p', '2', ...b])).code).toBe(0);
      const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ${'z'.repeat(i % 17)}`);
      const produced = await fluxo(['produce', topic, '-z', compression, '--acks', 'all', '-p', '1', ...b], lines.join('\n'));
      expect(produced.code, produced.stderr).toBe(0);
      expect(produced.stderr).toContain('partition 1: 200 (offsets 0-199)');

      const consumed = await fluxo(['consume', topic, '-p', '1', '--offset', '10', '-n', '190', '-f', 'json', ...b]);
      expect(consumed.code, consumed.stderr).toBe(0);
      const records = consumed.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { partition: number; offset: number; value: string; key: null });
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 190 }, (_, i) => i + 10));
      expect(records.map((r) => r.value)).toEqual(lines.slice(10));
      expect(records.every((r) => r.partition === 1 && r.key === null)).toBe(true);

      const tail = await fluxo(['consume', topic, '-p', '1', '--offset', '-3', '-n', '3', ...b]);
      expect(tail.stdout).toBe(lines.slice(-3).join('\n') + '\n');
    });
  }

  it('follows new records until SIGINT, then exits 0 with a summary', async () => {
    const b = ['-b', bootstrap];
    expect((await fluxo(['topic', 'create', 'follow', ...b])).code).toBe(0);
    const child = spawn(process.execPath, [MAIN, 'consume', 'follow', ...b], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The consumer starts at 'latest': keep producing until it has seen something.
    await expect
      .poll(
        async () => {
          await fluxo(['produce', 'follow', ...b], 'tick\n');
          return stdout.includes('tick\n');
        },
        { timeout: 20_000, interval: 300 },
      )
      .toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/Processed a total of \d+ messages?\n/);
  });

  it('rejects a partition that does not exist', async () => {
    const b = ['-b', bootstrap];
    expect((await fluxo(['topic', 'create', 'small', '-p', '2', ...b])).code).toBe(0);
    const r = await fluxo(['consume', 'small', '-p', '5', '-n', '1', ...b]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('fluxo: partition 5 of topic small does not exist (it has 2) (UNKNOWN_TOPIC_OR_PARTITION)\n');
    const p = await fluxo(['produce', 'small', '-p', '5', ...b], 'x\n');
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/partition 5 of topic small does not exist/);
  });
});

describe('fluxo start', () => {
  it('exits 2 naming the key of a bad config', async () => {
    const r = await fluxo(['start', '--data-dir', join(cliNode.dataDir, 'unused'), '--set', 'num.partitions=zero']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^fluxo: invalid config num\.partitions: /);
    const unknown = await fluxo(['start', '--data-dir', join(cliNode.dataDir, 'unused'), '--set', 'no.such.key=1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no\.such\.key/);
  });
});
