import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger, MetadataImage } from '@fluxo/common';
import { parsePartitionDirName, partitionDirName, type LogConfig, type LogManager, type PartitionLog } from '@fluxo/storage';
import type { LogHost } from './topic-registry.js';

/** Kafka's per-partition file naming the topic id, so a directory is never mistaken for a newer namesake's. */
export const PARTITION_METADATA_FILE = 'partition.metadata';
const DELETE_SUFFIX = '-delete';
const STRAY_SUFFIX = '-stray';
/** Kafka's KRaft metadata log directory: never a topic partition (the controller-quorum issue may use it). */
const RESERVED_DIR_PREFIXES = ['__cluster_metadata-'];

function asideName(dirName: string, suffix: string): string {
  // Kafka: <topic>-<partition>.<uuid>-delete; no longer parses as a partition directory.
  return `${dirName}.${randomBytes(16).toString('hex')}${suffix}`;
}

/** Partition logs under one data directory (`<dataDir>/<topic>-<partition>/`), through the storage LogManager. */
export class PartitionLogHost implements LogHost {
  constructor(
    private readonly dataDir: string,
    private readonly logs: LogManager,
    private readonly logger: Logger,
  ) {}

  async open(topic: string, partition: number, topicId: string, config: LogConfig): Promise<PartitionLog> {
    const dir = join(this.dataDir, partitionDirName(topic, partition));
    const log = await this.logs.getOrCreate(topic, partition, config);
    log.updateConfig(config);
    if ((await readTopicId(dir)) !== topicId) await writeDurably(join(dir, PARTITION_METADATA_FILE), `version: 0\ntopic_id: ${topicId}\n`);
    return log;
  }

  async remove(topic: string, partition: number): Promise<void> {
    const dirName = partitionDirName(topic, partition);
    const aside = asideName(dirName, DELETE_SUFFIX);
    // Rename first, Kafka-like: a crash mid-removal leaves a `-delete` directory, finished at the next start.
    let renamed = true;
    try {
      await rename(join(this.dataDir, dirName), join(this.dataDir, aside));
    } catch (err) {
      renamed = false;
      this.logger.warn({ err, topic, partition }, 'could not rename partition directory before deletion');
    }
    await this.logs.deleteLog(topic, partition);
    if (renamed) await rm(join(this.dataDir, aside), { recursive: true, force: true });
  }

  updateConfig(log: PartitionLog, config: LogConfig): void {
    log.updateConfig(config);
  }

  /**
   * Startup hygiene, before the LogManager opens anything: finishes interrupted deletions (`-delete`
   * directories, directories whose recorded topic id the metadata no longer has), and moves aside directories
   * of partitions the metadata does not know at all (Kafka 3.7's stray logs: renamed, not deleted, in case metadata
   * was lost by mistake).
   */
  async cleanDataDir(image: MetadataImage, nodeId: number): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    for (const name of await readdir(this.dataDir)) {
      const full = join(this.dataDir, name);
      if (name.endsWith(DELETE_SUFFIX)) {
        this.logger.info({ dir: full }, 'removing partition directory left by an interrupted topic deletion');
        await rm(full, { recursive: true, force: true });
        continue;
      }
      if (name.endsWith(STRAY_SUFFIX) || name.startsWith('.') || RESERVED_DIR_PREFIXES.some((p) => name.startsWith(p))) continue;
      const parsed = parsePartitionDirName(name);
      if (parsed === null || !(await stat(full)).isDirectory()) continue;
      const topic = image.topics.get(parsed.topic);
      const recorded = await readTopicId(full);
      if (recorded !== null && !image.topicsById.has(recorded)) {
        // Its topic id was deleted from the metadata: a deletion the crash interrupted before the rename.
        this.logger.info({ dir: full, topicId: recorded }, 'removing partition directory of a deleted topic');
        const aside = join(this.dataDir, asideName(name, DELETE_SUFFIX));
        await rename(full, aside);
        await rm(aside, { recursive: true, force: true });
        continue;
      }
      if (topic === undefined || parsed.partition >= topic.partitionCount) {
        const aside = asideName(name, STRAY_SUFFIX);
        this.logger.warn({ dir: full, movedTo: aside }, 'partition directory not in cluster metadata; moved aside as stray');
        await rename(full, join(this.dataDir, aside));
        continue;
      }
      const replicas = topic.partitions[parsed.partition]?.replicas;
      if (replicas !== undefined && !replicas.includes(nodeId) && (recorded === null || recorded === topic.topicId)) {
        // Reassigned away while this broker was down: the move completed on the new replicas (Kafka deletes it too).
        this.logger.info({ dir: full, replicas }, 'partition moved to other brokers while this one was down; removing the local copy');
        const aside = join(this.dataDir, asideName(name, DELETE_SUFFIX));
        await rename(full, aside);
        await rm(aside, { recursive: true, force: true });
        continue;
      }
      if (recorded !== null && recorded !== topic.topicId) {
        this.logger.warn({ dir: full, recordedTopicId: recorded, topicId: topic.topicId }, 'partition directory belongs to a deleted topic of the same name; removing it');
        const aside = join(this.dataDir, asideName(name, DELETE_SUFFIX));
        await rename(full, aside);
        await rm(aside, { recursive: true, force: true });
      }
    }
  }
}

async function readTopicId(dir: string): Promise<string | null> {
  try {
    const text = await readFile(join(dir, PARTITION_METADATA_FILE), 'utf8');
    const m = /^topic_id:\s*(\S+)\s*$/m.exec(text);
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}

/** tmp + fsync + rename: the file is either absent or complete after a crash. */
async function writeDurably(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text);
  const fh = await openFile(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
