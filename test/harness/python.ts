import path from 'node:path';
import { runCommand } from './command.js';
import { PY_DIR, PYTHON } from './paths.js';

/**
 * Runs test/compat/py/<script> with the Debian python3. Scripts print one JSON object as their last
 * stdout line; a non-zero exit or missing JSON throws with stderr attached.
 */
export async function runPythonJson<T>(script: string, args: readonly string[], timeoutMs = 120_000): Promise<T> {
  const result = await runCommand(PYTHON, ['-u', path.join(PY_DIR, script), ...args], { timeoutMs });
  const text = result.stdout.toString('utf8').trim();
  const last = text.slice(text.lastIndexOf('\n') + 1);
  const context = `${result.command}\nexit ${result.code}${result.timedOut ? ' (timed out)' : ''}\nstderr:\n${result.stderr.slice(-4000)}\nstdout:\n${text.slice(-2000)}`;
  if (result.code !== 0 || result.timedOut) throw new Error(`python script failed: ${context}`);
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`python script printed no JSON result: ${context}`);
  }
}
