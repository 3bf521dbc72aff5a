import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../io.js';
import { run } from '../run.js';

function capture(): { io: Io; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { io: { stdin: new PassThrough(), stdout, stderr }, out: () => out, err: () => err };
}

describe('fluxo config check', () => {
  let dir: string;
  const file = (name: string): string => join(dir, name);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxo-config-check-'));
    await writeFile(file('good.properties'), '# a node\nnode.id=4\nnum.partitions=3\nlog.retention.hours=2\nmetrics.port=9404\nlog.dirs=/var/lib/fluxo\n');
    await writeFile(file('unknown.properties'), 'num.partitions=2\nsome.plugin.setting=1\n');
    await writeFile(file('bad.properties'), 'num.partitions=3\nmetrics.port=70000\n');
    await writeFile(file('garbage.properties'), 'num.partitions=3\n=oops\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the non-default settings of a valid file as key=value lines, grouped by source', async () => {
    const c = capture();
    expect(await run(['config', 'check', file('good.properties'), '--no-env'], c.io)).toBe(0);
    expect(c.err()).toBe('');
    const lines = c.out().split('\n');
    expect(lines[0]).toBe(`# ${file('good.properties')} is valid: 6 settings differ from the defaults`);
    expect(c.out()).toContain('# from the file\nlog.dirs=/var/lib/fluxo\nlog.retention.hours=2\nmetrics.port=9404\nnode.id=4\nnum.partitions=3\n');
    expect(c.out()).toContain('# derived (e.g. log.retention.hours -> log.retention.ms)\nlog.retention.ms=7200000\n');
  });

  it('applies FLUXO_* environment overrides and --set over the file, and says where each value came from', async () => {
    const saved = { ...process.env };
    process.env.FLUXO_NUM_PARTITIONS = '8';
    process.env.FLUXO_LOG_LEVEL = 'debug';
    process.env.FLUXO_NUM_PARTITONS = '9';
    try {
      const c = capture();
      expect(await run(['config', 'check', file('good.properties'), '--set', 'node.id=5'], c.io)).toBe(0);
      expect(c.out()).toContain('# from the environment (FLUXO_*)\nlog.level=debug\nnum.partitions=8\n');
      expect(c.out()).toContain('# from --set\nnode.id=5\n');
      expect(c.err()).toContain("FLUXO_NUM_PARTITONS maps to 'num.partitons', which isn't a known config (ignored); did you mean 'num.partitions'?");
    } finally {
      process.env = saved;
    }
  });

  it('warns about unknown keys like Kafka and stays valid, unless --strict', async () => {
    const lenient = capture();
    expect(await run(['config', 'check', file('unknown.properties'), '--no-env'], lenient.io)).toBe(0);
    expect(lenient.err()).toBe("warning: the configuration 'some.plugin.setting' was supplied but isn't a known config (ignored)\n");
    const strict = capture();
    expect(await run(['config', 'check', file('unknown.properties'), '--no-env', '--strict'], strict.io)).toBe(2);
    expect(strict.err()).toContain('unknown some.plugin.setting');
  });

  it('fails with exit code 2 naming the key for a bad value, a bad --set, a bad line or a missing file', async () => {
    const bad = capture();
    expect(await run(['config', 'check', file('bad.properties'), '--no-env'], bad.io)).toBe(2);
    expect(bad.err()).toBe('fluxo: invalid config metrics.port: 70000 is above the maximum 65535\n');
    expect(bad.out()).toBe('');

    const set = capture();
    expect(await run(['config', 'check', file('good.properties'), '--no-env', '--set', 'listeners=localhost:9092'], set.io)).toBe(2);
    expect(set.err()).toMatch(/invalid config listeners/);

    const garbage = capture();
    expect(await run(['config', 'check', file('garbage.properties'), '--no-env'], garbage.io)).toBe(2);
    expect(garbage.err()).toMatch(/line 2 is not key=value/);

    const missing = capture();
    expect(await run(['config', 'check', file('missing.properties')], missing.io)).toBe(2);
    expect(missing.err()).toMatch(/cannot read config file/);

    const usage = capture();
    expect(await run(['config', 'check'], usage.io)).toBe(2);
    expect(usage.err()).toMatch(/missing FILE/);
  });
});
