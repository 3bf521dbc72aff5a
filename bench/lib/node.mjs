// Starts a Fluxo node (the built dist) for the benchmark and parses its port from the started log line.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI_MAIN = `${REPO_ROOT}packages/cli/dist/main.js`;

export function startNode({ dataDir, host = '127.0.0.1', timeoutMs = 30_000 }) {
  if (!fs.existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} missing: build with npx tsc -b`);
  const args = [CLI_MAIN, 'start', '--data-dir', dataDir, '--host', host, '--port', '0'];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = [];
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => done(new Error(`node did not start within ${timeoutMs} ms\n${tail.join('\n')}`)), timeoutMs);
    const done = (err, port) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
        return;
      }
      resolve({
        host,
        port,
        bootstrap: `${host}:${port}`,
        pid: child.pid,
        command: `node ${args.join(' ').replace(REPO_ROOT, '')}`,
        stop: async () => {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
          const r = await exited;
          clearTimeout(t);
          return r;
        },
      });
    };
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        tail.push(line);
        if (tail.length > 50) tail.shift();
        if (!settled && line.includes('Fluxo node started')) {
          try {
            const entry = JSON.parse(line);
            if (typeof entry.port === 'number') done(null, entry.port);
          } catch {
            /* keep waiting */
          }
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      tail.push(chunk);
      if (tail.length > 50) tail.shift();
    });
    child.once('close', (code, signal) => done(new Error(`node exited during start: code ${code} signal ${signal}\n${tail.join('\n')}`)));
  });
}
