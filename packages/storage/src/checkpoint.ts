import { join } from 'node:path';
import { CorruptDataError } from '@fluxo/common';
import { readFileOrNull, writeFileDurably } from './fs-util.js';

/**
 * A one-number checkpoint file ("<version>\n<offset>\n"), replaced atomically and durably. A torn or garbled
 * file can only be a leftover tmp (rename is atomic), so a bad one is a CorruptDataError, not a guess.
 */
const VERSION = '0';

export async function readOffsetCheckpoint(dir: string, file: string): Promise<number | null> {
  const buf = await readFileOrNull(join(dir, file));
  if (buf === null) return null;
  const lines = buf.toString('utf8').split('\n');
  const value = Number(lines[1]);
  if (lines[0] !== VERSION || lines[1] === undefined || !Number.isSafeInteger(value) || value < 0) {
    throw new CorruptDataError(`bad checkpoint file ${join(dir, file)}`);
  }
  return value;
}

export async function writeOffsetCheckpoint(dir: string, file: string, offset: number): Promise<void> {
  await writeFileDurably(join(dir, file), `${VERSION}\n${offset}\n`);
}
