/**
 * Pieces of the cluster-mode group tests: FindCoordinator sent to one chosen broker (@fluxo/client, an
 * implementation independent of the broker's), and a group of kafkajs consumers whose deliveries and commits
 * feed the ledger of test/compat/groups-support.ts.
 */
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Cluster, findCoordinator } from '@fluxo/client';
import { KafkaProtocolError } from '@fluxo/common';
import { checkLedger, type LedgerReport, type MemberEvent } from '../compat/groups-support.js';
import { waitFor, type LaunchedCluster } from '../harness/index.js';

/** Kafka's partitionFor: Utils.abs(groupId.hashCode) % partitions (Java String.hashCode over UTF-16 units). */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(31, h) + groupId.charCodeAt(i)) | 0;
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

export type CoordinatorAnswer = { readonly nodeId: number } | { readonly errorCode: number };

/** FindCoordinator(group) sent to the broker at `address` only. */
export async function coordinatorVia(address: string, groupId: string): Promise<CoordinatorAnswer> {
  const cluster = new Cluster({ brokers: [address], clientId: 'groups-failover-probe', retry: { retries: 0 }, requestTimeoutMs: 15_000, connectTimeoutMs: 2_000 });
  try {
    await cluster.connect();
    return { nodeId: (await findCoordinator(cluster, groupId)).nodeId };
  } catch (err) {
    if (err instanceof KafkaProtocolError) return { errorCode: err.code };
    throw err;
  } finally {
    await cluster.close().catch(() => undefined);
  }
}

/** Node ids of the brokers that `address` lists in Metadata (live ones: fenced brokers are left out). */
export async function listedBrokers(address: string): Promise<number[]> {
  const cluster = new Cluster({ brokers: [address], clientId: 'groups-failover-probe', retry: { retries: 0 }, requestTimeoutMs: 15_000, connectTimeoutMs: 2_000 });
  try {
    await cluster.connect();
    return (await cluster.fetchMetadata([], false)).brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  } finally {
    await cluster.close().catch(() => undefined);
  }
}

/** Kafka addresses of the brokers in the cluster, by node id. */
export async function brokerAddresses(cluster: LaunchedCluster): Promise<Map<number, string>> {
  return new Map((await cluster.nodes()).filter((n) => n.roles === 'broker').map((n) => [n.nodeId, `${n.host}:${n.port}`] as const));
}

/** The coordinator every broker but `except` names, once they agree (and name one of `among`). */
export async function agreedCoordinator(cluster: LaunchedCluster, groupId: string, opts: { except?: number; among?: readonly number[]; timeoutMs: number }): Promise<number> {
  return waitFor(async () => {
    const addresses = [...(await brokerAddresses(cluster))].filter(([id]) => id !== opts.except).map(([, a]) => a);
    const answers = await Promise.all(addresses.map((a) => coordinatorVia(a, groupId)));
    const ids = new Set(answers.map((a) => ('nodeId' in a ? a.nodeId : -a.errorCode - 1000)));
    const [only] = [...ids];
    return ids.size === 1 && only !== undefined && only > 0 && (opts.among === undefined || opts.among.includes(only)) ? only : null;
  }, { timeoutMs: opts.timeoutMs, intervalMs: 200, what: `brokers agreeing on the coordinator of ${groupId}` });
}

/** SIGTERM (graceful: controlled shutdown) and wait until the process is gone. */
export async function stopGracefully(cluster: LaunchedCluster, nodeId: number): Promise<void> {
  const { pid } = await cluster.node(nodeId);
  process.kill(pid, 'SIGTERM');
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, { timeoutMs: 60_000, intervalMs: 50, what: `node ${nodeId} (pid ${pid}) to exit after SIGTERM` });
}

export function kafkaFor(cluster: LaunchedCluster, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 3_000 } });
}

/** Produces `values` (one record each, value = key) in batches; acks=all; kafkajs retries through leader moves. */
export async function produceAll(producer: Producer, topic: string, values: readonly string[]): Promise<void> {
  const BATCH = 500;
  for (let i = 0; i < values.length; i += BATCH) {
    await producer.send({ topic, acks: -1, messages: values.slice(i, i + BATCH).map((v) => ({ key: v, value: v })) });
  }
}

/**
 * A consumer group of kafkajs members in this process. Every delivery and successful commit is logged per
 * member (MemberEvent) for checkLedger; `violations` is the strict form of the bound (one event loop orders
 * commits and deliveries): a record below an acknowledged commit of its partition is never delivered again.
 */
export class KafkajsGroup {
  readonly events = new Map<string, MemberEvent[]>();
  readonly assignments = new Map<string, number[]>();
  readonly violations: string[] = [];
  readonly crashes: string[] = [];
  /** Wall-clock history for failure messages: what happened to each partition, and group events. */
  readonly timeline: string[] = [];
  /** GROUP_JOIN events (one per member per completed rebalance). */
  joins = 0;
  distinct = 0;
  private readonly committed = new Map<number, number>();
  private readonly processed = new Set<string>();
  private readonly consumers = new Map<string, Consumer>();
  private readonly lastOffset = new Map<string, number>();
  private sequence = 0;

  note(line: string): void {
    if (this.timeline.length < 20_000) this.timeline.push(`${new Date().toISOString()} ${line}`);
  }

  constructor(
    private readonly kafka: Kafka,
    readonly groupId: string,
    readonly topic: string,
    private readonly partitions: number,
  ) {}

  async start(name: string): Promise<void> {
    const log: MemberEvent[] = [];
    this.events.set(name, log);
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: 10_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 500,
      // kafkajs rediscovers the coordinator only by crashing and restarting once its retries run out: keep them
      // short (~3 s) so a member notices a dead coordinator well within its 10 s session at the new one.
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
      for (const t of e.payload.topics) {
        // kafkajs reports the partition as a string here ("3").
        for (const p of t.partitions) {
          const partition = Number(p.partition);
          log.push({ kind: 'c', partition, offset: Number(p.offset) });
          this.note(`${name} committed ${partition}:${p.offset}`);
          this.committed.set(partition, Math.max(this.committed.get(partition) ?? 0, Number(p.offset)));
        }
      }
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.joins++;
      this.assignments.set(name, e.payload.memberAssignment[this.topic] ?? []);
      this.note(`${name} joined generation ${e.payload.groupId}: ${JSON.stringify(e.payload.memberAssignment[this.topic] ?? [])}`);
      log.push({ kind: 'r', partitions: Array.from({ length: this.partitions }, (_, p) => p) });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.crashes.push(`${name}: ${String(e.payload.error)} (restart: ${String(e.payload.restart)})`);
      this.note(`${name} crashed: ${String(e.payload.error)}`);
      // A crashed member restarts and rejoins: its runs end here.
      log.push({ kind: 'r', partitions: Array.from({ length: this.partitions }, (_, p) => p) });
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommitInterval: 500,
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset);
        const key = `${partition}:${offset}`;
        if (this.processed.has(key) && offset < (this.committed.get(partition) ?? 0)) {
          this.violations.push(`${key} redelivered to ${name} though committed up to ${this.committed.get(partition)}`);
        }
        const last = this.lastOffset.get(`${name}:${partition}`);
        if (last === undefined || last + 1 !== offset) this.note(`${name} consumes ${partition} from ${offset}${last === undefined ? '' : ` (was at ${last})`}`);
        this.lastOffset.set(`${name}:${partition}`, offset);
        if (!this.processed.has(key)) this.distinct++;
        this.processed.add(key);
        log.push({ kind: 'm', partition, offset, value: message.value!.toString(), atMs: ++this.sequence });
      },
    });
    this.consumers.set(name, consumer);
  }

  /** One member leaves (commits, LeaveGroup); its partitions go to the others in the next generation. */
  async stopMember(name: string): Promise<void> {
    const consumer = this.consumers.get(name);
    if (consumer === undefined) return;
    this.consumers.delete(name);
    await consumer.disconnect();
    this.assignments.delete(name);
  }

  /** Waits until `members` members each hold some partitions and together all of them. */
  async waitAssigned(members: number, timeoutMs: number): Promise<void> {
    await waitFor(() => {
      const held = [...this.assignments.values()];
      return held.length === members && held.every((p) => p.length > 0) && new Set(held.flat()).size === this.partitions;
    }, { timeoutMs, intervalMs: 100, what: `${members} members sharing ${this.partitions} partitions of ${this.topic}` });
  }

  ledger(expected: readonly string[]): LedgerReport {
    return checkLedger(this.events, expected);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.consumers.values()].map((c) => c.disconnect().catch(() => undefined)));
    this.consumers.clear();
  }
}
