import { ErrorCode, KafkaProtocolError, PRODUCER_ID_BLOCK_SIZE, assert, type Logger } from '@fluxo/common';
import type { MetadataStore } from '../metadata/metadata-store.js';

/** Allocation attempts before InitProducerId answers a retriable error (a stale local image is refused, then caught up). */
const MAX_ALLOCATION_ATTEMPTS = 5;
const RETRY_DELAY_MS = 50;
/** Fetch the next block in the background once this few ids of the current one are left (Kafka: at 90% use). */
const PREFETCH_REMAINING = PRODUCER_ID_BLOCK_SIZE / 10;

interface Block {
  next: number;
  readonly end: number;
}

/**
 * Hands out producer ids for InitProducerId from blocks this broker owns (Kafka's RPCProducerIdManager): a
 * block is a committed ProducerIdsAllocated metadata record, so ids are unique across the cluster (commits go
 * through the controller in cluster mode) and never reused after a restart (the next free id is in the image).
 * Unused ids of a block are lost at shutdown, like Kafka's.
 */
export class ProducerIdManager {
  private current: Block | null = null;
  private prefetched: Block | null = null;
  private allocating: Promise<void> | null = null;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly nodeId: number,
    private readonly logger: Logger,
  ) {}

  /** The next unused producer id; rejects with COORDINATOR_LOAD_IN_PROGRESS (retriable) when no block can be had now. */
  async generate(): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const id = this.take();
      if (id !== null) return id;
      assert(attempt < 3, 'a fresh producer id block yielded no id');
      await this.allocate();
    }
  }

  private take(): number | null {
    if (this.current === null || this.current.next >= this.current.end) {
      this.current = this.prefetched;
      this.prefetched = null;
    }
    const block = this.current;
    if (block === null || block.next >= block.end) return null;
    const id = block.next++;
    if (block.end - block.next <= PREFETCH_REMAINING && this.prefetched === null && this.allocating === null) {
      void this.allocate().catch((err: unknown) => this.logger.warn({ err }, 'producer id block prefetch failed; retried on demand'));
    }
    return id;
  }

  /** One allocation at a time; concurrent callers share it. */
  private allocate(): Promise<void> {
    this.allocating ??= this.allocateBlock().finally(() => {
      this.allocating = null;
    });
    return this.allocating;
  }

  private async allocateBlock(): Promise<void> {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < MAX_ALLOCATION_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * attempt));
      const image = this.metadata.image();
      const self = image.brokers.get(this.nodeId);
      if (self === undefined) {
        lastError = new KafkaProtocolError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, `broker ${this.nodeId} is not registered yet`);
        continue;
      }
      const nextProducerId = image.nextProducerId + PRODUCER_ID_BLOCK_SIZE;
      try {
        await this.metadata.commit([{ type: 'ProducerIdsAllocated', brokerId: this.nodeId, brokerEpoch: self.brokerEpoch, nextProducerId }]);
      } catch (err) {
        // Usually another broker took the block first and our copy of the image is behind: look again.
        lastError = err;
        this.logger.debug({ err, nextProducerId, attempt }, 'producer id block allocation refused');
        continue;
      }
      const block: Block = { next: nextProducerId - PRODUCER_ID_BLOCK_SIZE, end: nextProducerId };
      if (this.current === null || this.current.next >= this.current.end) this.current = block;
      else this.prefetched = block;
      this.logger.info({ firstProducerId: block.next, nextProducerId }, 'allocated a producer id block');
      return;
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new KafkaProtocolError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, `no producer id block could be allocated: ${reason}`, { cause: lastError });
  }
}
