/** Streams a command uses, injectable for tests. */
export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export function processIo(): Io {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}

/** Writes and waits for 'drain' when the stream's buffer is full, so fast consumers do not buffer unboundedly. */
export async function writeWithBackpressure(stream: NodeJS.WritableStream, chunk: Buffer | string): Promise<void> {
  if (stream.write(chunk)) return;
  await new Promise<void>((resolve) => stream.once('drain', resolve));
}
