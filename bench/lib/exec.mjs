// Runs a command with a hard timeout; stdout can be discarded (consume benchmarks) or captured.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export function run(cmd, args, { timeoutMs, inputFile, discardStdout = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [inputFile ? 'pipe' : 'ignore', discardStdout ? 'ignore' : 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs ?? 300_000);
    child.stdout?.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    if (inputFile) fs.createReadStream(inputFile).pipe(child.stdin);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== 0 || timedOut) reject(new Error(`${cmd} ${args.join(' ')} failed (${timedOut ? 'timeout' : `exit ${code}`}):\n${stderr.slice(-3000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

export function shellQuote(args) {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
