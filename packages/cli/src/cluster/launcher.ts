import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `fluxo` entry point this launcher starts nodes with (same build as the running CLI). */
const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
/** The state file of a launched cluster, in its data directory. */
export const CLUSTER_FILE = 'cluster.json';

export interface LaunchSpec {
  readonly dataDir: string;
  readonly controllers: number;
  readonly brokers: number;
  readonly racks: readonly string[];
  readonly basePort: number;
  readonly host: string;
  /** Extra broker config for every node (`--set k=v`). */
  readonly set: Readonly<Record<string, string>>;
}

export interface LaunchedNode {
  readonly nodeId: number;
  readonly roles: 'controller' | 'broker';
  readonly rack: string | null;
  readonly host: string;
  /** Kafka listener (brokers) or -1. */
  readonly port: number;
  readonly controllerPort: number;
  readonly metricsPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** `fluxo start` arguments: the node is restarted with exactly these. */
  readonly args: readonly string[];
  pid: number;
}

export interface ClusterState {
  readonly clusterId: string;
  readonly bootstrap: string;
  readonly nodes: LaunchedNode[];
}

/** Ports from basePort: controllers base+1.., brokers base+100+j (Kafka), metrics base+200+nodeIndex. */
export function planCluster(spec: LaunchSpec): ClusterState {
  const clusterId = randomUUID();
  const voters = Array.from({ length: spec.controllers }, (_, i) => `${i + 1}@${spec.host}:${spec.basePort + i + 1}`).join(',');
  const common: Record<string, string> = {
    'cluster.id': clusterId,
    'controller.quorum.voters': voters,
    // Kafka's default for the offsets topic; a smaller cluster gets what it can hold.
    'offsets.topic.replication.factor': String(Math.min(3, spec.brokers)),
    ...spec.set,
  };
  const nodes: LaunchedNode[] = [];
  const node = (nodeId: number, roles: 'controller' | 'broker', index: number, rack: string | null, listeners: string, port: number, controllerPort: number): void => {
    const dataDir = join(spec.dataDir, roles === 'controller' ? `controller-${nodeId}` : `broker-${nodeId}`);
    const metricsPort = spec.basePort + 200 + index;
    const config: Record<string, string> = {
      ...common,
      'node.id': String(nodeId),
      'process.roles': roles,
      listeners,
      'metrics.port': String(metricsPort),
      ...(rack !== null ? { 'broker.rack': rack } : {}),
      ...spec.set,
    };
    const args = ['start', '--data-dir', dataDir, ...Object.entries(config).flatMap(([k, v]) => ['--set', `${k}=${v}`])];
    nodes.push({ nodeId, roles, rack, host: spec.host, port, controllerPort, metricsPort, dataDir, logFile: join(dataDir, 'node.log'), args, pid: -1 });
  };
  for (let i = 0; i < spec.controllers; i++) {
    const port = spec.basePort + i + 1;
    node(i + 1, 'controller', i, null, `CONTROLLER://${spec.host}:${port}`, -1, port);
  }
  for (let j = 0; j < spec.brokers; j++) {
    const port = spec.basePort + 100 + j + 1;
    const rack = spec.racks.length > 0 ? (spec.racks[j % spec.racks.length] as string) : null;
    node(100 + j + 1, 'broker', spec.controllers + j, rack, `PLAINTEXT://${spec.host}:${port},REPLICATION://${spec.host}:${port + 50}`, port, -1);
  }
  const bootstrap = nodes.filter((n) => n.roles === 'broker').map((n) => `${n.host}:${n.port}`).join(',');
  return { clusterId, bootstrap, nodes };
}

export async function readClusterState(dataDir: string): Promise<ClusterState | null> {
  try {
    return JSON.parse(await readFile(join(dataDir, CLUSTER_FILE), 'utf8')) as ClusterState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function writeClusterState(dataDir: string, state: ClusterState): Promise<void> {
  const tmp = join(dataDir, `${CLUSTER_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(state, null, 2));
  await rename(tmp, join(dataDir, CLUSTER_FILE));
}

/** Running (a zombie left unreaped where no init reaps orphans, e.g. in a container, counts as stopped). */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; the state letter follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

/** Starts one node in the background (its own process group), output appended to its log file. */
export async function spawnNode(node: LaunchedNode): Promise<number> {
  await mkdir(node.dataDir, { recursive: true });
  const fd = openSync(node.logFile, 'a');
  try {
    const child = spawn(process.execPath, [MAIN, ...node.args], { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start node ${node.nodeId}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Waits until the node's log says it started (brokers: registered and serving), or it died, or the timeout. */
export async function waitStarted(node: LaunchedNode, fromByte: number, timeoutMs: number): Promise<void> {
  const marker = node.roles === 'broker' ? '"msg":"Fluxo node started"' : '"msg":"Fluxo controller node started"';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await readFile(node.logFile)).subarray(fromByte).toString('utf8');
    if (text.includes(marker)) return;
    if (!isAlive(node.pid)) throw new Error(`node ${node.nodeId} exited during startup; see ${node.logFile}:\n${text.split('\n').slice(-5).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`node ${node.nodeId} did not start within ${timeoutMs} ms; see ${node.logFile}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function resolveDataDir(dir: string | undefined): string {
  return resolve(dir ?? 'fluxo-cluster');
}
