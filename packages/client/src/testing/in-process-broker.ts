// Test-only: starts a real Fluxo node in this process. Lives under src/testing (excluded from the build) so
// that @fluxo/client itself never depends on broker code.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, resolveNodeConfig } from '@fluxo/broker';
import { createRegistry, silentLogger } from '@fluxo/common';

export interface TestBroker {
  broker: Broker;
  bootstrap: string;
  port: number;
  dataDir: string;
  /** Stops the node and removes its data. */
  stop(): Promise<void>;
  /** Stops the node and keeps its data (for restarts). */
  halt(): Promise<void>;
}

export async function startTestBroker(options: { set?: Record<string, string>; dataDir?: string; port?: number } = {}): Promise<TestBroker> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'fluxo-client-test-')));
  const config = resolveNodeConfig({ dataDir, host: '127.0.0.1', port: options.port ?? 0, set: options.set ?? {} });
  const broker = new Broker({ config, logger: silentLogger(), registry: createRegistry() });
  await broker.start();
  let running = true;
  const halt = async (): Promise<void> => {
    if (!running) return;
    running = false;
    await broker.stop();
  };
  return {
    broker,
    bootstrap: `${broker.host}:${broker.port}`,
    port: broker.port,
    dataDir,
    halt,
    async stop() {
      await halt();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
