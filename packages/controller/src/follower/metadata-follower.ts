import { Level } from 'level';
import {
  CorruptDataError,
  EMPTY_IMAGE,
  applyBatch,
  assert,
  imageFromJson,
  imageToJson,
  type BrokerState,
  type Logger,
  type MetadataImage,
  type MetadataImageJson,
  type MetadataRecord,
  type TopicState,
} from '@fluxo/common';
import { ControllerClient } from '../controller-client.js';

const APPLIED_KEY = 'applied';
const TOPIC_PREFIX = 'topic/';
const BROKER_PREFIX = 'broker/';

type Stored = { index: number; nextProducerId?: number } | TopicState | BrokerState;

/** Called after every change: `records` null means the image was replaced by a full image. */
export type FollowerListener = (records: readonly MetadataRecord[] | null, image: MetadataImage, index: number) => void;

/**
 * A broker's copy of the committed metadata: follows a controller's WatchMetadata stream (any controller;
 * only committed batches are streamed), applies the batches, and keeps the image in LevelDB (one key per
 * topic/broker, plus the applied index, written atomically per batch) so a restarted broker starts from its
 * copy and asks only for what it missed. The controllers are the source of truth: a write lost in a crash
 * is fetched again, so writes are not fsynced.
 */
export class MetadataFollower {
  private current: MetadataImage = EMPTY_IMAGE;
  private index = 0;
  private readonly listeners = new Set<FollowerListener>();
  private clients: ControllerClient[];
  private next = 0;
  private cancel: (() => void) | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Writes are chained: each batch's LevelDB write goes after the previous one. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly db: Level<string, Stored>,
    controllers: readonly string[],
    private readonly logger: Logger,
    private readonly retryBackoffMs: number,
  ) {
    assert(controllers.length > 0, 'a metadata follower needs at least one controller');
    this.clients = controllers.map((t) => new ControllerClient(t));
  }

  static async open(opts: { location: string; controllers: readonly string[]; logger: Logger; retryBackoffMs?: number }): Promise<MetadataFollower> {
    const db = new Level<string, Stored>(opts.location, { valueEncoding: 'json' });
    await db.open();
    const follower = new MetadataFollower(db, opts.controllers, opts.logger, opts.retryBackoffMs ?? 500);
    try {
      await follower.load();
    } catch (err) {
      await db.close();
      throw new CorruptDataError(`metadata copy ${opts.location} is unreadable: ${(err as Error).message}`, { cause: err });
    }
    return follower;
  }

  get appliedIndex(): number {
    return this.index;
  }

  image(): MetadataImage {
    return this.current;
  }

  subscribe(listener: FollowerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts following (from the stored applied index). */
  start(): void {
    this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.cancel?.();
    for (const c of this.clients) c.close();
    await this.tail;
    await this.db.close();
  }

  private async load(): Promise<void> {
    const brokers: BrokerState[] = [];
    const topics: TopicState[] = [];
    let index = 0;
    let nextProducerId = 0;
    for await (const [key, value] of this.db.iterator()) {
      if (key === APPLIED_KEY) {
        index = (value as { index: number }).index;
        nextProducerId = (value as { nextProducerId?: number }).nextProducerId ?? 0;
      }
      else if (key.startsWith(TOPIC_PREFIX)) topics.push(value as TopicState);
      else if (key.startsWith(BROKER_PREFIX)) brokers.push(value as BrokerState);
    }
    this.current = imageFromJson({ appliedIndex: index, brokers, topics, nextProducerId });
    this.index = index;
    this.logger.info({ appliedIndex: index, topics: topics.length, brokers: brokers.length }, 'metadata copy loaded');
  }

  private connect(): void {
    if (this.closed) return;
    const client = this.clients[this.next % this.clients.length] as ControllerClient;
    let ended = false;
    this.cancel = client.watchMetadata(
      this.index,
      (event) => {
        if (ended) return;
        try {
          if (event.fullImage) this.replace(imageFromJson(event.payload as MetadataImageJson), event.index);
          else if (event.index > this.index) this.apply(event.payload as MetadataRecord[], event.index);
        } catch (err) {
          // The stream and our copy disagree: start over from nothing (the controller sends a full image or every batch).
          this.logger.error({ err, index: event.index, controller: client.target }, 'metadata batch does not apply to the local copy; resyncing from scratch');
          ended = true;
          this.cancel?.();
          this.replace(EMPTY_IMAGE, 0);
          this.retry();
        }
      },
      (err) => {
        if (ended || this.closed) return;
        ended = true;
        this.logger.warn({ controller: client.target, err: err?.message ?? 'stream ended' }, 'metadata stream ended; reconnecting');
        this.next++;
        this.retry();
      },
    );
  }

  private retry(): void {
    if (this.closed || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.retryBackoffMs);
  }

  private apply(records: readonly MetadataRecord[], index: number): void {
    const previous = this.current;
    const next = applyBatch(previous, index, records);
    this.current = next;
    this.index = index;
    this.persist(previous, next, index, false);
    this.notify(records, next, index);
  }

  private replace(image: MetadataImage, index: number): void {
    const previous = this.current;
    this.current = imageFromJson({ ...imageToJson(image), appliedIndex: index });
    this.index = index;
    this.persist(previous, this.current, index, true);
    this.notify(null, this.current, index);
  }

  private persist(previous: MetadataImage, next: MetadataImage, index: number, full: boolean): void {
    const batch = this.db.batch();
    for (const [name, t] of previous.topics) if (full || next.topics.get(name) !== t) batch.del(TOPIC_PREFIX + name);
    for (const [id, b] of previous.brokers) if (full || next.brokers.get(id) !== b) batch.del(BROKER_PREFIX + String(id));
    for (const [name, t] of next.topics) if (full || previous.topics.get(name) !== t) batch.put(TOPIC_PREFIX + name, t);
    for (const [id, b] of next.brokers) if (full || previous.brokers.get(id) !== b) batch.put(BROKER_PREFIX + String(id), b);
    batch.put(APPLIED_KEY, { index, nextProducerId: next.nextProducerId });
    this.tail = this.tail.then(
      () => batch.write(),
      () => batch.write(),
    ).catch((err: unknown) => this.logger.error({ err }, 'cannot write the local metadata copy'));
  }

  private notify(records: readonly MetadataRecord[] | null, image: MetadataImage, index: number): void {
    for (const l of this.listeners) {
      try {
        l(records, image, index);
      } catch (err) {
        this.logger.error({ err }, 'metadata listener failed');
      }
    }
  }
}
