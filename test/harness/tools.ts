import { spawnSync } from 'node:child_process';
import { KCAT, PYTHON } from './paths.js';

/** Peer tools the compat tests drive. */
export type PeerTool = 'kcat' | 'confluent_kafka' | 'kafka-python' | 'python-codecs';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

function probe(tool: PeerTool): boolean {
  const run = (cmd: string, args: string[]): boolean => {
    const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
    return r.status === 0;
  };
  switch (tool) {
    case 'kcat':
      return run(KCAT, ['-V']);
    case 'confluent_kafka':
      return run(PYTHON, ['-c', 'import confluent_kafka']);
    case 'kafka-python':
      return run(PYTHON, ['-c', 'import kafka']);
    case 'python-codecs':
      return run(PYTHON, ['-c', 'import snappy, lz4.frame, zstandard']);
  }
}

const cache = new Map<PeerTool, boolean>();

export function missingTools(tools: readonly PeerTool[]): PeerTool[] {
  return tools.filter((t) => {
    if (!cache.has(t)) cache.set(t, probe(t));
    return !cache.get(t);
  });
}

/**
 * Decides whether a suite needing `tools` runs. In CI (CI=true) a missing peer tool is a failure, never a
 * skip: the suite runs and its first test fails naming the tool. Locally the suite is skipped with a
 * message saying what to install.
 */
export function toolGate(tools: readonly PeerTool[]): { skip: boolean; missing: PeerTool[] } {
  const missing = missingTools(tools);
  if (missing.length > 0 && !IN_CI) {
    console.warn(
      `SKIPPING: missing peer tool(s) ${missing.join(', ')} ` +
        `(apt-get install kcat python3-kafka python3-confluent-kafka python3-snappy python3-lz4 python3-zstandard; ` +
        `Python must be ${PYTHON}). In CI this is a failure.`,
    );
    return { skip: true, missing };
  }
  return { skip: false, missing };
}

/** For the first test of a gated suite: fails (in CI) when a tool is missing. */
export function assertToolsPresent(missing: readonly PeerTool[]): void {
  if (missing.length > 0) throw new Error(`required peer tool(s) missing: ${missing.join(', ')} (python: ${PYTHON})`);
}
