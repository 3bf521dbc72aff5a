import { mkdir, readFile, stat } from 'node:fs/promises';
import { errorName } from '@fluxo/common';
import { CLIENT_OPTIONS, intOption, listOption, parseKeyValues, parseInteger, stringOption, type ParsedArgs } from '../args.js';
import { UsageError } from '../cli-error.js';
import { isAlive, planCluster, readClusterState, resolveDataDir, spawnNode, waitStarted, writeClusterState, type ClusterState } from '../cluster/launcher.js';
import { renderTable } from '../table.js';
import { withAdmin } from '../admin-session.js';
import type { Command } from './command.js';

/** A node that does not stop within this after SIGTERM is killed. */
const STOP_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 60_000;
/** Broker ports are base+101.. and their replication listeners base+151..: at most 49 brokers. */
const MAX_BROKERS = 49;

export const clusterUpCommand: Command = {
  name: 'cluster up',
  summary: 'start a local cluster of separate processes (or restart its stopped nodes)',
  help: `Usage: fluxo cluster up [--controllers N] [--brokers N] [--racks a,b,c] [--data-dir DIR] [--base-port P]
                        [--host H] [--set key=value ...]

Starts N controller processes (node ids 1..N, a Raft quorum) and N broker processes (node ids 101..) on this
machine, each with its own data directory under DIR, and prints one JSON line per node. Brokers get racks
round robin from --racks (broker.rack). Ports: controllers P+1.., brokers P+101.. (Kafka) and P+151..
(replication), metrics P+200+i. The cluster's layout is kept in DIR/cluster.json; running \`fluxo cluster up\`
again on the same DIR restarts only the nodes that are not running (same ids, ports and data).

Options:
  --controllers N    controller quorum size (default 3)
  --brokers N        brokers (default 3)
  --racks LIST       comma-separated racks / availability zones (default none)
  --data-dir DIR     where the nodes keep their data and logs (default ./fluxo-cluster)
  --base-port P      first port (default 19090)
  --host H           address every node listens on (default 127.0.0.1)
  --set key=value    broker config for every node; repeatable
  -h, --help         show this help`,
  options: {
    controllers: { type: 'string' },
    brokers: { type: 'string' },
    racks: { type: 'string' },
    'data-dir': { type: 'string' },
    'base-port': { type: 'string' },
    host: { type: 'string' },
    set: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  },
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`, 'cluster up');
    const dataDir = resolveDataDir(stringOption(args, 'data-dir'));
    let state = await readClusterState(dataDir);
    if (state === null) {
      const controllers = intOption(args, 'controllers', 1, 9) ?? 3;
      const brokers = intOption(args, 'brokers', 1, MAX_BROKERS) ?? 3;
      const basePort = intOption(args, 'base-port', 1, 65535 - 300) ?? 19090;
      const racksText = stringOption(args, 'racks');
      const racks = racksText === undefined ? [] : racksText.split(',').map((r) => r.trim()).filter((r) => r.length > 0);
      await mkdir(dataDir, { recursive: true });
      state = planCluster({ dataDir, controllers, brokers, racks, basePort, host: stringOption(args, 'host') ?? '127.0.0.1', set: parseKeyValues(listOption(args, 'set'), '--set') });
    } else if (args.values.controllers !== undefined || args.values.brokers !== undefined || args.values.racks !== undefined || args.values.set !== undefined) {
      throw new UsageError(`${dataDir} already holds a cluster (cluster.json); its layout is fixed: \`fluxo cluster up --data-dir ${dataDir}\` restarts stopped nodes`, 'cluster up');
    }
    const started: { node: ClusterState['nodes'][number]; offset: number }[] = [];
    for (const node of state.nodes) {
      if (isAlive(node.pid)) continue;
      const offset = await stat(node.logFile).then((s) => s.size, () => 0);
      node.pid = await spawnNode(node);
      started.push({ node, offset });
    }
    await writeClusterState(dataDir, state);
    // Controllers first: brokers wait for the quorum anyway, but their startup is only meaningful after.
    await Promise.all(started.filter((s) => s.node.roles === 'controller').map((s) => waitStarted(s.node, s.offset, START_TIMEOUT_MS)));
    await Promise.all(started.filter((s) => s.node.roles === 'broker').map((s) => waitStarted(s.node, s.offset, START_TIMEOUT_MS)));
    for (const n of state.nodes) {
      io.stdout.write(
        `${JSON.stringify({ nodeId: n.nodeId, roles: n.roles, rack: n.rack, host: n.host, port: n.port, controllerPort: n.controllerPort, metricsPort: n.metricsPort, pid: n.pid, started: started.some((s) => s.node === n), log: n.logFile })}\n`,
      );
    }
    io.stdout.write(`${JSON.stringify({ clusterId: state.clusterId, bootstrap: state.bootstrap, dataDir })}\n`);
    return 0;
  },
};

export const clusterDownCommand: Command = {
  name: 'cluster down',
  summary: 'stop a local cluster started by `fluxo cluster up`',
  help: `Usage: fluxo cluster down [--data-dir DIR]

Stops every node of the cluster in DIR (default ./fluxo-cluster): brokers first (controlled shutdown moves
partition leadership away), then the controllers. A node that does not stop within 30 s is killed. Data stays.`,
  options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  async run(args, io) {
    const dataDir = resolveDataDir(stringOption(args, 'data-dir'));
    const state = await readClusterState(dataDir);
    if (state === null) throw new UsageError(`no cluster in ${dataDir} (cluster.json not found)`, 'cluster down');
    for (const roles of ['broker', 'controller'] as const) {
      const nodes = state.nodes.filter((n) => n.roles === roles && isAlive(n.pid));
      for (const n of nodes) process.kill(n.pid, 'SIGTERM');
      await Promise.all(nodes.map((n) => waitExit(n.pid, STOP_TIMEOUT_MS)));
      for (const n of nodes) io.stdout.write(`stopped ${roles} ${n.nodeId} (pid ${n.pid})\n`);
    }
    for (const n of state.nodes) n.pid = -1;
    await writeClusterState(dataDir, state);
    return 0;
  },
};

async function waitExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const clusterQuorumCommand: Command = {
  name: 'cluster quorum',
  summary: 'show the controller quorum: leader, term, voters and their lag',
  help: `Usage: fluxo cluster quorum [-b HOST:PORT]

Like kafka-metadata-quorum.sh describe --status --replication: asks any broker (DescribeQuorum), which asks
the active controller. Offsets are indexes of the metadata log; lag is how far a voter is behind the leader.
  -b, --bootstrap-server HOST:PORT[,...]   broker(s) to bootstrap from (default 127.0.0.1:9092)`,
  options: { ...CLIENT_OPTIONS },
  async run(args, io) {
    return withAdmin(args, async (admin) => {
      const q = await admin.describeQuorum();
      const followers = q.voters.filter((v) => v.nodeId !== q.leaderId);
      const now = Date.now();
      const maxLag = followers.reduce((m, v) => Math.max(m, v.lag), 0);
      const maxLagTimeMs = followers.reduce((m, v) => Math.max(m, v.lastCaughtUpTimestamp < 0 ? -1 : now - v.lastCaughtUpTimestamp), 0);
      io.stdout.write(
        [
          `LeaderId:             ${q.leaderId}`,
          `LeaderEpoch:          ${q.leaderEpoch}`,
          `HighWatermark:        ${q.highWatermark}`,
          `MaxFollowerLag:       ${maxLag}`,
          `MaxFollowerLagTimeMs: ${maxLagTimeMs}`,
          `CurrentVoters:        [${q.voters.map((v) => v.nodeId).join(',')}]`,
          '',
          '',
        ].join('\n'),
      );
      const ago = (t: number): string => (t < 0 ? '-' : `${Math.max(0, now - t)} ms ago`);
      io.stdout.write(
        renderTable(
          ['NODE', 'LOG_END_OFFSET', 'LAG', 'LAST_FETCH', 'LAST_CAUGHT_UP', 'STATUS'],
          q.voters.map((v) => [String(v.nodeId), String(v.logEndOffset), String(v.lag), ago(v.lastFetchTimestamp), ago(v.lastCaughtUpTimestamp), v.nodeId === q.leaderId ? 'Leader' : 'Follower']),
        ),
      );
      return 0;
    });
  },
};

function partitionsFromArgs(args: ParsedArgs, command: string): { topic: string; partition: number }[] | undefined {
  const topic = stringOption(args, 'topic');
  const partition = intOption(args, 'partition', 0);
  if (topic === undefined) {
    if (partition !== undefined) throw new UsageError('--partition needs --topic', command);
    return undefined;
  }
  return [{ topic, partition: partition ?? -1 }];
}

export const clusterElectLeadersCommand: Command = {
  name: 'cluster elect-leaders',
  summary: 'move partition leadership to the preferred replica (or elect an unclean leader)',
  help: `Usage: fluxo cluster elect-leaders (--all-topic-partitions | --topic T [--partition P]) [--election-type preferred|unclean]

Like kafka-leader-election.sh. preferred (default): each partition's first replica becomes leader when it is
alive and in sync. unclean: a leaderless partition gets any alive replica, even one that is not in sync (it may
lose acknowledged records).
  -b, --bootstrap-server HOST:PORT[,...]   broker(s) to bootstrap from (default 127.0.0.1:9092)`,
  options: { ...CLIENT_OPTIONS, topic: { type: 'string' }, partition: { type: 'string' }, 'all-topic-partitions': { type: 'boolean' }, 'election-type': { type: 'string' } },
  async run(args, io) {
    const type = stringOption(args, 'election-type') ?? 'preferred';
    if (type !== 'preferred' && type !== 'unclean') throw new UsageError(`--election-type must be preferred or unclean, not "${type}"`, 'cluster elect-leaders');
    let partitions = partitionsFromArgs(args, 'cluster elect-leaders');
    if ((partitions === undefined) === (args.values['all-topic-partitions'] !== true)) throw new UsageError('give either --all-topic-partitions or --topic', 'cluster elect-leaders');
    return withAdmin(args, async (admin) => {
      if (partitions !== undefined && partitions[0]!.partition < 0) {
        const [d] = await admin.describeTopics([partitions[0]!.topic]);
        partitions = d!.partitions.map((p) => ({ topic: d!.name, partition: p.partition }));
      }
      const results = await admin.electLeaders({ type, ...(partitions !== undefined ? { partitions } : {}) });
      const done = results.filter((r) => r.errorCode === 0);
      const notNeeded = results.filter((r) => errorName(r.errorCode) === 'ELECTION_NOT_NEEDED');
      const failed = results.filter((r) => r.errorCode !== 0 && errorName(r.errorCode) !== 'ELECTION_NOT_NEEDED');
      const names = (rs: typeof results): string => rs.map((r) => `${r.topic}-${r.partition}`).join(', ');
      if (done.length > 0) io.stdout.write(`Successfully completed leader election (${type.toUpperCase()}) for partitions ${names(done)}\n`);
      if (notNeeded.length > 0) io.stdout.write(`Valid replica already elected for partitions ${names(notNeeded)}\n`);
      if (done.length === 0 && notNeeded.length === 0 && failed.length === 0) io.stdout.write('No partition needed an election.\n');
      for (const r of failed) io.stderr.write(`Error completing leader election (${type.toUpperCase()}) for partition ${r.topic}-${r.partition}: ${errorName(r.errorCode)}: ${r.errorMessage ?? ''}\n`);
      return failed.length > 0 ? 1 : 0;
    });
  },
};

interface ReassignmentPlan {
  readonly partitions: { topic: string; partition: number; replicas: number[] }[];
}

export const clusterReassignCommand: Command = {
  name: 'cluster reassign',
  summary: 'move partition replicas to other brokers (start, verify, cancel, list)',
  help: `Usage: fluxo cluster reassign (--reassignment-json-file F | --topic T --partition P --replicas 1,2,3)
                              [--execute | --verify | --cancel]
       fluxo cluster reassign --list

Like kafka-reassign-partitions.sh (the JSON file has its format: {"version":1,"partitions":[{"topic":"t",
"partition":0,"replicas":[101,102,103]}]}). --execute (default) starts the moves: new replicas copy the log
from the leader while producers keep writing, and the controller switches the replica set once they are in
sync; the brokers' leader.replication.throttled.rate (bytes/s) throttles the copy. --verify reports whether
each move is complete; --cancel reverts ongoing moves; --list shows them.
  -b, --bootstrap-server HOST:PORT[,...]   broker(s) to bootstrap from (default 127.0.0.1:9092)`,
  options: {
    ...CLIENT_OPTIONS,
    'reassignment-json-file': { type: 'string' },
    topic: { type: 'string' },
    partition: { type: 'string' },
    replicas: { type: 'string' },
    execute: { type: 'boolean' },
    verify: { type: 'boolean' },
    cancel: { type: 'boolean' },
    list: { type: 'boolean' },
  },
  async run(args, io) {
    const modes = ['execute', 'verify', 'cancel', 'list'].filter((m) => args.values[m] === true);
    if (modes.length > 1) throw new UsageError(`choose one of --execute, --verify, --cancel, --list`, 'cluster reassign');
    const mode = modes[0] ?? 'execute';
    if (mode === 'list') {
      return withAdmin(args, async (admin) => {
        const ongoing = await admin.listPartitionReassignments();
        if (ongoing.length === 0) io.stdout.write('No partition reassignment is in progress.\n');
        else io.stdout.write(renderTable(['TOPIC', 'PARTITION', 'REPLICAS', 'ADDING', 'REMOVING'], ongoing.map((o) => [o.topic, String(o.partition), o.replicas.join(','), o.adding.join(','), o.removing.join(',')])));
        return 0;
      });
    }
    const plan = await readPlan(args);
    return withAdmin(args, async (admin) => {
      if (mode === 'verify') {
        const ongoing = await admin.listPartitionReassignments([...new Set(plan.partitions.map((p) => p.topic))]);
        const described = await admin.describeTopics([...new Set(plan.partitions.map((p) => p.topic))]);
        let pending = 0;
        for (const p of plan.partitions) {
          const now = described.find((d) => d.name === p.topic)?.partitions.find((x) => x.partition === p.partition);
          if (ongoing.some((o) => o.topic === p.topic && o.partition === p.partition)) {
            pending++;
            io.stdout.write(`Reassignment of partition ${p.topic}-${p.partition} is still in progress.\n`);
          } else if (now !== undefined && now.replicas.join(',') === p.replicas.join(',')) {
            io.stdout.write(`Reassignment of partition ${p.topic}-${p.partition} is completed.\n`);
          } else {
            pending++;
            io.stdout.write(`There is no active reassignment of partition ${p.topic}-${p.partition}, but replicas are ${now?.replicas.join(',') ?? 'unknown'} rather than ${p.replicas.join(',')}.\n`);
          }
        }
        return pending > 0 ? 1 : 0;
      }
      const results = await admin.alterPartitionReassignments({ reassignments: plan.partitions.map((p) => ({ topic: p.topic, partition: p.partition, replicas: mode === 'cancel' ? null : p.replicas })) });
      let failed = 0;
      for (const r of results) {
        if (r.errorCode === 0) io.stdout.write(`${mode === 'cancel' ? 'Cancelled' : 'Started'} reassignment of partition ${r.topic}-${r.partition}.\n`);
        else {
          failed++;
          io.stderr.write(`Error ${mode === 'cancel' ? 'cancelling' : 'starting'} reassignment of ${r.topic}-${r.partition}: ${errorName(r.errorCode)}: ${r.errorMessage ?? ''}\n`);
        }
      }
      return failed > 0 ? 1 : 0;
    });
  },
};

async function readPlan(args: ParsedArgs): Promise<ReassignmentPlan> {
  const file = stringOption(args, 'reassignment-json-file');
  if (file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, 'cluster reassign');
    }
    const partitions = (parsed as { partitions?: unknown }).partitions;
    if (!Array.isArray(partitions)) throw new UsageError(`${file}: expected {"partitions": [...]}`, 'cluster reassign');
    return {
      partitions: partitions.map((p: { topic?: unknown; partition?: unknown; replicas?: unknown }, i) => {
        if (typeof p.topic !== 'string' || !Number.isInteger(p.partition) || !Array.isArray(p.replicas) || !p.replicas.every((r) => Number.isInteger(r))) {
          throw new UsageError(`${file}: partitions[${i}] needs topic, partition and replicas`, 'cluster reassign');
        }
        return { topic: p.topic, partition: p.partition as number, replicas: p.replicas as number[] };
      }),
    };
  }
  const topic = stringOption(args, 'topic');
  const partition = intOption(args, 'partition', 0);
  const replicasText = stringOption(args, 'replicas');
  if (topic === undefined || partition === undefined) throw new UsageError('give --reassignment-json-file or --topic and --partition', 'cluster reassign');
  const replicas = args.values.cancel === true && replicasText === undefined ? [] : (replicasText ?? '').split(',').map((r) => parseInteger(r.trim(), '--replicas', 0));
  if (args.values.cancel !== true && replicas.length === 0) throw new UsageError('--replicas is required', 'cluster reassign');
  return { partitions: [{ topic, partition, replicas }] };
}

export const clusterCommands: Command[] = [clusterUpCommand, clusterDownCommand, clusterQuorumCommand, clusterElectLeadersCommand, clusterReassignCommand];

export function clusterHelp(): string {
  return `Usage: fluxo cluster <up|down|quorum|elect-leaders|reassign> [options]

  cluster up              ${clusterUpCommand.summary}
  cluster down            ${clusterDownCommand.summary}
  cluster quorum          ${clusterQuorumCommand.summary}
  cluster elect-leaders   ${clusterElectLeadersCommand.summary}
  cluster reassign        ${clusterReassignCommand.summary}

Run \`fluxo cluster <command> --help\` for details.`;
}
