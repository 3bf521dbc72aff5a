import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BROKER_CONFIG } from './kafka-configs.js';
import { ConfigError } from './errors.js';
import { createLogger, createNodeLogger } from './logging.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createNodeLogger', () => {
  it('writes one JSON line per event with node id and roles, at the configured level', () => {
    const out = capture();
    const config = BROKER_CONFIG.resolve({ 'node.id': '7', 'process.roles': 'broker', 'log.level': 'warn' });
    const logger = createNodeLogger(config, out.stream);
    logger.info('dropped: below warn');
    logger.warn({ topic: 't' }, 'kept');
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', nodeId: 7, role: 'broker', topic: 't', msg: 'kept' });
    expect(typeof lines[0]!.time).toBe('string');
  });

  it('defaults to info with both roles', () => {
    const out = capture();
    const logger = createNodeLogger(BROKER_CONFIG.resolve({}), out.stream);
    logger.debug('dropped');
    logger.info('kept');
    expect(out.lines()).toEqual([expect.objectContaining({ level: 'info', nodeId: 1, role: 'broker,controller', msg: 'kept' })]);
  });

  it('rejects an unknown level naming the key', () => {
    expect(() => BROKER_CONFIG.resolve({ 'log.level': 'loud' })).toThrow(/log\.level/);
    expect(() => createLogger({ level: 'loud' })).toThrow(ConfigError);
    expect(() => createLogger({ level: 'loud' })).toThrow(/log\.level/);
  });
});
