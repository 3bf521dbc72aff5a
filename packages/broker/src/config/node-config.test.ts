import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@fluxo/common';
import { parseListener } from './listeners.js';
import { resolveNodeConfig } from './node-config.js';

describe('resolveNodeConfig', () => {
  it('maps --host/--port/--data-dir onto listeners and log.dirs', () => {
    const c = resolveNodeConfig({ dataDir: '/tmp/x', host: '0.0.0.0', port: 19092, env: {} });
    expect(c.string('log.dirs')).toBe('/tmp/x');
    expect(c.list('listeners')).toEqual(['PLAINTEXT://0.0.0.0:19092']);
    const onlyPort = resolveNodeConfig({ port: 0, env: {}, set: { listeners: 'PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093' } });
    expect(onlyPort.list('listeners')).toEqual(['PLAINTEXT://localhost:0', 'CONTROLLER://localhost:9093']);
  });

  it('layers defaults < file < FLUXO_ env < --set < flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fluxo-cfg-'));
    const file = join(dir, 'server.properties');
    await writeFile(file, 'num.partitions=3\nlog.dirs=/from/file\nsome.other.component=1\n# comment\nnode.id=4\n');
    try {
      const c = resolveNodeConfig({ file, env: { FLUXO_NUM_PARTITIONS: '5', FLUXO_LOG_LEVEL: 'debug', FLUXO_NODE_ID: '6' }, set: { 'node.id': '7' }, dataDir: '/from/flag' });
      expect(c.number('num.partitions')).toBe(5);
      expect(c.number('node.id')).toBe(7);
      expect(c.string('log.dirs')).toBe('/from/flag');
      expect(c.unknown).toEqual(['some.other.component']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('applies Kafka retention precedence: ms > minutes > hours', () => {
    expect(resolveNodeConfig({ env: {} }).number('log.retention.ms')).toBe(7 * 24 * 3600_000);
    expect(resolveNodeConfig({ env: {}, set: { 'log.retention.hours': '2' } }).number('log.retention.ms')).toBe(2 * 3600_000);
    expect(resolveNodeConfig({ env: {}, set: { 'log.retention.hours': '2', 'log.retention.minutes': '3' } }).number('log.retention.ms')).toBe(3 * 60_000);
    expect(resolveNodeConfig({ env: {}, set: { 'log.retention.minutes': '3', 'log.retention.ms': '5' } }).number('log.retention.ms')).toBe(5);
    expect(resolveNodeConfig({ env: {}, set: { 'log.retention.hours': '-1' } }).number('log.retention.ms')).toBe(-1);
    expect(resolveNodeConfig({ env: {}, set: { 'log.roll.hours': '1' } }).number('log.roll.ms')).toBe(3600_000);
  });

  it('rejects unknown --set keys, bad values and bad listeners with the key named', () => {
    expect(() => resolveNodeConfig({ env: {}, set: { 'no.such': '1' } })).toThrow(ConfigError);
    expect(() => resolveNodeConfig({ env: {}, set: { 'num.partitions': 'many' } })).toThrow(/num.partitions/);
    expect(() => resolveNodeConfig({ env: {}, set: { listeners: 'localhost:9092' } })).toThrow(/listeners/);
    expect(() => resolveNodeConfig({ env: {}, set: { listeners: 'SSL://h:1' } })).toThrow(/PLAINTEXT/);
    expect(() => resolveNodeConfig({ env: {}, port: 70000 })).toThrow(/port/);
  });

  it('parses listener forms', () => {
    expect(parseListener('l', 'PLAINTEXT://:9092')).toEqual({ name: 'PLAINTEXT', host: '', port: 9092 });
    expect(parseListener('l', 'plaintext://[::1]:9092')).toEqual({ name: 'PLAINTEXT', host: '::1', port: 9092 });
  });
});
