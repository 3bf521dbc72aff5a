/**
 * Configuration as an operator meets it, through the built CLI: a server.properties-style file with Kafka's
 * key names, FLUXO_* environment overrides (the apache/kafka image mapping), `fluxo config check`, and a node
 * that refuses to start on a bad value with the key named.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, cleanupAll, expectSuccess, makeTempDir, runCommand } from '../harness/index.js';

/** The environment without FLUXO_* variables of the test runner, plus `extra`. */
function envWith(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLUXO_')));
  return { ...env, ...extra };
}

const fluxo = (args: string[], env: NodeJS.ProcessEnv = envWith()) => runCommand(process.execPath, [CLI_MAIN, ...args], { timeoutMs: 30_000, env });

describe('configuration', () => {
  let dir: string;
  let good: string;
  beforeAll(async () => {
    dir = await makeTempDir('config');
    good = path.join(dir, 'server.properties');
    await fsp.writeFile(
      good,
      ['# broker 101 in zone a', 'node.id=101', 'broker.rack=zone-a', 'num.partitions=6', 'log.retention.hours=48', `log.dirs=${path.join(dir, 'data')}`, 'metrics.port=9404', 'confluent.support.metrics.enable=false', ''].join('\n'),
    );
  });
  afterAll(async () => {
    await cleanupAll();
  });

  it('fluxo config check prints the effective non-default settings, env overrides included', async () => {
    const result = await fluxo(['config', 'check', good], envWith({ FLUXO_NUM_PARTITIONS: '12', FLUXO_DEFAULT_REPLICATION_FACTOR: '3' }));
    const out = expectSuccess(result);
    expect(out).toContain(`# ${good} is valid: 8 settings differ from the defaults`);
    expect(out).toContain('# from the file\nbroker.rack=zone-a\nlog.dirs=');
    expect(out).toContain('log.retention.hours=48\nmetrics.port=9404\nnode.id=101\n');
    expect(out).toContain('# from the environment (FLUXO_*)\ndefault.replication.factor=3\nnum.partitions=12\n');
    expect(out).toContain(`log.retention.ms=${48 * 3600_000}\n`);
    expect(result.stderr).toContain("warning: the configuration 'confluent.support.metrics.enable' was supplied but isn't a known config (ignored)");
  });

  it('fluxo config check exits non-zero naming the key, for the file and for an environment override', async () => {
    const bad = path.join(dir, 'bad.properties');
    await fsp.writeFile(bad, 'node.id=1\nlog.segment.bytes=ten\n');
    const fromFile = await fluxo(['config', 'check', bad]);
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toBe('fluxo: invalid config log.segment.bytes: expected an integer, got "ten"\n');
    const fromEnv = await fluxo(['config', 'check', good], envWith({ FLUXO_LOG_CLEANUP_POLICY: 'compact,shred' }));
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('invalid config log.cleanup.policy: "shred" is not one of delete, compact');
  });

  it('a node refuses to start on a bad value, naming the key, before it touches the data dir', async () => {
    const dataDir = path.join(dir, 'never');
    const result = await fluxo(['start', '--config', good, '--data-dir', dataDir, '--port', '0'], envWith({ FLUXO_METRICS_PORT: '70000' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid config metrics.port: 70000 is above the maximum 65535');
    await expect(fsp.access(dataDir)).rejects.toThrow();
    const level = await fluxo(['start', '--data-dir', dataDir, '--port', '0', '--set', 'log.level=loud']);
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('invalid config log.level: "loud" is not one of trace, debug, info, warn, error, fatal, silent');
  });
});
