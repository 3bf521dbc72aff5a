#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, createRegistry } from '@fluxo/common';
import { Controller } from './controller.js';
import { parseProcessRoles, parseQuorumVoters, resolveControllerConfig } from './quorum-config.js';

/**
 * Standalone controller process (tests spawn it; `fluxo start` wires roles together later):
 *   node packages/controller/dist/main.js --node-id 1 --voters 1@127.0.0.1:p1,2@127.0.0.1:p2,3@127.0.0.1:p3
 *     --data-dir D --port P [--host H] [--tick-ms N] [--election-ticks N] [--heartbeat-ticks N]
 *     [--snapshot-interval-entries N] [--broker-session-timeout-ms N] [--proposal-timeout-ms N]
 *     [--process-roles controller]
 */
const intOpt = (values: Record<string, unknown>, key: string): number | undefined => {
  const v = values[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ConfigError(key, `must be an integer, got '${String(v)}'`);
  return n;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'node-id': { type: 'string' },
      voters: { type: 'string' },
      'data-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'tick-ms': { type: 'string' },
      'election-ticks': { type: 'string' },
      'heartbeat-ticks': { type: 'string' },
      'snapshot-interval-entries': { type: 'string' },
      'broker-session-timeout-ms': { type: 'string' },
      'proposal-timeout-ms': { type: 'string' },
      'process-roles': { type: 'string' },
    },
    strict: true,
  });
  const nodeId = intOpt(values, 'node-id');
  const logger = createLogger({ base: { nodeId, processRoles: 'controller' } });
  try {
    if (nodeId === undefined) throw new ConfigError('node.id', 'required (--node-id)');
    if (values.voters === undefined) throw new ConfigError('controller.quorum.voters', 'required (--voters)');
    if (values['data-dir'] === undefined) throw new ConfigError('log.dirs', 'required (--data-dir)');
    const roles = parseProcessRoles(values['process-roles'] ?? 'controller');
    if (roles.includes('broker')) throw new ConfigError('process.roles', 'the broker role is not wired into this entry point yet; use fluxo start');
    const voters = parseQuorumVoters(values.voters);
    const self = voters.get(nodeId);
    const overrides = {
      tickMs: intOpt(values, 'tick-ms'),
      electionTicks: intOpt(values, 'election-ticks'),
      heartbeatTicks: intOpt(values, 'heartbeat-ticks'),
      snapshotIntervalEntries: intOpt(values, 'snapshot-interval-entries'),
      brokerSessionTimeoutMs: intOpt(values, 'broker-session-timeout-ms'),
      proposalTimeoutMs: intOpt(values, 'proposal-timeout-ms'),
    };
    const config = resolveControllerConfig({
      nodeId,
      voters,
      dataDir: values['data-dir'],
      host: values.host ?? self?.host ?? '127.0.0.1',
      port: intOpt(values, 'port') ?? self?.port ?? 0,
      ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
    });
    let stopping = false;
    const controller = new Controller(config, logger, createRegistry({ defaultMetrics: true }), (err) => {
      logger.fatal({ err }, 'controller failed; exiting (state on disk is intact, restart recovers)');
      process.exit(1);
    });
    await controller.start();
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      controller.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  } catch (err) {
    logger.fatal({ err }, `controller failed to start: ${(err as Error).message}`);
    logger.flush?.();
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100);
  }
}

void main();
