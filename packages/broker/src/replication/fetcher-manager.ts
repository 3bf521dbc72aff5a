import type { BrokerEndpoint, Logger, MetadataImage } from '@fluxo/common';
import type { Partition } from '../cluster/partition.js';
import { LeaderFetcher, type FetcherContext } from './leader-fetcher.js';

export const REPLICATION_LISTENER = 'REPLICATION';

/** `host:port` of a broker's REPLICATION endpoint in the image, or null when it has none. */
export function replicationAddress(image: MetadataImage, brokerId: number): string | null {
  const e: BrokerEndpoint | undefined = image.brokers.get(brokerId)?.endpoints.find((x) => x.listener === REPLICATION_LISTENER);
  if (e === undefined) return null;
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/**
 * Kafka's ReplicaFetcherManager: one LeaderFetcher (one connection, one stream) per leader broker, holding every
 * follower partition that broker leads. A partition moves between fetchers as its leader changes; a fetcher
 * goes away with its last partition; a leader that re-registered at a new address gets a new fetcher.
 */
export class FetcherManager {
  private readonly fetchers = new Map<number, LeaderFetcher>();
  private readonly fetcherOf = new Map<Partition, LeaderFetcher>();
  /** Followers whose leader has no known REPLICATION endpoint yet (retried on broker changes). */
  private readonly waiting = new Set<Partition>();
  private closed = false;

  constructor(
    private readonly ctx: FetcherContext,
    private readonly image: () => MetadataImage,
    private readonly logger: Logger,
  ) {}

  follow(p: Partition): void {
    if (this.closed) return;
    this.unfollow(p);
    if (p.leaderId < 0) return; // no leader: nothing to fetch until one is elected
    const address = replicationAddress(this.image(), p.leaderId);
    if (address === null) {
      this.waiting.add(p);
      this.logger.warn({ topic: p.topic, partition: p.index, leader: p.leaderId }, 'leader has no REPLICATION endpoint registered; waiting for it');
      return;
    }
    let fetcher = this.fetchers.get(p.leaderId);
    if (fetcher === undefined) {
      fetcher = new LeaderFetcher(p.leaderId, address, this.ctx);
      this.fetchers.set(p.leaderId, fetcher);
      fetcher.start();
      this.logger.info({ leader: p.leaderId, address }, 'replica fetcher started');
    }
    fetcher.add(p);
    this.fetcherOf.set(p, fetcher);
  }

  unfollow(p: Partition): void {
    this.waiting.delete(p);
    const fetcher = this.fetcherOf.get(p);
    if (fetcher === undefined) return;
    this.fetcherOf.delete(p);
    fetcher.remove(p);
    if (fetcher.size === 0) this.retire(fetcher, 'no partitions left');
  }

  /** Broker registrations changed: fetchers of leaders that moved restart at the new address; waiting ones retry. */
  onBrokersChanged(): void {
    if (this.closed) return;
    const image = this.image();
    for (const fetcher of [...this.fetchers.values()]) {
      const address = replicationAddress(image, fetcher.leaderId);
      if (address === null || address === fetcher.address) continue;
      const partitions = [...fetcher.partitions()];
      this.retire(fetcher, `leader re-registered at ${address}`);
      for (const p of partitions) this.follow(p);
    }
    for (const p of [...this.waiting]) this.follow(p);
  }

  private retire(fetcher: LeaderFetcher, reason: string): void {
    if (this.fetchers.get(fetcher.leaderId) === fetcher) this.fetchers.delete(fetcher.leaderId);
    for (const p of [...fetcher.partitions()]) if (this.fetcherOf.get(p) === fetcher) this.fetcherOf.delete(p);
    this.logger.info({ leader: fetcher.leaderId, address: fetcher.address, reason }, 'replica fetcher stopped');
    void fetcher.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.fetchers.values()];
    this.fetchers.clear();
    this.fetcherOf.clear();
    this.waiting.clear();
    await Promise.all(all.map((f) => f.close()));
  }
}
