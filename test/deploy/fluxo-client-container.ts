import { GenericContainer, Wait } from 'testcontainers';
import { expectSuccess, runCommand } from '../harness/command.js';

/**
 * Kafka clients for a compose project whose network is internal (the host cannot reach it): the `fluxo`
 * command run in a container of the Fluxo image on that network.
 */
export interface ClientContainerOptions {
  image: string;
  /** Docker network of the compose project. */
  network: string;
}

/** `fluxo produce` with the lines on stdin (`docker run -i`: the image has no shell to redirect a file). */
export async function produceLines(opts: ClientContainerOptions, topic: string, bootstrap: string, lines: string[]): Promise<string> {
  const r = await runCommand(
    'docker',
    ['run', '--rm', '-i', '--network', opts.network, opts.image, 'produce', topic, '-b', bootstrap, '--key-separator', '|', '--acks', 'all'],
    { timeoutMs: 180_000, input: lines.map((l) => `${l}\n`).join('') },
  );
  expectSuccess(r);
  return r.stderr; // the summary ("Produced N records ...")
}

/** Any other fluxo command (topic create, ...), output on stdout. */
export async function fluxo(opts: ClientContainerOptions, args: string[]): Promise<string> {
  return expectSuccess(await runCommand('docker', ['run', '--rm', '--network', opts.network, opts.image, ...args], { timeoutMs: 180_000 }));
}

const RECORD_PREFIX = 'REC|';

/**
 * Reads TOPIC from the beginning through `bootstrap` with `fluxo consume`, in a container that testcontainers
 * runs to completion (one-shot). Returns `key|value` of each record in the order printed. Stops after
 * `maxMessages`, or after `idleTimeoutMs` without a record (then fewer come back and the caller's assertion
 * says which are missing).
 */
export async function consumeAll(
  opts: ClientContainerOptions,
  topic: string,
  bootstrap: string,
  maxMessages: number,
  idleTimeoutMs = 60_000,
): Promise<string[]> {
  let output = '';
  const container = new GenericContainer(opts.image)
    .withNetworkMode(opts.network)
    .withCommand([
      'consume', topic, '-b', bootstrap, '--from-beginning',
      '--max-messages', String(maxMessages), '--timeout-ms', String(idleTimeoutMs),
      '--format', `${RECORD_PREFIX}%k|%v\\n`,
    ])
    .withAutoRemove(false)
    .withLogConsumer((stream) => stream.on('data', (chunk: Buffer | string) => (output += chunk.toString())))
    .withWaitStrategy(Wait.forOneShotStartup())
    .withStartupTimeout(idleTimeoutMs + 120_000);
  let started;
  try {
    started = await container.start();
  } catch (err) {
    throw new Error(`fluxo consume container failed: ${(err as Error).message}\noutput:\n${output.slice(-3000)}`);
  }
  try {
    const logs = expectSuccess(await runCommand('docker', ['logs', started.getId()], { timeoutMs: 60_000 }));
    return logs
      .split('\n')
      .filter((l) => l.startsWith(RECORD_PREFIX))
      .map((l) => l.slice(RECORD_PREFIX.length));
  } finally {
    await started.stop({ remove: true });
  }
}

/**
 * GET `url` from a container on the project network (the host cannot reach an internal network). Returns
 * the HTTP status and body, or the connection error's code.
 */
export async function httpGet(opts: ClientContainerOptions, url: string): Promise<{ status: number; body: string } | { error: string }> {
  const script =
    'fetch(process.argv[1]).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })),' +
    ' (e) => process.stdout.write(JSON.stringify({ error: String(e.cause?.code ?? e.message) })))';
  const r = await runCommand('docker', ['run', '--rm', '--network', opts.network, '--entrypoint', 'node', opts.image, '-e', script, url], { timeoutMs: 60_000 });
  return JSON.parse(expectSuccess(r)) as { status: number; body: string } | { error: string };
}
