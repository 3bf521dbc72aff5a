import { parseCommandArgs } from './args.js';
import { describeError, EXIT_OK, EXIT_USAGE, UsageError } from './cli-error.js';
import { clusterCommands, clusterHelp } from './commands/cluster.js';
import type { Command } from './commands/command.js';
import { configCheckCommand } from './commands/config.js';
import { consumeCommand } from './commands/consume.js';
import { groupCommands, groupHelp } from './commands/group.js';
import { produceCommand } from './commands/produce.js';
import { startCommand } from './commands/start.js';
import { topicCommands, topicHelp } from './commands/topic.js';
import type { Io } from './io.js';

export const VERSION = '0.1.0';

export const commands: Command[] = [startCommand, ...topicCommands, ...groupCommands, ...clusterCommands, produceCommand, consumeCommand, configCheckCommand];

/** Command families with a help page of their own (`fluxo topic`, `fluxo group`). */
const FAMILIES: Record<string, () => string> = { topic: topicHelp, group: groupHelp, cluster: clusterHelp };

export function mainHelp(): string {
  return `fluxo ${VERSION} — a Kafka-compatible event-streaming platform

Usage: fluxo <command> [options]

Commands:
  start                 ${startCommand.summary}
  topic create          create a topic
  topic list            list topics
  topic describe        show partitions and configs of a topic
  topic delete          delete topics
  topic alter-config    set or delete topic configs
  group list            list consumer groups
  group describe        show members, assignments, offsets and lag of a group
  group reset-offsets   plan or commit new offsets (dry run unless --execute)
  group delete          delete groups
  group delete-offsets  delete a group's offsets of some topics
  cluster up            start a local multi-process cluster (or restart its stopped nodes)
  cluster down          stop a local cluster
  cluster quorum        show the controller quorum: leader, term, voters and their lag
  cluster elect-leaders move leadership to preferred replicas (or elect unclean leaders)
  cluster reassign      move partition replicas to other brokers (execute, verify, cancel, list)
  produce               ${produceCommand.summary}
  consume               ${consumeCommand.summary}
  config check          validate a properties file and print its non-default settings

Every client command takes -b/--bootstrap-server HOST:PORT (default $FLUXO_BOOTSTRAP_SERVER or 127.0.0.1:9092).
Run \`fluxo <command> --help\` for details.

Exit codes: 0 success, 1 a request failed, 2 bad arguments or configuration.`;
}

/** Finds the command named by the leading words of argv; returns it and the remaining arguments. */
export function findCommand(argv: string[]): { command: Command; rest: string[] } | null {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const command = commands.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(words) };
  }
  return null;
}

/** Runs the CLI; resolves with the exit code. Errors are printed to stderr, never thrown. */
export async function run(argv: string[], io: Io): Promise<number> {
  try {
    const first = argv[0];
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      const topic = first === 'help' && argv[1] ? findCommand(argv.slice(1)) : null;
      const family = argv[1] !== undefined ? FAMILIES[argv[1]] : undefined;
      io.stdout.write((topic ? topic.command.help : family ? family() : mainHelp()) + '\n');
      return first === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (first === '--version' || first === '-V') {
      io.stdout.write(`${VERSION}\n`);
      return EXIT_OK;
    }
    const found = findCommand(argv);
    if (!found) {
      const family = FAMILIES[first];
      if (family) {
        const sub = argv[1];
        if (sub === undefined || sub === '--help' || sub === '-h') {
          io.stdout.write(family() + '\n');
          return sub === undefined ? EXIT_USAGE : EXIT_OK;
        }
        throw new UsageError(`unknown ${first} command "${sub}"`, first);
      }
      throw new UsageError(`unknown command "${first}"`);
    }
    const { command, rest } = found;
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(command.help + '\n');
      return EXIT_OK;
    }
    try {
      const args = parseCommandArgs(command.name, rest, command.options);
      return await command.run(args, io);
    } catch (err) {
      // Point usage errors raised by shared helpers at this command's help.
      if (err instanceof UsageError && err.command === '') throw new UsageError(err.message, command.name);
      throw err;
    }
  } catch (err) {
    const { message, exitCode } = describeError(err);
    io.stderr.write(`fluxo: ${message}\n`);
    return exitCode;
  }
}
