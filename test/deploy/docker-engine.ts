import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from '../harness/command.js';
import { waitFor } from '../harness/poll.js';

/** A Docker engine the tests can use; `stop()` ends it only when these tests started it. */
export interface DockerEngine {
  readonly available: boolean;
  /** Why the engine is unavailable, or how it was obtained. */
  readonly reason: string;
  stop(): Promise<void>;
}

const ENGINE_START_TIMEOUT_MS = 60_000;
const ENGINE_STOP_TIMEOUT_MS = 30_000;

async function engineAnswers(): Promise<string | null> {
  try {
    const r = await runCommand('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 15_000 });
    return r.code === 0 ? r.stdout.toString('utf8').trim() : null;
  } catch {
    return null; // no docker client at all
  }
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && fs.existsSync(path.join(dir, binary)));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Uses a running engine, or starts `dockerd` (Debian docker.io) in the background when none answers and this
 * process may (root, dockerd installed). The daemon's log goes to a temp file named in failures.
 */
export async function ensureDockerEngine(): Promise<DockerEngine> {
  const running = await engineAnswers();
  if (running !== null) return { available: true, reason: `engine ${running} already running`, stop: async () => {} };
  if (!onPath('docker')) return unavailable('no docker client (apt-get install -y docker.io docker-compose)');
  if (!onPath('dockerd')) return unavailable('no engine answers and dockerd is not installed (apt-get install -y docker.io)');
  if (process.getuid?.() !== 0) return unavailable('no engine answers and only root can start dockerd');

  const logFile = path.join(os.tmpdir(), `fluxo-dockerd-${process.pid}.log`);
  const log = fs.openSync(logFile, 'a');
  const daemon = spawn('dockerd', ['--host', 'unix:///var/run/docker.sock'], { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const pid = daemon.pid;
  daemon.unref();
  if (pid === undefined) return unavailable(`dockerd did not start (log: ${logFile})`);
  let exited = false;
  daemon.on('exit', () => {
    exited = true;
  });
  try {
    await waitFor(async () => exited || (await engineAnswers()) !== null, { timeoutMs: ENGINE_START_TIMEOUT_MS, intervalMs: 500, what: 'dockerd to answer' });
  } catch {
    // fall through: reported below
  }
  const version = exited ? null : await engineAnswers();
  if (version === null) {
    if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    return unavailable(`dockerd could not start (log ${logFile}):\n${tail}`);
  }
  return {
    available: true,
    reason: `started dockerd ${version} (pid ${pid}, log ${logFile})`,
    async stop() {
      if (exited || !isAlive(pid)) return;
      process.kill(pid, 'SIGTERM');
      // `exited` also covers the moment before Node reaps the child (a zombie still answers kill 0).
      await waitFor(() => exited || !isAlive(pid), { timeoutMs: ENGINE_STOP_TIMEOUT_MS, intervalMs: 200, what: `dockerd (pid ${pid}) to exit` }).then(
        () => fs.rmSync(logFile, { force: true }),
        () => {
          if (isAlive(pid)) process.kill(pid, 'SIGKILL');
        },
      );
    },
  };
}

function unavailable(reason: string): DockerEngine {
  return { available: false, reason, stop: async () => {} };
}
