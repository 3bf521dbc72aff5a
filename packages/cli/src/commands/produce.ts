import { createInterface } from 'node:readline';
import { COMPRESSION_NAMES, Producer, type CompressionName, type Message, type RecordMetadata } from '@fluxo/client';
import { CLIENT_OPTIONS, intOption, listOption, parseAcks, parseKeyValueList, requirePositionals, stringOption, type ParsedArgs } from '../args.js';
import { UsageError } from '../cli-error.js';
import type { Io } from '../io.js';
import type { Command } from './command.js';

/** Unacknowledged lines before reading more of stdin (the producer's buffer.memory also bounds bytes). */
const MAX_LINES_IN_FLIGHT = 20_000;

/** Splits a line into key and value at the first separator; without one the key is null. */
export function lineToMessage(line: string, keySeparator: string | undefined): { key: string | null; value: string } {
  if (keySeparator === undefined) return { key: null, value: line };
  const at = line.indexOf(keySeparator);
  if (at < 0) return { key: null, value: line };
  return { key: line.slice(0, at), value: line.slice(at + keySeparator.length) };
}

export const produceCommand: Command = {
  name: 'produce',
  summary: 'produce lines from stdin as records',
  help: `Usage: fluxo produce TOPIC [--key-separator SEP] [--compression C] [--acks N] [-p PARTITION] [-H key=value ...]

Reads stdin line by line; each line is one record. With --key-separator, the text before the first
separator is the record key and the rest its value. Prints a summary to stderr.

Options:
  -k, --key-separator SEP       split each line into key and value at SEP
  -z, --compression C           none, gzip, snappy, lz4 or zstd (default none)
      --acks N                  0, 1 or -1/all (default -1)
  -p, --partition N             write every record to this partition (default: by key hash)
  -H, --header key=value        header on every record; repeatable
      --linger-ms N             batching delay (default 5)
${'  -b, --bootstrap-server HOST:PORT[,...]   broker(s) to bootstrap from (default 127.0.0.1:9092)'}`,
  options: {
    ...CLIENT_OPTIONS,
    'key-separator': { type: 'string', short: 'k' },
    compression: { type: 'string', short: 'z' },
    acks: { type: 'string' },
    partition: { type: 'string', short: 'p' },
    header: { type: 'string', short: 'H', multiple: true },
    'linger-ms': { type: 'string' },
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const [topic] = requirePositionals(args, 'produce', ['topic']);
    const keySeparator = stringOption(args, 'key-separator');
    if (keySeparator === '') throw new UsageError('--key-separator must not be empty', 'produce');
    const compression = (stringOption(args, 'compression') ?? 'none') as CompressionName;
    if (!COMPRESSION_NAMES.includes(compression)) throw new UsageError(`--compression must be one of ${COMPRESSION_NAMES.join(', ')}`, 'produce');
    const acksText = stringOption(args, 'acks');
    const acks = acksText === undefined ? -1 : parseAcks(acksText);
    const partition = intOption(args, 'partition', 0);
    const headers = parseKeyValueList(listOption(args, 'header'), '--header');
    const lingerMs = intOption(args, 'linger-ms', 0, 60_000) ?? 5;

    const producer = new Producer({
      brokers: stringOption(args, 'bootstrap-server')!,
      clientId: 'fluxo-cli',
      acks,
      compression,
      lingerMs,
      retry: { retries: 5 },
    });
    const startedMs = Date.now();
    const perPartition = new Map<number, { count: number; first: number; last: number }>();
    let count = 0;
    const record = (results: RecordMetadata[]): void => {
      for (const r of results) {
        const p = perPartition.get(r.partition);
        if (!p) perPartition.set(r.partition, { count: 1, first: r.offset, last: r.offset });
        else {
          p.count++;
          p.first = Math.min(p.first, r.offset);
          p.last = Math.max(p.last, r.offset);
        }
      }
      count += results.length;
    };
    try {
      await producer.connect();
      // One send() per line: the producer batches by linger.ms, and a line typed at a terminal goes out at once.
      const inFlight: Promise<void>[] = [];
      let head = 0;
      let failure: unknown = null;
      const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
      for await (const line of lines) {
        if (failure) break;
        const { key, value } = lineToMessage(line, keySeparator);
        const message: Message = { key, value };
        if (headers.length > 0) message.headers = headers;
        if (partition !== undefined) message.partition = partition;
        inFlight.push(
          producer.send({ topic: topic!, messages: [message] }).then(record, (err: unknown) => {
            failure ??= err;
          }),
        );
        if (inFlight.length - head >= MAX_LINES_IN_FLIGHT) {
          await inFlight[head]!;
          inFlight[head++] = Promise.resolve();
          if (head > MAX_LINES_IN_FLIGHT) {
            inFlight.splice(0, head);
            head = 0;
          }
        }
      }
      lines.close();
      await Promise.all(inFlight);
      if (failure) throw failure;
    } finally {
      await producer.close().catch(() => undefined);
    }
    const elapsedMs = Date.now() - startedMs;
    const parts = [...perPartition]
      .sort((a, b) => a[0] - b[0])
      .map(([p, s]) => (acks === 0 ? `partition ${p}: ${s.count}` : `partition ${p}: ${s.count} (offsets ${s.first}-${s.last})`));
    io.stderr.write(`Produced ${count} record${count === 1 ? '' : 's'} to topic ${topic} in ${elapsedMs} ms${parts.length > 0 ? ` [${parts.join(', ')}]` : ''}\n`);
    return 0;
  },
};
