import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControllerClient, type QuorumStatus } from '@fluxo/controller';

/** Spawns real controller processes (`fluxo start` with process.roles=controller) for multi-process tests. */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CONTROLLER_MAIN = path.join(REPO_ROOT, 'packages/cli/dist/main.js');

export interface LogLine {
  readonly msg?: string;
  readonly level?: string;
  readonly time?: string;
  readonly [key: string]: unknown;
}

export interface ClusterOptions {
  readonly size: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly brokerSessionTimeoutMs: number;
  readonly proposalTimeoutMs: number;
  readonly snapshotIntervalEntries?: number;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export class ControllerProcess {
  private child: ChildProcess | null = null;
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  /** Every JSON log line of every run of this node, in order. */
  readonly logs: LogLine[] = [];
  readonly client: ControllerClient;

  constructor(
    readonly nodeId: number,
    readonly port: number,
    readonly dataDir: string,
    private readonly args: readonly string[],
  ) {
    this.client = new ControllerClient(`127.0.0.1:${port}`, 10_000);
  }

  get raftDir(): string {
    return path.join(this.dataDir, '__cluster_metadata-0', 'raft');
  }

  running(): boolean {
    return this.child !== null;
  }

  /** Starts the process and waits for "controller started" (or for it to exit). */
  async start(timeoutMs = 15_000): Promise<void> {
    if (this.child !== null) throw new Error(`node ${this.nodeId} already running`);
    const child = spawn(process.execPath, [CONTROLLER_MAIN, ...this.args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLUXO_LOG_LEVEL: 'info' } });
    this.child = child;
    live.add(child);
    const startIndex = this.logs.length;
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ msg: line, level: 'raw' });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exit = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        live.delete(child);
        if (this.child === child) this.child = null;
        resolve({ code, signal });
      });
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.logs.slice(startIndex).some((l) => l.msg === 'controller started')) return;
      if (this.child === null) throw new Error(`node ${this.nodeId} exited during start:\n${this.logTail()}`);
      await sleep(20);
    }
    throw new Error(`node ${this.nodeId} did not start in ${timeoutMs} ms:\n${this.logTail()}`);
  }

  /** Starts a run that must fail; resolves with its exit code once it exited. */
  async startExpectingFailure(timeoutMs = 15_000): Promise<number | null> {
    await this.start(timeoutMs).then(
      () => {
        throw new Error(`node ${this.nodeId} started although it should have refused`);
      },
      () => undefined,
    );
    return (await this.exit!).code;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill(signal);
    await this.exit;
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  logTail(lines = 40): string {
    return this.logs
      .slice(-lines)
      .map((l) => JSON.stringify(l))
      .join('\n');
  }
}

export class ControllerCluster {
  private constructor(
    readonly nodes: readonly ControllerProcess[],
    private readonly baseDir: string,
    readonly options: ClusterOptions,
  ) {}

  /** Upper bound of one randomized election timeout: [electionTicks, 2 * electionTicks) ticks. */
  get maxElectionTimeoutMs(): number {
    return 2 * this.options.electionTicks * this.options.tickMs;
  }

  static async start(options: ClusterOptions): Promise<ControllerCluster> {
    if (!fs.existsSync(CONTROLLER_MAIN)) throw new Error(`${CONTROLLER_MAIN} does not exist: build first with \`npx tsc -b\``);
    const baseDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fluxo-quorum-'));
    const ports: number[] = [];
    for (let i = 0; i < options.size; i++) ports.push(await freePort());
    const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',');
    const nodes = ports.map((port, i) => {
      const nodeId = i + 1;
      const dataDir = path.join(baseDir, `node-${nodeId}`);
      const set = {
        'node.id': String(nodeId),
        'process.roles': 'controller',
        'controller.quorum.voters': voters,
        listeners: `CONTROLLER://127.0.0.1:${port}`,
        // The raft tick is a tenth of the election timeout.
        'controller.quorum.election.timeout.ms': String(options.tickMs * options.electionTicks),
        'broker.session.timeout.ms': String(options.brokerSessionTimeoutMs),
        'controller.quorum.request.timeout.ms': String(Math.ceil(options.proposalTimeoutMs / 2)),
        ...(options.snapshotIntervalEntries !== undefined ? { 'metadata.snapshot.interval.entries': String(options.snapshotIntervalEntries) } : {}),
      };
      const args = ['start', '--data-dir', dataDir, ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`])];
      return new ControllerProcess(nodeId, port, dataDir, args);
    });
    const cluster = new ControllerCluster(nodes, baseDir, options);
    await Promise.all(nodes.map((n) => n.start()));
    return cluster;
  }

  node(id: number): ControllerProcess {
    const n = this.nodes[id - 1];
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Polls the given (running, not paused) nodes until one is leader and all of them agree on it. */
  async waitForLeader(among: readonly ControllerProcess[] = this.nodes.filter((n) => n.running()), timeoutMs = 20_000, exclude?: number): Promise<{ leader: ControllerProcess; status: QuorumStatus }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await Promise.all(among.map((n) => n.client.describeQuorum().catch(() => null)));
      const leaders = statuses.filter((s): s is QuorumStatus => s !== null && s.role === 'leader' && s.leaderId !== exclude);
      if (leaders.length === 1) {
        const st = leaders[0] as QuorumStatus;
        if (statuses.every((s) => s !== null && s.leaderId === st.nodeId)) return { leader: this.node(st.nodeId), status: st };
      }
      if (Date.now() > deadline) throw new Error(`no agreed leader among ${among.map((n) => n.nodeId).join(',')}: ${JSON.stringify(statuses)}`);
      await sleep(25);
    }
  }

  async stopAll(): Promise<void> {
    for (const n of this.nodes) {
      n.resume();
      await n.kill('SIGKILL');
      n.client.close();
    }
    if (!process.env.FLUXO_KEEP_TEST_DATA) await fsp.rm(this.baseDir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a non-undefined value. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(50);
  }
}
