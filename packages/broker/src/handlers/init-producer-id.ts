import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { apis, type InitProducerIdRequest, type InitProducerIdResponse } from '@fluxo/protocol';
import { producerIdsOf } from '../idempotence/producer-ids.js';
import { defineHandler } from './api-handler.js';

const NO_PRODUCER_ID = -1;
const NO_PRODUCER_EPOCH = -1;
/** Kafka's isEpochExhausted: an epoch this high is not bumped any more; the producer gets a new id instead. */
const LAST_BUMPABLE_EPOCH = 32767 - 2;

function failed(errorCode: number): InitProducerIdResponse {
  return { throttleTimeMs: 0, errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH };
}

/**
 * InitProducerId (v0-4) for idempotent producers (transactional.id null): a new producer id at epoch 0, from a
 * block this broker owns (any broker answers, like Kafka's). With the producer's current id and epoch (v3+,
 * KIP-360: the producer lost track of its sequences) the epoch is bumped, so the producer restarts its
 * sequences at 0 under the same id; an exhausted epoch gets a new id. Kafka itself hands a non-transactional
 * producer a new id in that case: both are valid answers for the clients (they take what they get), the bump
 * keeps the id stable.
 *
 * Transactions are not served: a transactional.id gets COORDINATOR_NOT_AVAILABLE, Kafka's answer when the
 * transaction coordinator (its __transaction_state) is unavailable; clients retry, then fail initTransactions.
 * v5 (KIP-890 transactions v2) is not advertised.
 */
export const initProducerIdHandler = defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  codec: apis.InitProducerId,
  minVersion: 0,
  maxVersion: 4,
  exclusive: false,
  async handle(broker, ctx, request) {
    if (request.transactionalId !== null) {
      if (request.transactionalId.length === 0) return failed(ErrorCode.INVALID_REQUEST);
      ctx.logger.info({ transactionalId: request.transactionalId }, 'InitProducerId for a transactional producer refused: transactions are not supported');
      return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    const producerId = request.producerId ?? NO_PRODUCER_ID;
    const producerEpoch = request.producerEpoch ?? NO_PRODUCER_EPOCH;
    if ((producerId === NO_PRODUCER_ID) !== (producerEpoch === NO_PRODUCER_EPOCH) || producerId < NO_PRODUCER_ID || producerEpoch < NO_PRODUCER_EPOCH) {
      return failed(ErrorCode.INVALID_REQUEST);
    }
    const issued = producerId >= 0 && producerId < broker.metadata.image().nextProducerId;
    if (issued && producerEpoch <= LAST_BUMPABLE_EPOCH) {
      ctx.logger.debug({ producerId, producerEpoch }, 'producer epoch bumped');
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: producerEpoch + 1 };
    }
    try {
      const id = await producerIdsOf(broker).generate();
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: id, producerEpoch: 0 };
    } catch (err) {
      const code = err instanceof KafkaProtocolError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
      ctx.logger.warn({ err }, 'no producer id for InitProducerId');
      return failed(code);
    }
  },
  errorResponse(_request, errorCode) {
    return failed(errorCode);
  },
});
