import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { dirname } from 'node:path';
import { TMP_SUFFIX } from './file-names.js';

// Raw-fd calls (cheaper than FileHandle objects on the hot path).
export const fsOpen = promisify(fs.open);
export const fsClose = promisify(fs.close);
export const fsFstat = promisify(fs.fstat);
export const fsFdatasync = promisify(fs.fdatasync);
export const fsFsync = promisify(fs.fsync);
export const fsFtruncate = promisify(fs.ftruncate);
const fsWritev = promisify(fs.writev);
const fsWrite = promisify(fs.write);
const fsRead = promisify(fs.read);

/** Reads exactly `length` bytes at `position` unless the file ends first; returns what was read. */
export async function readAt(fd: number, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fsRead(fd, buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Writes all buffers at `position` (one writev in the common case; loops on short writes). */
export async function writeAllAt(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let written = (await fsWritev(fd, buffers, position)).bytesWritten;
  while (written < total) {
    // Short write (rare): finish the remainder buffer by buffer.
    let skip = written;
    for (const b of buffers) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      const part = b.subarray(skip);
      let off = 0;
      while (off < part.length) off += (await fsWrite(fd, part, off, part.length - off, position + written + off)).bytesWritten;
      written += part.length;
      skip = 0;
    }
  }
}

/** fsync of a directory makes file creations, renames and unlinks in it durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await fsOpen(dir, 'r');
  try {
    await fsFsync(fd);
  } finally {
    await fsClose(fd);
  }
}

/** Replaces `path` atomically and durably: write tmp, fsync, rename over, fsync the directory. */
export async function writeFileDurably(path: string, data: string | Buffer): Promise<void> {
  const tmp = path + TMP_SUFFIX;
  const fd = await fsOpen(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    await writeAllAt(fd, [buf], 0);
    await fsFsync(fd);
  } finally {
    await fsClose(fd);
  }
  await fs.promises.rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Writes a fresh file and fsyncs it (no rename: for files not yet referenced by anything). */
export async function writeNewFileSynced(path: string, data: Buffer): Promise<void> {
  const fd = await fsOpen(path, 'w');
  try {
    if (data.length > 0) await writeAllAt(fd, [data], 0);
    await fsFsync(fd);
  } finally {
    await fsClose(fd);
  }
}

export async function readFileOrNull(path: string): Promise<Buffer | null> {
  try {
    return await fs.promises.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await fs.promises.unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
