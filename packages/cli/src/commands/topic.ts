import { Admin, type AlterConfigOperation } from '@fluxo/client';
import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { CLIENT_OPTIONS, intOption, listOption, parseKeyValues, requirePositionals } from '../args.js';
import { UsageError } from '../cli-error.js';
import type { Io } from '../io.js';
import { renderTable } from '../table.js';
import { withAdmin } from '../admin-session.js';
import type { Command } from './command.js';

const BOOTSTRAP_HELP = '  -b, --bootstrap-server HOST:PORT[,...]   broker(s) to bootstrap from (default 127.0.0.1:9092)';

export const topicCreateCommand: Command = {
  name: 'topic create',
  summary: 'create a topic',
  help: `Usage: fluxo topic create NAME [-p N] [-r N] [-c key=value ...] [--if-not-exists] [--validate-only]

Options:
  -p, --partitions N            partition count (default: the broker's num.partitions)
  -r, --replication-factor N    replicas per partition (default: the broker's default.replication.factor)
  -c, --config key=value        topic config (retention.ms, cleanup.policy, ...); repeatable
      --if-not-exists           succeed when the topic already exists
      --validate-only           check the request without creating anything
${BOOTSTRAP_HELP}`,
  options: {
    ...CLIENT_OPTIONS,
    partitions: { type: 'string', short: 'p' },
    'replication-factor': { type: 'string', short: 'r' },
    config: { type: 'string', short: 'c', multiple: true },
    'if-not-exists': { type: 'boolean' },
    'validate-only': { type: 'boolean' },
  },
  async run(args, io) {
    const [name] = requirePositionals(args, 'topic create', ['name']);
    const partitions = intOption(args, 'partitions', 1, 1_000_000);
    const replicationFactor = intOption(args, 'replication-factor', 1, 32767);
    const configs = parseKeyValues(listOption(args, 'config'), '--config');
    const validateOnly = args.values['validate-only'] === true;
    await withAdmin(args, async (admin) => {
      try {
        await admin.createTopics({
          topics: [{ topic: name!, configs, ...(partitions !== undefined ? { numPartitions: partitions } : {}), ...(replicationFactor !== undefined ? { replicationFactor } : {}) }],
          validateOnly,
        });
      } catch (err) {
        if (args.values['if-not-exists'] === true && err instanceof KafkaProtocolError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) {
          io.stdout.write(`Topic ${name} already exists.\n`);
          return;
        }
        throw err;
      }
      io.stdout.write(validateOnly ? `Topic ${name} can be created (validate only).\n` : `Created topic ${name}.\n`);
    });
    return 0;
  },
};

export const topicListCommand: Command = {
  name: 'topic list',
  summary: 'list topic names',
  help: `Usage: fluxo topic list [--internal]

Prints one topic name per line.

Options:
      --internal    include internal topics (__consumer_offsets)
${BOOTSTRAP_HELP}`,
  options: { ...CLIENT_OPTIONS, internal: { type: 'boolean' } },
  async run(args, io) {
    requirePositionals(args, 'topic list', []);
    const names = await withAdmin(args, (admin) => admin.listTopics({ includeInternal: args.values.internal === true }));
    io.stdout.write(names.map((n) => `${n}\n`).join(''));
    return 0;
  },
};

export const topicDescribeCommand: Command = {
  name: 'topic describe',
  summary: 'show partitions (leader, replicas, ISR) and configs of a topic',
  help: `Usage: fluxo topic describe NAME

Prints the topic's summary, its partitions (partition, leader, replicas, in-sync replicas) and its configs
with their source (DYNAMIC_TOPIC_CONFIG = set on the topic, DEFAULT_CONFIG / STATIC_BROKER_CONFIG = inherited).

Options:
${BOOTSTRAP_HELP}`,
  options: { ...CLIENT_OPTIONS },
  async run(args, io) {
    const [name] = requirePositionals(args, 'topic describe', ['name']);
    await withAdmin(args, async (admin) => {
      const [topic] = await admin.describeTopics([name!]);
      let configs: Awaited<ReturnType<Admin['describeConfigs']>>[number] | undefined;
      let configsNote = '';
      try {
        [configs] = await admin.describeConfigs({ resources: [{ type: 'topic', name: name! }] });
      } catch (err) {
        // An older broker without DescribeConfigs still gets its partitions described.
        if (!(err instanceof KafkaProtocolError) || err.code !== ErrorCode.UNSUPPORTED_VERSION) throw err;
        configsNote = '(the broker does not support DescribeConfigs)\n';
      }
      const replicationFactor = topic!.partitions[0]?.replicas.length ?? 0;
      let out = `Topic: ${topic!.name}\tPartitionCount: ${topic!.partitions.length}\tReplicationFactor: ${replicationFactor}`;
      out += topic!.isInternal ? '\tInternal: true\n' : '\n';
      out += '\nPARTITIONS\n';
      out += renderTable(
        ['PARTITION', 'LEADER', 'REPLICAS', 'ISR'],
        topic!.partitions.map((p) => [String(p.partition), String(p.leader), p.replicas.join(','), p.isr.join(',')]),
      );
      out += '\nCONFIGS\n';
      if (configsNote) out += configsNote;
      else out += renderTable(
        ['KEY', 'VALUE', 'SOURCE'],
        (configs?.configs ?? [])
          .slice()
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((c) => [c.name, c.isSensitive ? '(sensitive)' : (c.value ?? '(null)'), c.source]),
      );
      io.stdout.write(out);
    });
    return 0;
  },
};

export const topicDeleteCommand: Command = {
  name: 'topic delete',
  summary: 'delete one or more topics',
  help: `Usage: fluxo topic delete NAME...

Options:
${BOOTSTRAP_HELP}`,
  options: { ...CLIENT_OPTIONS },
  async run(args, io) {
    const names = requirePositionals(args, 'topic delete', ['name'], true);
    await withAdmin(args, (admin) => admin.deleteTopics({ topics: names }));
    io.stdout.write(names.map((n) => `Deleted topic ${n}.\n`).join(''));
    return 0;
  },
};

export const topicAlterConfigCommand: Command = {
  name: 'topic alter-config',
  summary: 'set or delete topic configs',
  help: `Usage: fluxo topic alter-config NAME [--set key=value ...] [--delete key ...]

Changes only the named keys (IncrementalAlterConfigs); --delete returns a key to its default.

Options:
      --set key=value    set a topic config; repeatable
      --delete key       remove a topic-level override; repeatable
      --validate-only    check without changing anything
${BOOTSTRAP_HELP}`,
  options: {
    ...CLIENT_OPTIONS,
    set: { type: 'string', multiple: true },
    delete: { type: 'string', multiple: true },
    'validate-only': { type: 'boolean' },
  },
  async run(args, io) {
    const [name] = requirePositionals(args, 'topic alter-config', ['name']);
    const sets = parseKeyValues(listOption(args, 'set'), '--set');
    const deletes = listOption(args, 'delete');
    if (Object.keys(sets).length === 0 && deletes.length === 0) throw new UsageError('nothing to change: give --set key=value or --delete key', 'topic alter-config');
    const configs: { name: string; value: string | null; operation: AlterConfigOperation }[] = [
      ...Object.entries(sets).map(([k, v]) => ({ name: k, value: v, operation: 'set' as const })),
      ...deletes.map((k) => ({ name: k, value: null, operation: 'delete' as const })),
    ];
    const validateOnly = args.values['validate-only'] === true;
    await withAdmin(args, async (admin) => {
      // Name the topic in the error when it does not exist (brokers may answer with a generic error).
      await admin.describeTopics([name!]);
      await admin.incrementalAlterConfigs({ resources: [{ type: 'topic', name: name!, configs }], validateOnly });
    });
    io.stdout.write(validateOnly ? `Configs of topic ${name} are valid (validate only).\n` : `Altered configs of topic ${name}.\n`);
    return 0;
  },
};

export const topicCommands: Command[] = [topicCreateCommand, topicListCommand, topicDescribeCommand, topicDeleteCommand, topicAlterConfigCommand];

export function topicHelp(): string {
  return `Usage: fluxo topic <command> [options]

Commands:
${topicCommands.map((c) => `  ${c.name.slice('topic '.length).padEnd(14)}${c.summary}`).join('\n')}

Run \`fluxo topic <command> --help\` for a command's options.`;
}

export type { Io };
