import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export interface CommandResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  timeoutMs: number;
  /** Bytes/text written to stdin, or a file streamed to stdin. */
  input?: string | Buffer;
  inputFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function describeCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Runs a command to completion with a hard timeout (SIGKILL), capturing stdout (as bytes) and stderr.
 * Never throws for a non-zero exit: callers assert on the result (see expectSuccess).
 */
export function runCommand(cmd: string, args: readonly string[], opts: RunOptions): Promise<CommandResult> {
  const command = describeCommand(cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ command, code, signal, timedOut, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {
      /* the child may exit before reading all input; its exit code tells what happened */
    });
    if (opts.inputFile !== undefined) fs.createReadStream(opts.inputFile).pipe(child.stdin);
    else if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Throws with the command, exit status and stderr tail unless it exited 0. Returns stdout as text. */
export function expectSuccess(result: CommandResult): string {
  if (result.code !== 0 || result.timedOut) {
    const why = result.timedOut ? 'timed out' : `exit code ${result.code}${result.signal ? ` signal ${result.signal}` : ''}`;
    throw new Error(`${result.command} failed (${why})\nstderr:\n${result.stderr.slice(-4000)}\nstdout:\n${result.stdout.toString('utf8').slice(-2000)}`);
  }
  return result.stdout.toString('utf8');
}

/** A long-running child whose output is collected while it runs (e.g. a streaming consumer). */
export interface BackgroundProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const background = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of background) child.kill('SIGKILL');
});

/** SIGKILLs every background process still running (cleanupAll calls this). */
export async function killBackground(): Promise<void> {
  const exits = [...background].map((child) => new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.kill('SIGKILL');
  }));
  await Promise.all(exits);
}

export function spawnBackground(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): BackgroundProcess {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  background.add(child);
  child.once('close', () => background.delete(child));
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
    child.on('error', () => resolve({ code: null, signal: null }));
  });
  return {
    child,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
    exited: () => exit,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}
