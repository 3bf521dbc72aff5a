// Test helpers: run the built CLI (packages/cli/dist/main.js; build first with `npx tsc -b packages/cli`) and
// start a node with `fluxo start` on an ephemeral port.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `fluxo ARGS` to completion, feeding `stdin`. */
export function fluxo(args: string[], stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

export interface CliNode {
  readonly process: ChildProcess;
  readonly bootstrap: string;
  readonly dataDir: string;
  /** Resolves with the exit code once the process exits. */
  readonly exited: Promise<number | null>;
  /** SIGTERM (if still running), wait for exit, remove the data dir; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** `fluxo start --port 0` in a fresh data dir; resolves once it logged "Fluxo node started". */
export async function startCliNode(extraArgs: string[] = []): Promise<CliNode> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -b packages/cli\` first`);
  const dataDir = await mkdtemp(join(tmpdir(), 'fluxo-cli-test-'));
  const child = spawn(process.execPath, [MAIN, 'start', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const bootstrap = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        if (!line.includes('"msg":"Fluxo node started"')) continue;
        const parsed = JSON.parse(line) as { host: string; port: number };
        resolve(`${parsed.host}:${parsed.port}`);
      }
    });
    child.on('exit', (code) => reject(new Error(`node exited with ${code} before it started`)));
  });
  return {
    process: child,
    bootstrap,
    dataDir,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
