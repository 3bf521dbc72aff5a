import { Consumer, listOffsets, topicError, type AssignorName, type StartOffset } from '@fluxo/client';
import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { CLIENT_OPTIONS, intOption, listOption, parseInteger, requirePositionals, stringOption, type ParsedArgs } from '../args.js';
import { UsageError } from '../cli-error.js';
import { compileFormat, DEFAULT_FORMAT } from '../format.js';
import { writeWithBackpressure, type Io } from '../io.js';
import type { Command } from './command.js';

const ASSIGNOR_NAMES = ['range', 'roundrobin', 'cooperative-sticky'] as const satisfies readonly AssignorName[];

/** --offset: earliest, latest, an absolute offset, or a negative number = that many before the end (kcat -o). */
export function parseOffsetOption(text: string): StartOffset | { fromEnd: number } {
  if (text === 'earliest' || text === 'beginning' || text === 'oldest') return 'earliest';
  if (text === 'latest' || text === 'end' || text === 'newest') return 'latest';
  const n = parseInteger(text, '--offset');
  return n < 0 ? { fromEnd: -n } : n;
}

export const consumeCommand: Command = {
  name: 'consume',
  summary: 'print records of a topic',
  help: `Usage: fluxo consume TOPIC [--from-beginning] [--offset N|earliest|latest] [-p PARTITION ...]
                     [--max-messages N] [--format FMT]
       fluxo consume TOPIC --group GROUP [--from-beginning] [--max-messages N] [--format FMT]

Reads every partition of TOPIC (or those given with -p) and prints each record. Without --max-messages it
keeps following new records until interrupted (SIGINT). Without --group no consumer group is used.

With --group, the consumer joins GROUP, reads the partitions the group assigns it, starts from the group's
committed offsets (partitions without one: the end, or the beginning with --from-beginning) and commits the
offsets of the records it printed (periodically and on exit).

Options:
  -g, --group GROUP        consume as a member of this consumer group
      --assignor NAME      with --group: range, roundrobin or cooperative-sticky (repeatable, in order of
                           preference; default range then cooperative-sticky)
      --from-beginning     start at the earliest offset (same as --offset earliest)
  -o, --offset OFFSET      earliest, latest (default), an offset, or -N for N records before the end
  -p, --partition N        only this partition; repeatable
  -n, --max-messages N     exit after N records
      --timeout-ms N       exit when no record arrives for N ms
  -f, --format FMT         kcat-style format (default '%v\\n') or 'json'. Tokens: %t topic, %p partition,
                           %o offset, %k key, %K key length, %v value, %S value length, %T timestamp (ms),
                           %h headers (k=v,...), %% percent; escapes \\n \\t \\r \\\\
${'  -b, --bootstrap-server HOST:PORT[,...]   broker(s) to bootstrap from (default 127.0.0.1:9092)'}`,
  options: {
    ...CLIENT_OPTIONS,
    group: { type: 'string', short: 'g' },
    assignor: { type: 'string', multiple: true },
    'from-beginning': { type: 'boolean' },
    offset: { type: 'string', short: 'o' },
    partition: { type: 'string', short: 'p', multiple: true },
    'max-messages': { type: 'string', short: 'n' },
    'timeout-ms': { type: 'string' },
    format: { type: 'string', short: 'f' },
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const [topic] = requirePositionals(args, 'consume', ['topic']);
    const offsetText = stringOption(args, 'offset');
    if (offsetText !== undefined && args.values['from-beginning'] === true) {
      throw new UsageError('give either --from-beginning or --offset, not both', 'consume');
    }
    const start = args.values['from-beginning'] === true ? 'earliest' : parseOffsetOption(offsetText ?? 'latest');
    const partitionsWanted = listOption(args, 'partition').map((p) => parseInteger(p, '--partition', 0));
    const maxMessages = intOption(args, 'max-messages', 1);
    const timeoutMs = intOption(args, 'timeout-ms', 1);
    const render = compileFormat(stringOption(args, 'format') ?? DEFAULT_FORMAT);
    const groupId = stringOption(args, 'group');
    if (groupId !== undefined) {
      if (groupId === '') throw new UsageError('--group needs a name', 'consume');
      // As kafka-console-consumer: a group decides partitions and positions itself.
      if (partitionsWanted.length > 0) throw new UsageError('--partition cannot be used with --group', 'consume');
      if (offsetText !== undefined) throw new UsageError('--offset cannot be used with --group (use --from-beginning, or fluxo group reset-offsets)', 'consume');
    }
    const assignors = listOption(args, 'assignor');
    if (assignors.length > 0 && groupId === undefined) throw new UsageError('--assignor needs --group', 'consume');
    for (const a of assignors) {
      if (!(ASSIGNOR_NAMES as readonly string[]).includes(a)) throw new UsageError(`--assignor must be one of ${ASSIGNOR_NAMES.join(', ')}, not "${a}"`, 'consume');
    }

    // An offset past the end waits at the end, like kafka-console-consumer (auto.offset.reset=latest).
    const consumer = new Consumer({
      brokers: stringOption(args, 'bootstrap-server')!,
      clientId: 'fluxo-cli',
      autoOffsetReset: start === 'earliest' ? 'earliest' : 'latest',
      ...(groupId !== undefined ? { groupId } : {}),
      ...(assignors.length > 0 ? { assignors: assignors as AssignorName[] } : {}),
    });
    let count = 0;
    let stopReason: string | null = null;
    const stop = (reason: string): void => {
      stopReason ??= reason;
      void consumer.close();
    };
    const onSignal = (): void => stop('signal');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let idleTimer: NodeJS.Timeout | null = null;
    const armIdle = (): void => {
      if (timeoutMs === undefined) return;
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => stop('timeout'), timeoutMs);
    };
    try {
      await consumer.connect();
      // One attempt, so that a missing topic fails at once with its name.
      const response = await consumer.cluster.fetchMetadata([topic!], false);
      const entry = response.topics.find((t) => t.name === topic);
      const code = entry ? entry.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (code !== ErrorCode.NONE && code !== ErrorCode.LEADER_NOT_AVAILABLE) throw topicError(topic!, code);
      const metadata = await consumer.cluster.topicMetadata(topic!);
      if (groupId !== undefined) consumer.subscribe({ topics: [topic!] });
      const all = metadata.partitions.map((p) => p.partition);
      for (const p of partitionsWanted) {
        if (!all.includes(p)) {
          throw new KafkaProtocolError(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `partition ${p} of topic ${topic} does not exist (it has ${all.length}) (UNKNOWN_TOPIC_OR_PARTITION)`,
          );
        }
      }
      const partitions = partitionsWanted.length > 0 ? [...new Set(partitionsWanted)] : all;
      let offsets: StartOffset[];
      if (groupId !== undefined) {
        offsets = [];
      } else if (typeof start === 'object') {
        const ends = await listOffsets(consumer.cluster, partitions.map((partition) => ({ topic: topic!, partition, timestamp: -1 })));
        const begins = await listOffsets(consumer.cluster, partitions.map((partition) => ({ topic: topic!, partition, timestamp: -2 })));
        offsets = ends.map((e, i) => Math.max(begins[i]!.offset, e.offset - start.fromEnd));
      } else {
        offsets = partitions.map(() => start);
      }
      if (groupId === undefined) consumer.assign(partitions.map((partition, i) => ({ topic: topic!, partition, offset: offsets[i]! })));
      armIdle();
      if (maxMessages === undefined || maxMessages > 0) {
        for await (const record of consumer) {
          await writeWithBackpressure(io.stdout, render(record));
          count++;
          armIdle();
          if (maxMessages !== undefined && count >= maxMessages) {
            stop('max-messages');
            break;
          }
        }
      }
    } catch (err) {
      if (stopReason === null) throw err;
    } finally {
      if (idleTimer) clearTimeout(idleTimer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      await consumer.close();
    }
    io.stderr.write(`Processed a total of ${count} message${count === 1 ? '' : 's'}\n`);
    return 0;
  },
};
