import { ErrorCode, KafkaProtocolError, errorName } from '@fluxo/common';
import { apis } from '@fluxo/protocol';
import type { Cluster } from './cluster.js';
import type { ProducerIdentity } from './record-accumulator.js';
import { isRetriableError } from './retry.js';

const NO_PRODUCER_ID = -1;
const NO_PRODUCER_EPOCH = -1;
/** InitProducerId v3+ takes the current id and epoch and bumps the epoch (KIP-360). */
const FIRST_BUMP_VERSION = 3;

/**
 * An idempotent producer's id and epoch (the idempotent half of Kafka's TransactionManager). InitProducerId goes
 * to any broker. When a partition's sequence has a gap (a batch failed for good, the broker lost our state) the
 * epoch is bumped: with InitProducerId v3+ (KIP-360) by sending the current id and epoch, with older brokers by
 * asking for a new id; partitions then restart their sequences at 0. While a bump is pending no identity is
 * handed out, so no new batch goes out under the old one.
 */
export class ProducerIdentityState {
  private current: ProducerIdentity | null = null;
  private wanted: 'none' | 'bump' | 'reset' = 'none';
  private running: Promise<void> | null = null;
  private fatal: Error | null = null;

  constructor(private readonly cluster: Cluster) {}

  /** What new batches carry now; null while InitProducerId is needed or running. */
  identity(): ProducerIdentity | null {
    return this.wanted === 'none' && this.running === null ? this.current : null;
  }

  /** A non-retriable InitProducerId failure: the producer cannot send any more. */
  get fatalError(): Error | null {
    return this.fatal;
  }

  get needsInit(): boolean {
    return this.fatal === null && this.running === null && (this.current === null || this.wanted !== 'none');
  }

  /** Bump the epoch, unless the producer already moved past `seen` (another partition asked first). */
  requestBump(seen: ProducerIdentity): void {
    if (this.wanted === 'none' && this.isCurrent(seen)) this.wanted = 'bump';
  }

  /** A new producer id (the broker fenced our epoch). */
  requestReset(seen: ProducerIdentity): void {
    if (this.isCurrent(seen)) this.wanted = 'reset';
  }

  private isCurrent(seen: ProducerIdentity): boolean {
    return this.current !== null && this.current.producerId === seen.producerId && this.current.producerEpoch === seen.producerEpoch;
  }

  /** Runs InitProducerId if needed (one at a time; callers share it). Rejects only with the fatal error. */
  ensure(): Promise<void> {
    if (this.fatal !== null) return Promise.reject(this.fatal);
    if (this.running !== null) return this.running;
    if (!this.needsInit) return Promise.resolve();
    const run = this.init().finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  private async init(): Promise<void> {
    const wanted = this.wanted;
    const previous = this.current;
    try {
      const response = await this.cluster.retry(async () => {
        const connection = await this.cluster.anyConnection();
        const bump = wanted === 'bump' && previous !== null && connection.versionFor(apis.InitProducerId) >= FIRST_BUMP_VERSION;
        const r = await connection.send(apis.InitProducerId, {
          transactionalId: null,
          transactionTimeoutMs: 60_000,
          producerId: bump ? previous.producerId : NO_PRODUCER_ID,
          producerEpoch: bump ? previous.producerEpoch : NO_PRODUCER_EPOCH,
        });
        if (r.errorCode !== ErrorCode.NONE) {
          throw new KafkaProtocolError(r.errorCode, `InitProducerId to ${connection.address} failed (${errorName(r.errorCode)})`);
        }
        return r;
      });
      this.current = { producerId: response.producerId, producerEpoch: response.producerEpoch };
      if (this.wanted === wanted) this.wanted = 'none';
      this.cluster.logger.info({ producerId: response.producerId, producerEpoch: response.producerEpoch, reason: previous === null ? 'start' : wanted }, 'producer id initialised');
    } catch (err) {
      if (isRetriableError(err)) {
        // Tried again on the next send attempt.
        this.cluster.logger.warn({ err: (err as Error).message }, 'InitProducerId failed; will retry');
        return;
      }
      this.fatal = err as Error;
      this.cluster.logger.error({ err: (err as Error).message }, 'InitProducerId failed: the idempotent producer cannot send');
      throw err;
    }
  }
}
