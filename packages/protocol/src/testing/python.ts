import { execFileSync } from 'node:child_process';

/** Debian's python3 with kafka-python 2.0.2, python3-snappy, -lz4, -zstandard (not the pyenv one on PATH). */
export const PYTHON = '/usr/bin/python3';

/** Runs a python script with JSON on stdin and returns its JSON stdout. */
export function runPython<T>(script: string, input: unknown = null): T {
  const out = execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(input), maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.toString('utf8')) as T;
}
