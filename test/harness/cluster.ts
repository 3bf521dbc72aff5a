import { readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { runCommand } from './command.js';
import { makeTempDir } from './node.js';
import type { LaunchedNode } from '../../packages/cli/src/cluster/launcher.js';
import { CLI_MAIN } from './paths.js';

/** One node of a cluster started with `fluxo cluster up`, as its cluster.json describes it. */
export type ClusterNodeInfo = Readonly<LaunchedNode>;

export interface LaunchedCluster {
  readonly dataDir: string;
  readonly bootstrap: string;
  readonly clusterId: string;
  /** Current layout (pids change when nodes restart). */
  nodes(): Promise<ClusterNodeInfo[]>;
  node(nodeId: number): Promise<ClusterNodeInfo>;
  /** `kill -9` of one node. */
  kill9(nodeId: number): Promise<void>;
  /** `fluxo cluster up` again: restarts every node that is not running. */
  up(): Promise<void>;
  /** `fluxo cluster down` and remove the data. */
  destroy(): Promise<void>;
  /** The node's log so far (for assertions and failure messages). */
  log(nodeId: number): Promise<string>;
}

export interface LaunchOptions {
  controllers?: number;
  brokers?: number;
  racks?: string[];
  set?: Record<string, string>;
}

/** A base port whose cluster ports (controllers, brokers, replication, metrics) are free right now. */
async function freeBasePort(controllers: number, brokers: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 400) * 100;
    const ports = [
      ...Array.from({ length: controllers }, (_, i) => base + i + 1),
      ...Array.from({ length: brokers }, (_, j) => base + 101 + j),
      ...Array.from({ length: brokers }, (_, j) => base + 151 + j),
      ...Array.from({ length: controllers + brokers }, (_, i) => base + 200 + i),
    ];
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range for a test cluster');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Starts a cluster of separate processes through the CLI launcher (the real `fluxo cluster up`). */
export async function launchCluster(opts: LaunchOptions = {}): Promise<LaunchedCluster> {
  const controllers = opts.controllers ?? 3;
  const brokers = opts.brokers ?? 3;
  const dataDir = await makeTempDir('fluxo-cluster-');
  const basePort = await freeBasePort(controllers, brokers);
  const args = [CLI_MAIN, 'cluster', 'up', '--data-dir', dataDir, '--controllers', String(controllers), '--brokers', String(brokers), '--base-port', String(basePort)];
  if (opts.racks !== undefined) args.push('--racks', opts.racks.join(','));
  for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set', `${k}=${v}`);
  const up = await runCommand(process.execPath, args, { timeoutMs: 90_000 });
  if (up.code !== 0) {
    // Stop whatever did start, so a failed launch leaks no processes.
    await runCommand(process.execPath, [CLI_MAIN, 'cluster', 'down', '--data-dir', dataDir], { timeoutMs: 90_000 }).catch(() => undefined);
    throw new Error(`fluxo cluster up failed (${up.code}${up.timedOut ? ', timed out' : ''}): ${up.stderr}\n${up.stdout.toString()}`);
  }
  const lines = up.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines[lines.length - 1] as { clusterId: string; bootstrap: string };

  const readNodes = async (): Promise<ClusterNodeInfo[]> => (JSON.parse(await readFile(path.join(dataDir, 'cluster.json'), 'utf8')) as { nodes: ClusterNodeInfo[] }).nodes;
  const cluster: LaunchedCluster = {
    dataDir,
    bootstrap: summary.bootstrap,
    clusterId: summary.clusterId,
    nodes: readNodes,
    async node(nodeId) {
      const n = (await readNodes()).find((x) => x.nodeId === nodeId);
      if (n === undefined) throw new Error(`no node ${nodeId} in the cluster`);
      return n;
    },
    async kill9(nodeId) {
      const n = await cluster.node(nodeId);
      process.kill(n.pid, 'SIGKILL');
      // Until it is really gone (its ports free): a zombie without a reaper counts as gone.
      for (let i = 0; i < 200; i++) {
        try {
          process.kill(n.pid, 0);
          const stat = await readFile(`/proc/${n.pid}/stat`, 'utf8');
          if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return;
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async up() {
      const r = await runCommand(process.execPath, [CLI_MAIN, 'cluster', 'up', '--data-dir', dataDir], { timeoutMs: 90_000 });
      if (r.code !== 0) throw new Error(`fluxo cluster up (restart) failed (${r.code}): ${r.stderr}`);
    },
    async destroy() {
      await runCommand(process.execPath, [CLI_MAIN, 'cluster', 'down', '--data-dir', dataDir], { timeoutMs: 90_000 });
      await rm(dataDir, { recursive: true, force: true });
    },
    async log(nodeId) {
      return readFile((await cluster.node(nodeId)).logFile, 'utf8');
    },
  };
  return cluster;
}
