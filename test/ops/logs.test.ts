/**
 * The node's logs as an operator's log pipeline sees them (`fluxo start` from the dist, stdout): one JSON line
 * per event with node id and roles, the level from FLUXO_LOG_LEVEL / log.level, request context on request
 * warnings, Kafka-style warnings for unknown config, and no line per request on the produce path at info.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, startNode, waitFor, type FluxoNode } from '../harness/index.js';
import { API, RawConnection, decodeProduceV3, produceV3Body, recordBatch, requestFrame } from '../harness/kafka-wire.js';

interface LogLine {
  level: string;
  time: string;
  msg: string;
  nodeId: number;
  role: string;
  [field: string]: unknown;
}

/** stdout lines of the node, parsed; any line that is not a JSON object fails the test. */
function logLines(node: FluxoNode): LogLine[] {
  return node
    .logTail(400)
    .split('\n')
    .filter((l) => l.startsWith('[out] '))
    .map((l) => JSON.parse(l.slice('[out] '.length)) as LogLine);
}

const savedEnv = { ...process.env };

describe('node logs', () => {
  afterEach(() => {
    process.env = { ...savedEnv };
  });
  afterAll(async () => {
    await cleanupAll();
  });

  it('are JSON lines with node id and roles, warn about unknown FLUXO_ variables, and stay quiet per request at info', async () => {
    // The spawned node inherits this environment.
    process.env.FLUXO_NOT_A_CONFIG = '1';
    delete process.env.FLUXO_LOG_LEVEL;
    const node = await startNode({ set: { 'node.id': '3' } });
    const startLines = logLines(node);
    expect(startLines.length).toBeGreaterThan(0);
    for (const line of startLines) {
      expect(line).toMatchObject({ nodeId: 3, role: 'broker,controller' });
      expect(['info', 'warn', 'error']).toContain(line.level);
      expect(Number.isNaN(Date.parse(line.time))).toBe(false);
    }
    expect(startLines.find((l) => l.msg === 'Fluxo node started')).toBeDefined();
    const unknown = startLines.find((l) => l.key === 'FLUXO_NOT_A_CONFIG');
    expect(unknown).toMatchObject({ level: 'warn' });
    expect(unknown!.msg).toMatch(/isn't a known config/);

    const c = await RawConnection.connect(node.host, node.port);
    // The first produce auto-creates the topic (one info line); the next 200 add nothing.
    let correlationId = 1;
    const produce = async (): Promise<void> => {
      const frame = requestFrame(API.Produce, 3, correlationId++, produceV3Body('quiet', 0, recordBatch([{ key: Buffer.from('k'), value: Buffer.alloc(100, 'v') }])));
      const res = decodeProduceV3(await c.request(frame));
      expect(res.partitions[0]!.errorCode).toBe(0);
    };
    await waitFor(async () => {
      try {
        await produce();
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 15_000, what: 'the first produce to an auto-created topic' });
    const before = logLines(node).length;
    for (let i = 0; i < 200; i++) await produce();
    expect(logLines(node).slice(before)).toEqual([]);

    // A malformed request: a warning carrying the request context (api, version, correlation id, client id).
    const garbage = requestFrame(API.Produce, 3, 4242, Buffer.from([0xff, 0xff, 0x00]), 'ops-log-test');
    await c.write(garbage);
    const warn = await waitFor(() => logLines(node).find((l) => l.correlationId === 4242), { timeoutMs: 10_000, what: 'the malformed-request warning' });
    expect(warn).toMatchObject({ level: 'warn', nodeId: 3, api: 'Produce', apiVersion: 3, clientId: 'ops-log-test' });
    expect(typeof warn.connectionId).toBe('string');
    c.destroy();
  });

  it('take their level from FLUXO_LOG_LEVEL', async () => {
    process.env.FLUXO_LOG_LEVEL = 'debug';
    const node = await startNode();
    const c = await RawConnection.connect(node.host, node.port);
    const accepted = await waitFor(() => logLines(node).find((l) => l.msg === 'connection accepted'), { timeoutMs: 10_000, what: 'a debug line' });
    expect(accepted).toMatchObject({ level: 'debug', nodeId: 1, role: 'broker,controller' });
    c.destroy();
  });
});
