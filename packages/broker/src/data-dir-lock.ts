import { readFileSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FluxoError } from '@fluxo/common';

const LOCK_FILE = '.lock';
/** Data directories locked by Brokers of this process (a second Broker on one dir would corrupt it). */
const lockedHere = new Set<string>();

/**
 * One node per data directory. Kafka holds an OS file lock; Node has none, so the lock file records the
 * owner's pid and a lock whose process is gone counts as stale.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCK_FILE);
  if (lockedHere.has(path)) throw new FluxoError(`data directory ${dataDir} is in use by another node in this process`);
  try {
    const owner = Number((await readFile(path, 'utf8')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new FluxoError(`data directory ${dataDir} is in use by process ${owner} (remove ${path} if that is wrong)`);
    }
  } catch (err) {
    if (err instanceof FluxoError) throw err;
    // No lock file: free.
  }
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(`${process.pid}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  lockedHere.add(path);
  return async () => {
    lockedHere.delete(path);
    await rm(path, { force: true });
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed owner left unreaped (no init reaping orphans, e.g. in a container) is a zombie: it holds nothing.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
