import { Admin, listOffsets, type GroupDescription, type ResetStrategy } from '@fluxo/client';
import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { CLIENT_OPTIONS, listOption, parseInteger, requirePositionals, stringOption } from '../args.js';
import { UsageError } from '../cli-error.js';
import type { Io } from '../io.js';
import { renderTable } from '../table.js';
import { withAdmin } from '../admin-session.js';
import type { Command } from './command.js';

const BOOTSTRAP_HELP = '  -b, --bootstrap-server HOST:PORT[,...]   broker(s) to bootstrap from (default 127.0.0.1:9092)';

export const groupListCommand: Command = {
  name: 'group list',
  summary: 'list consumer groups',
  help: `Usage: fluxo group list [--state STATE ...]

Prints every group with its protocol type and state (Empty, Stable, PreparingRebalance,
CompletingRebalance, Dead).

Options:
  -s, --state STATE    only groups in this state; repeatable
${BOOTSTRAP_HELP}`,
  options: { ...CLIENT_OPTIONS, state: { type: 'string', short: 's', multiple: true } },
  async run(args, io) {
    requirePositionals(args, 'group list', []);
    const states = listOption(args, 'state');
    const groups = await withAdmin(args, (admin) => admin.listGroups(states.length > 0 ? { states } : {}));
    io.stdout.write(renderTable(['GROUP', 'PROTOCOL-TYPE', 'STATE'], groups.map((g) => [g.groupId, g.protocolType || '-', g.state ?? '-'])));
    return 0;
  },
};

interface OffsetRow {
  topic: string;
  partition: number;
  current: number;
  logEnd: number;
  member: GroupDescription['members'][number] | undefined;
}

/** Log end offsets (ListOffsets latest) per partition; partitions of topics that no longer exist are left out. */
async function logEndOffsets(admin: Admin, partitions: { topic: string; partition: number }[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const topics = [...new Set(partitions.map((p) => p.topic))];
  await Promise.all(
    topics.map(async (topic) => {
      const mine = partitions.filter((p) => p.topic === topic);
      try {
        const ends = await listOffsets(admin.cluster, mine.map((tp) => ({ ...tp, timestamp: -1 })));
        for (const e of ends) out.set(`${e.topic}\u0000${e.partition}`, e.offset);
      } catch (err) {
        if (!(err instanceof KafkaProtocolError) || err.code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw err;
      }
    }),
  );
  return out;
}

/** One group's description: summary, members with their assignments, and per-partition offsets and lag. */
async function describeGroup(admin: Admin, description: GroupDescription): Promise<string> {
  const committed = await admin.fetchOffsets({ groupId: description.groupId });
  if (description.state === 'Dead' && description.members.length === 0 && committed.length === 0) {
    throw new KafkaProtocolError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${description.groupId} does not exist (GROUP_ID_NOT_FOUND)`);
  }
  const owner = new Map<string, GroupDescription['members'][number]>();
  for (const m of description.members) for (const tp of m.assignment) owner.set(`${tp.topic}\u0000${tp.partition}`, m);
  const keys = new Map<string, { topic: string; partition: number }>();
  for (const c of committed) keys.set(`${c.topic}\u0000${c.partition}`, { topic: c.topic, partition: c.partition });
  for (const m of description.members) for (const tp of m.assignment) keys.set(`${tp.topic}\u0000${tp.partition}`, tp);
  const partitions = [...keys.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const ends = await logEndOffsets(admin, partitions);
  const current = new Map(committed.map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]));
  const rows: OffsetRow[] = partitions.map((tp) => ({
    ...tp,
    current: current.get(`${tp.topic}\u0000${tp.partition}`) ?? -1,
    logEnd: ends.get(`${tp.topic}\u0000${tp.partition}`) ?? -1,
    member: owner.get(`${tp.topic}\u0000${tp.partition}`),
  }));
  const lagOf = (r: OffsetRow): number | null => (r.current >= 0 && r.logEnd >= 0 ? Math.max(0, r.logEnd - r.current) : null);
  const totalLag = rows.reduce((sum, r) => sum + (lagOf(r) ?? 0), 0);
  let out = renderTable(
    ['GROUP', description.groupId],
    [
      ['COORDINATOR', `${description.coordinator.nodeId} (${description.coordinator.host}:${description.coordinator.port})`],
      ['STATE', description.state],
      ['BALANCER', description.protocol || '-'],
      ['MEMBERS', String(description.members.length)],
      ['TOTAL-LAG', String(totalLag)],
    ],
  );
  if (description.members.length > 0) {
    out += '\nMEMBERS\n';
    out += renderTable(
      ['CONSUMER-ID', 'INSTANCE-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', 'ASSIGNMENT'],
      description.members.map((m) => {
        const byTopic = new Map<string, number[]>();
        for (const tp of m.assignment) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
        return [
          m.memberId,
          m.groupInstanceId ?? '-',
          m.clientHost,
          m.clientId,
          String(m.assignment.length),
          [...byTopic].map(([t, ps]) => `${t}:${ps.join(',')}`).join(' ') || '-',
        ];
      }),
    );
  }
  out += '\nOFFSETS\n';
  out += renderTable(
    ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
    rows.map((r) => {
      const lag = lagOf(r);
      return [
        r.topic,
        String(r.partition),
        r.current >= 0 ? String(r.current) : '-',
        r.logEnd >= 0 ? String(r.logEnd) : '-',
        lag === null ? '-' : String(lag),
        r.member?.memberId ?? '-',
        r.member?.clientHost ?? '-',
        r.member?.clientId ?? '-',
      ];
    }),
  );
  return out;
}

export const groupDescribeCommand: Command = {
  name: 'group describe',
  summary: 'show members, assignments, committed offsets and lag of groups',
  help: `Usage: fluxo group describe GROUP...

For each group: coordinator, state, assignor (BALANCER), members with their partitions, and per partition
CURRENT-OFFSET (committed), LOG-END-OFFSET, LAG = LOG-END-OFFSET - CURRENT-OFFSET ('-' when nothing is
committed) and the member reading it.

Options:
${BOOTSTRAP_HELP}`,
  options: { ...CLIENT_OPTIONS },
  async run(args, io) {
    const groups = requirePositionals(args, 'group describe', ['group'], true);
    await withAdmin(args, async (admin) => {
      const descriptions = await admin.describeGroups(groups);
      const parts: string[] = [];
      for (const d of descriptions) parts.push(await describeGroup(admin, d));
      io.stdout.write(parts.join('\n'));
    });
    return 0;
  },
};

/** --topic T, T:0, T:0,2,5 */
function parseTopicOption(text: string): { topic: string; partitions?: number[] } {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { topic: text };
  const topic = text.slice(0, colon);
  if (topic === '') throw new UsageError(`--topic expects TOPIC or TOPIC:P,P,..., not "${text}"`);
  const partitions = text.slice(colon + 1).split(',').map((p) => parseInteger(p, `partition in --topic ${text}`, 0));
  return { topic, partitions };
}

function parseDatetime(text: string): number {
  if (/^\d+$/.test(text)) return parseInteger(text, '--to-datetime', 0);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`--to-datetime expects an ISO-8601 time (2024-01-31T12:00:00Z) or epoch ms, not "${text}"`);
  return ms;
}

export const groupResetOffsetsCommand: Command = {
  name: 'group reset-offsets',
  summary: 'plan or commit new offsets for an inactive group',
  help: `Usage: fluxo group reset-offsets GROUP (--topic TOPIC[:P,P...] ... | --all-topics)
                               (--to-earliest | --to-latest | --to-datetime TIME | --shift-by N | --to-offset N)
                               [--execute]

Computes each partition's new committed offset (clamped to the log's start and end) and prints it. Nothing
is committed unless --execute is given (the default is a dry run, as with kafka-consumer-groups). The group
must have no active members.

Options:
      --topic TOPIC[:P,...]   a topic, or some of its partitions; repeatable
      --all-topics            every topic the group has committed offsets for
      --to-earliest           the log start offset
      --to-latest             the log end offset
      --to-datetime TIME      the first offset at or after TIME (ISO-8601 or epoch ms); the end if none
      --shift-by N            the committed offset plus N (N may be negative)
      --to-offset N           offset N
      --dry-run               only show the plan (the default)
      --execute               commit the new offsets
${BOOTSTRAP_HELP}`,
  options: {
    ...CLIENT_OPTIONS,
    topic: { type: 'string', multiple: true },
    'all-topics': { type: 'boolean' },
    'to-earliest': { type: 'boolean' },
    'to-latest': { type: 'boolean' },
    'to-datetime': { type: 'string' },
    'shift-by': { type: 'string' },
    'to-offset': { type: 'string' },
    'dry-run': { type: 'boolean' },
    execute: { type: 'boolean' },
  },
  async run(args, io) {
    const [groupId] = requirePositionals(args, 'group reset-offsets', ['group']);
    const topics = listOption(args, 'topic').map(parseTopicOption);
    const allTopics = args.values['all-topics'] === true;
    if ((topics.length > 0) === allTopics) throw new UsageError('give --topic (one or more) or --all-topics', 'group reset-offsets');
    const strategies: ResetStrategy[] = [];
    if (args.values['to-earliest'] === true) strategies.push({ to: 'earliest' });
    if (args.values['to-latest'] === true) strategies.push({ to: 'latest' });
    const datetime = stringOption(args, 'to-datetime');
    if (datetime !== undefined) strategies.push({ to: 'datetime', timestampMs: parseDatetime(datetime) });
    const shiftBy = stringOption(args, 'shift-by');
    if (shiftBy !== undefined) strategies.push({ shiftBy: parseInteger(shiftBy, '--shift-by') });
    const toOffset = stringOption(args, 'to-offset');
    if (toOffset !== undefined) strategies.push({ to: 'offset', offset: parseInteger(toOffset, '--to-offset', 0) });
    if (strategies.length !== 1) {
      throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-datetime, --shift-by, --to-offset', 'group reset-offsets');
    }
    const execute = args.values.execute === true;
    if (execute && args.values['dry-run'] === true) throw new UsageError('give either --dry-run or --execute, not both', 'group reset-offsets');
    const resets = await withAdmin(args, (admin) =>
      admin.resetOffsets({ groupId: groupId!, topics: allTopics ? null : topics, strategy: strategies[0]!, dryRun: !execute }),
    );
    io.stdout.write(
      renderTable(
        ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
        resets.map((r) => [groupId!, r.topic, String(r.partition), r.currentOffset >= 0 ? String(r.currentOffset) : '-', String(r.newOffset)]),
      ),
    );
    io.stderr.write(
      execute
        ? `Committed new offsets for ${resets.length} partition${resets.length === 1 ? '' : 's'} of group ${groupId}.\n`
        : 'Dry run: nothing was committed. Add --execute to commit these offsets.\n',
    );
    return 0;
  },
};

export const groupDeleteCommand: Command = {
  name: 'group delete',
  summary: 'delete groups (and their committed offsets)',
  help: `Usage: fluxo group delete GROUP...

Deletes groups that have no active members, with all their committed offsets.

Options:
${BOOTSTRAP_HELP}`,
  options: { ...CLIENT_OPTIONS },
  async run(args, io) {
    const groups = requirePositionals(args, 'group delete', ['group'], true);
    await withAdmin(args, (admin) => admin.deleteGroups(groups));
    io.stdout.write(groups.map((g) => `Deleted group ${g}.\n`).join(''));
    return 0;
  },
};

export const groupDeleteOffsetsCommand: Command = {
  name: 'group delete-offsets',
  summary: "delete a group's committed offsets of topics",
  help: `Usage: fluxo group delete-offsets GROUP --topic TOPIC[:P,P...] ...

Forgets the group's committed offsets of these partitions (all of the topic's when none are named); refused
for topics the group's members are reading (GROUP_SUBSCRIBED_TO_TOPIC).

Options:
      --topic TOPIC[:P,...]   repeatable
${BOOTSTRAP_HELP}`,
  options: { ...CLIENT_OPTIONS, topic: { type: 'string', multiple: true } },
  async run(args, io) {
    const [groupId] = requirePositionals(args, 'group delete-offsets', ['group']);
    const topics = listOption(args, 'topic').map(parseTopicOption);
    if (topics.length === 0) throw new UsageError('give --topic', 'group delete-offsets');
    const count = await withAdmin(args, async (admin) => {
      const partitions = [];
      for (const t of topics) {
        const all = t.partitions ?? (await admin.describeTopics([t.topic]))[0]!.partitions.map((p) => p.partition);
        for (const partition of all) partitions.push({ topic: t.topic, partition });
      }
      await admin.deleteOffsets({ groupId: groupId!, partitions });
      return partitions.length;
    });
    io.stdout.write(`Deleted committed offsets of ${count} partition${count === 1 ? '' : 's'} of group ${groupId}.\n`);
    return 0;
  },
};

export const groupCommands: Command[] = [groupListCommand, groupDescribeCommand, groupResetOffsetsCommand, groupDeleteCommand, groupDeleteOffsetsCommand];

export function groupHelp(): string {
  return `Usage: fluxo group <command> [options]

Commands:
${groupCommands.map((c) => `  ${c.name.slice('group '.length).padEnd(15)}${c.summary}`).join('\n')}

Run \`fluxo group <command> --help\` for a command's options.`;
}

export type { Io };
