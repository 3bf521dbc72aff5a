import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { killBackground } from './command.js';
import { CLI_MAIN, REPO_ROOT } from './paths.js';

/** A Fluxo node process under test (`fluxo start` from the built dist). */
export interface FluxoNode {
  readonly host: string;
  /** Port of the current process (restart() keeps it). */
  readonly port: number;
  /** `host:port` for -b / bootstrap.servers. */
  readonly bootstrap: string;
  readonly dataDir: string;
  readonly pid: number | undefined;
  /** True while the process runs. */
  running(): boolean;
  /** Send a signal and wait for the process to exit (kill('SIGKILL') = crash). */
  kill(signal?: NodeJS.Signals): Promise<ExitStatus>;
  /** Graceful stop (SIGTERM); throws if the node does not exit by itself in time or exits non-zero. */
  stop(): Promise<ExitStatus>;
  /** Start again on the same data dir, on the same port when it is free (stops gracefully first if running). */
  restart(): Promise<void>;
  /** Recent stdout/stderr lines, for failure messages. */
  logTail(lines?: number): string;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartNodeOptions {
  /** Reuse a data dir; by default a fresh one under os.tmpdir() is created and removed at cleanup. */
  dataDir?: string;
  /** `--set key=value` config overrides (Kafka config names). */
  set?: Record<string, string>;
  port?: number;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

const STARTED_MSG = 'Fluxo node started';
const LOG_TAIL_LINES = 400;
const live = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void>> = [];

process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Makes a fresh directory under os.tmpdir(); removed by cleanupAll(). */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `fluxo-${prefix}-`));
  cleanups.push(async () => {
    if (!process.env.FLUXO_KEEP_TEST_DATA) await fsp.rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Kills every node and background tool still running and removes temp dirs. Call from afterAll. */
export async function cleanupAll(): Promise<void> {
  await killBackground();
  const exits = [...live].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once('close', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(exits);
  const pending = cleanups.splice(0);
  for (const fn of pending) await fn();
}

export async function startNode(opts: StartNodeOptions = {}): Promise<FluxoNode> {
  if (!fs.existsSync(CLI_MAIN)) {
    throw new Error(`${CLI_MAIN} does not exist: build first with \`npx tsc -b\` (npm test does)`);
  }
  const dataDir = opts.dataDir ?? (await makeTempDir('node'));
  const host = '127.0.0.1';
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const setArgs = Object.entries(opts.set ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const tail: string[] = [];
  let child: ChildProcess | undefined;
  let exitPromise: Promise<ExitStatus> = Promise.resolve({ code: null, signal: null });
  let port = opts.port ?? 0;

  const remember = (stream: string, line: string): void => {
    tail.push(`[${stream}] ${line}`);
    if (tail.length > LOG_TAIL_LINES) tail.splice(0, tail.length - LOG_TAIL_LINES);
  };

  const launch = (requestedPort: number): Promise<number> => {
    const args = [CLI_MAIN, 'start', '--data-dir', dataDir, '--host', host, '--port', String(requestedPort), ...setArgs];
    const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    live.add(proc);
    exitPromise = new Promise((resolve) => {
      proc.once('close', (code, signal) => {
        live.delete(proc);
        resolve({ code, signal });
      });
    });
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(new Error(`node did not start (${why}): node ${args.join(' ')}\n${tail.join('\n')}`));
      };
      const timer = setTimeout(() => fail(`no "${STARTED_MSG}" line within ${startTimeoutMs} ms`), startTimeoutMs);
      // Always drain both pipes: a full pipe would block the node.
      lineReader(proc.stdout!, (line) => {
        remember('out', line);
        if (settled || !line.includes(STARTED_MSG)) return;
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: unknown };
          if (entry.msg === STARTED_MSG && typeof entry.port === 'number' && entry.port > 0) {
            settled = true;
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          /* not JSON: keep waiting */
        }
      });
      lineReader(proc.stderr!, (line) => remember('err', line));
      proc.once('close', (code, signal) => fail(`exited early: code ${code} signal ${signal}`));
      proc.once('error', (e) => fail(e.message));
    });
  };

  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> => {
    if (running()) child!.kill(signal);
    return exitPromise;
  };

  const stop = async (): Promise<ExitStatus> => {
    if (!running()) return exitPromise;
    child!.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), stopTimeoutMs);
    });
    const result = await Promise.race([exitPromise, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      await kill('SIGKILL');
      throw new Error(`node did not exit within ${stopTimeoutMs} ms of SIGTERM\n${tail.slice(-50).join('\n')}`);
    }
    if (result.code !== 0) {
      throw new Error(`node exited with code ${result.code} signal ${result.signal} on SIGTERM\n${tail.slice(-50).join('\n')}`);
    }
    return result;
  };

  port = await launch(port);

  const node: FluxoNode = {
    host,
    get port() {
      return port;
    },
    get bootstrap() {
      return `${host}:${port}`;
    },
    dataDir,
    get pid() {
      return child?.pid;
    },
    running,
    kill,
    stop,
    restart: async () => {
      if (running()) await stop();
      remember('harness', `--- restart on port ${port} ---`);
      try {
        port = await launch(port);
      } catch (err) {
        // Another process may have taken the port meanwhile (e.g. as an ephemeral client port).
        if (!(err instanceof Error) || !err.message.includes('EADDRINUSE')) throw err;
        remember('harness', `--- port ${port} taken, restarting on a new port ---`);
        port = await launch(0);
      }
    },
    logTail: (lines = 80) => tail.slice(-lines).join('\n'),
  };
  return node;
}

function lineReader(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
  stream.on('end', () => {
    if (buffered) onLine(buffered);
  });
}
