import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyBatch,
  createLogger,
  createRegistry,
  randomUuid,
  silentLogger,
  EMPTY_IMAGE,
  type Logger,
  type MetadataImage,
  type MetadataRecord,
  type Registry,
  type ResolvedConfig,
} from '@fluxo/common';
import { LogManager, logConfigFromResolved } from '@fluxo/storage';
import { PartitionLogHost } from '../../cluster/partition-log-host.js';
import type { Partition } from '../../cluster/partition.js';
import { TopicRegistry } from '../../cluster/topic-registry.js';
import { resolveNodeConfig } from '../../config/node-config.js';
import { effectiveTopicConfig } from '../../config/topic-config.js';
import type { MetadataListener } from '../../metadata/metadata-store.js';
import { ReplicationService } from '../replication-service.js';

/**
 * Cluster metadata shared by in-process test brokers: commits apply at once (applyBatch, the real schema) and
 * every node's listener sees them, like brokers that follow one controller with no lag.
 */
export class SharedMetadata {
  private current: MetadataImage = EMPTY_IMAGE;
  private readonly listeners = new Set<MetadataListener>();
  private tail: Promise<unknown> = Promise.resolve();

  image(): MetadataImage {
    return this.current;
  }

  subscribe(listener: MetadataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies in commit order, one at a time, asynchronously (like a store that writes first). */
  commit(records: readonly MetadataRecord[]): Promise<MetadataImage> {
    const run = this.tail.then(() => {
      const previous = this.current;
      const next = applyBatch(previous, previous.appliedIndex + 1, records);
      this.current = next;
      for (const l of this.listeners) l(records, next, previous);
      return next;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Creates a topic with explicit replica assignments (the first replica leads, ISR = replicas). */
  async createTopic(name: string, replicas: readonly (readonly number[])[], configs: Record<string, string> = {}): Promise<string> {
    const topicId = randomUuid();
    await this.commit([{ type: 'TopicCreated', name, topicId, partitionCount: replicas.length, configs, partitions: replicas.map((r, partition) => ({ partition, replicas: r })) }]);
    return topicId;
  }

  /** Moves leadership / sets the ISR the way the controller would (current partition epoch). */
  async changePartition(topicId: string, partition: number, change: { leader: number; isr: readonly number[] }): Promise<void> {
    const p = this.current.topicsById.get(topicId)!.partitions[partition]!;
    await this.commit([{ type: 'PartitionChanged', topicId, partition, partitionEpoch: p.partitionEpoch, leader: change.leader, isr: change.isr }]);
  }

  partitionState(topicId: string, partition: number) {
    return this.current.topicsById.get(topicId)!.partitions[partition]!;
  }
}

export interface TestBrokerOptions {
  readonly nodeId: number;
  readonly dataDir: string;
  readonly metadata: SharedMetadata;
  readonly rack?: string;
  /** Broker config overrides (Kafka keys). */
  readonly set?: Record<string, string>;
}

/** Fast replication settings for tests (seconds-long defaults would make every case slow). */
export const TEST_REPLICATION_CONFIG: Record<string, string> = {
  'replica.lag.time.max.ms': '1500',
  'replica.fetch.wait.max.ms': '200',
  'replica.fetch.backoff.ms': '50',
  'replica.socket.timeout.ms': '5000',
};

function testLogger(nodeId: number): Logger {
  return process.env.FLUXO_TEST_LOG === undefined ? silentLogger() : createLogger({ level: process.env.FLUXO_TEST_LOG, base: { nodeId } });
}

/**
 * One broker's replication stack in process, on real files and real gRPC (127.0.0.1): LogManager, topic
 * registry (partitions as replicas) and the ReplicationService, registered in the shared metadata with its
 * REPLICATION endpoint. No Kafka listener: tests drive partitions directly or through the handlers.
 */
export class TestBroker {
  private constructor(
    readonly nodeId: number,
    readonly config: ResolvedConfig,
    readonly registry: Registry,
    readonly topics: TopicRegistry,
    readonly replication: ReplicationService,
    private readonly logs: LogManager,
    private readonly unsubscribe: () => void,
    readonly logger: Logger,
  ) {}

  static async start(opts: TestBrokerOptions): Promise<TestBroker> {
    const config = resolveNodeConfig({
      set: {
        'node.id': String(opts.nodeId),
        listeners: 'PLAINTEXT://127.0.0.1:0,REPLICATION://127.0.0.1:0',
        ...(opts.rack !== undefined ? { 'broker.rack': opts.rack } : {}),
        ...TEST_REPLICATION_CONFIG,
        ...opts.set,
      },
      dataDir: opts.dataDir,
    });
    const logger = testLogger(opts.nodeId);
    const registry = createRegistry();
    const metadata = opts.metadata;
    const logs = new LogManager({
      dataDir: opts.dataDir,
      logger,
      registry,
      configFor: (topic) => logConfigFromResolved(effectiveTopicConfig(config, metadata.image().topics.get(topic)?.configs ?? {})),
      retentionCheckIntervalMs: 0,
      cleanerBackoffMs: 0,
    });
    const host = new PartitionLogHost(opts.dataDir, logs, logger);
    await host.cleanDataDir(metadata.image(), opts.nodeId);
    await logs.start();
    const topics = new TopicRegistry(config, host, logger, () => undefined);
    await topics.load(metadata.image());
    const unsubscribe = metadata.subscribe((records, next) => topics.apply(records, next));
    const replication = new ReplicationService({ nodeId: opts.nodeId, config, topics, metadata, logger, registry });
    const endpoint = await replication.start();
    const registered = await metadata.commit([
      {
        type: 'BrokerRegistered',
        nodeId: opts.nodeId,
        host: '127.0.0.1',
        port: 1,
        rack: opts.rack ?? null,
        incarnationId: randomUuid(),
        endpoints: [{ listener: 'PLAINTEXT', host: '127.0.0.1', port: 1 }, endpoint],
      },
    ]);
    await metadata.commit([{ type: 'BrokerUnfenced', nodeId: opts.nodeId, brokerEpoch: registered.brokers.get(opts.nodeId)!.brokerEpoch }]);
    return new TestBroker(opts.nodeId, config, registry, topics, replication, logs, unsubscribe, logger);
  }

  get brokerEpoch(): number {
    return this.replication.image().brokers.get(this.nodeId)!.brokerEpoch;
  }

  partition(topicId: string, index: number): Partition {
    const p = this.topics.partition(topicId, index);
    if (p === undefined || p === null) throw new Error(`node ${this.nodeId} does not host ${topicId}-${index}`);
    return p;
  }

  /** The partition once its log is open (topics open in the background after TopicCreated). */
  async hosted(topicId: string, index: number): Promise<Partition> {
    await eventually(() => (this.topics.partition(topicId, index) ?? null) !== null, `node ${this.nodeId} opens ${topicId}-${index}`);
    return this.partition(topicId, index);
  }

  /** Graceful stop (logs closed cleanly); the metadata still lists the broker, unfenced, like a broker that died. */
  async stop(): Promise<void> {
    await this.replication.stop();
    this.unsubscribe();
    await this.topics.close();
    await this.logs.close();
  }
}

/** A temp directory with one data dir per node. */
export async function testDirs(): Promise<{ dir: (nodeId: number) => string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'fluxo-replication-'));
  return { dir: (nodeId) => join(root, `node-${nodeId}`), cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Polls `check` until it returns true (the tests assert on state, not on time: the bound only stops a hang). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
