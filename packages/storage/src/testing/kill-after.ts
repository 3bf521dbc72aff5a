import { spawn } from 'node:child_process';

/**
 * Runs `node script ...args` (a child writing to a log and printing one line per acknowledged write), hands
 * every stdout line to `onLine`, and SIGKILLs the child as soon as `onLine` has returned true `count` times.
 * Resolves once the child died of that SIGKILL; rejects if it exited by itself first.
 */
export function runUntilThenKill(script: string, args: readonly string[], cwd: string, count: number, onLine: (line: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    let seen = 0;
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (onLine(line)) seen++;
      }
      if (!killed && seen >= count) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`${script} exited early: code ${code} signal ${signal}`));
    });
  });
}
