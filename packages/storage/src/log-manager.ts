import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, FluxoError, type Logger, type Registry } from '@fluxo/common';
import { parseLogFileName, parsePartitionDirName, partitionDirName } from './file-names.js';
import { SegmentHandlePool } from './handle-pool.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.js';
import { PartitionLog } from './partition-log.js';
import { trackLogs } from './storage-metrics.js';

export interface LogManagerOptions {
  /** Partition logs live in `<dataDir>/<topic>-<partition>/`. */
  dataDir: string;
  logger: Logger;
  registry: Registry;
  /** The effective config of a topic's logs (topic overrides over broker defaults). */
  configFor?: (topic: string) => LogConfig;
  nowMs?: () => number;
  /** log.retention.check.interval.ms; 0 disables the retention scheduler. */
  retentionCheckIntervalMs?: number;
  /** log.cleaner.backoff.ms; 0 disables the cleaner scheduler. */
  cleanerBackoffMs?: number;
  /** log.cleaner.enable. */
  cleanerEnabled?: boolean;
  /** producer.id.expiration.ms: idempotent producers idle this long are forgotten (Kafka's default: 1 day). */
  producerIdExpirationMs?: number;
  /** producer.id.expiration.check.interval.ms; 0 disables the expiration scheduler. */
  producerIdExpirationCheckIntervalMs?: number;
  /** Closed segments keeping an open file handle and loaded indexes, across all logs (LRU). */
  maxOpenSegments?: number;
  /** Logs opened (recovered) in parallel at start. */
  recoveryConcurrency?: number;
}

/**
 * Owns every partition log under one data directory: opens (recovers) them at start, creates and deletes
 * them, runs the retention and cleaner schedulers, and closes them cleanly on shutdown. Relaxed-mode flushes
 * (flush.ms) are timed by each log itself, only while it has unflushed appends.
 */
export class LogManager {
  private readonly logs = new Map<string, PartitionLog>();
  private readonly opening = new Map<string, Promise<PartitionLog>>();
  private readonly pool: SegmentHandlePool;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly timers: NodeJS.Timeout[] = [];
  private retentionRunning = false;
  private cleanerRunning = false;
  private closed = false;
  private readonly untrackLogs: () => void;

  constructor(private readonly opts: LogManagerOptions) {
    this.pool = new SegmentHandlePool(opts.maxOpenSegments ?? 1024);
    this.logger = opts.logger.child({ component: 'log-manager' });
    this.now = opts.nowMs ?? Date.now;
    // Size and offsets per partition are read from the open logs at scrape time.
    this.untrackLogs = trackLogs(opts.registry, () => this.logs.values());
  }

  /** Opens every partition log found in the data directory (recovering as needed), then starts schedulers. */
  async start(): Promise<void> {
    await mkdir(this.opts.dataDir, { recursive: true });
    const started = this.now();
    const found: { topic: string; partition: number }[] = [];
    for (const entry of await readdir(this.opts.dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const tp = parsePartitionDirName(entry.name);
      if (tp === null) continue;
      // Only directories holding segments are logs (other components may keep their own dirs here).
      const files = await readdir(join(this.opts.dataDir, entry.name));
      if (!files.some((f) => parseLogFileName(f) !== null)) continue;
      found.push(tp);
    }
    const concurrency = Math.max(1, this.opts.recoveryConcurrency ?? 4);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < found.length) {
        const tp = found[next++]!;
        await this.getOrCreate(tp.topic, tp.partition);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, found.length) }, worker));
    this.logger.info({ logs: found.length, durationMs: this.now() - started }, 'opened partition logs');
    this.startSchedulers();
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(partitionDirName(topic, partition));
  }

  all(): PartitionLog[] {
    return [...this.logs.values()];
  }

  /** The partition's log, opened (recovered) or created on first use. */
  getOrCreate(topic: string, partition: number, config?: LogConfig): Promise<PartitionLog> {
    if (this.closed) return Promise.reject(new FluxoError('log manager is closed', ErrorCode.KAFKA_STORAGE_ERROR));
    const key = partitionDirName(topic, partition);
    const existing = this.logs.get(key);
    if (existing) return Promise.resolve(existing);
    const pending = this.opening.get(key);
    if (pending) return pending;
    const p = PartitionLog.open({
      dir: join(this.opts.dataDir, key),
      topic,
      partition,
      config: config ?? this.configFor(topic),
      logger: this.opts.logger,
      registry: this.opts.registry,
      handlePool: this.pool,
      ...(this.opts.nowMs ? { nowMs: this.opts.nowMs } : {}),
    })
      .then((log) => {
        this.logs.set(key, log);
        return log;
      })
      .finally(() => this.opening.delete(key));
    this.opening.set(key, p);
    return p;
  }

  /** Applies a topic's new config to its open logs (IncrementalAlterConfigs). */
  updateTopicConfig(topic: string, config: LogConfig): void {
    for (const log of this.logs.values()) if (log.topic === topic) log.updateConfig(config);
  }

  /** Deletes a partition's log and its directory (DeleteTopics). */
  async deleteLog(topic: string, partition: number): Promise<void> {
    const key = partitionDirName(topic, partition);
    const log = this.logs.get(key) ?? (await this.opening.get(key));
    if (!log) return;
    this.logs.delete(key);
    await log.delete();
  }

  /** One retention pass over every log (what the scheduler runs every log.retention.check.interval.ms). */
  async runRetention(nowMs = this.now()): Promise<void> {
    for (const log of this.all()) {
      try {
        await log.runRetention(nowMs);
      } catch (err) {
        this.logger.error({ err, topic: log.topic, partition: log.partition }, 'retention failed');
      }
    }
  }

  /** Forgets idle idempotent producers in every log (the producer.id.expiration.check.interval.ms scheduler). */
  expireProducers(nowMs = this.now()): number {
    const expirationMs = this.opts.producerIdExpirationMs ?? 86_400_000;
    let removed = 0;
    for (const log of this.all()) removed += log.expireProducers(nowMs, expirationMs);
    return removed;
  }

  /** One cleaner pass over every compacted log. */
  async runCleaner(nowMs = this.now()): Promise<void> {
    for (const log of this.all()) {
      if (!log.getConfig().cleanupPolicy.includes('compact')) continue;
      try {
        await log.compact(nowMs);
      } catch (err) {
        this.logger.error({ err, topic: log.topic, partition: log.partition }, 'compaction failed');
      }
    }
  }

  /** Stops the schedulers and closes every log cleanly (flush, indexes, checkpoints, clean-shutdown marker). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.untrackLogs();
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([...this.opening.values()]);
    const results = await Promise.allSettled(this.all().map((log) => log.close()));
    for (const r of results) if (r.status === 'rejected') this.logger.error({ err: r.reason }, 'log close failed');
    this.logs.clear();
  }

  private configFor(topic: string): LogConfig {
    return this.opts.configFor ? this.opts.configFor(topic) : DEFAULT_LOG_CONFIG;
  }

  private startSchedulers(): void {
    const retentionMs = this.opts.retentionCheckIntervalMs ?? 300_000;
    if (retentionMs > 0) {
      const t = setInterval(() => {
        if (this.retentionRunning || this.closed) return;
        this.retentionRunning = true;
        void this.runRetention().finally(() => (this.retentionRunning = false));
      }, retentionMs);
      t.unref();
      this.timers.push(t);
    }
    const expirationCheckMs = this.opts.producerIdExpirationCheckIntervalMs ?? 600_000;
    if (expirationCheckMs > 0) {
      const t = setInterval(() => {
        if (!this.closed) this.expireProducers();
      }, expirationCheckMs);
      t.unref();
      this.timers.push(t);
    }
    const cleanerMs = this.opts.cleanerBackoffMs ?? 15_000;
    if ((this.opts.cleanerEnabled ?? true) && cleanerMs > 0) {
      const t = setInterval(() => {
        if (this.cleanerRunning || this.closed) return;
        this.cleanerRunning = true;
        void this.runCleaner().finally(() => (this.cleanerRunning = false));
      }, cleanerMs);
      t.unref();
      this.timers.push(t);
    }
  }
}
