import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@fluxo/common';
import { requestContext } from './router.js';

describe('request context', () => {
  it("gives handlers a logger carrying the request's api, version, correlation id and client id", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const apiLogger = createLogger({ level: 'info', base: { nodeId: 1 }, destination: sink }).child({ connectionId: 'c-1', api: 'Fetch' });
    const ctx = requestContext({ apiKey: 1, apiVersion: 11, correlationId: 77, clientId: 'billing' }, 'c-1', apiLogger, new AbortController().signal);
    expect(ctx).toMatchObject({ apiVersion: 11, correlationId: 77, clientId: 'billing', connectionId: 'c-1' });
    ctx.logger.warn({ topic: 't' }, 'fetch read failed');
    expect(ctx.logger).toBe(ctx.logger);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', nodeId: 1, connectionId: 'c-1', api: 'Fetch', apiVersion: 11, correlationId: 77, clientId: 'billing', topic: 't', msg: 'fetch read failed' });
  });
});
