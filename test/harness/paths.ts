import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Repository root (this file lives in test/harness/). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The built CLI entry point: spawned nodes run the dist, not the sources. */
export const CLI_MAIN = path.join(REPO_ROOT, 'packages/cli/dist/main.js');
/**
 * Always the Debian interpreter: it has python3-kafka / python3-confluent-kafka from apt. A pyenv python3
 * earlier on PATH lacks them.
 */
export const PYTHON = '/usr/bin/python3';
export const KCAT = 'kcat';
/** Python helper scripts used by the compat tests. */
export const PY_DIR = path.join(REPO_ROOT, 'test/compat/py');
