import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../error-codes.js';
import { KafkaProtocolError } from '../errors.js';
import { EMPTY_IMAGE, applyBatch, imageFromJson, imageToJson, type MetadataImage } from './metadata-image.js';
import { PRODUCER_ID_BLOCK_SIZE, type MetadataRecord } from './records.js';

function registered(): MetadataImage {
  return applyBatch(EMPTY_IMAGE, 1, [{ type: 'BrokerRegistered', nodeId: 1, host: 'h', port: 1, rack: null, incarnationId: 'x', endpoints: [] }]);
}
const allocate = (nextProducerId: number, brokerEpoch = 1): MetadataRecord => ({ type: 'ProducerIdsAllocated', brokerId: 1, brokerEpoch, nextProducerId });
function code(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof KafkaProtocolError) return err.code;
    throw err;
  }
  throw new Error('expected a KafkaProtocolError');
}

describe('ProducerIdsAllocated', () => {
  it('moves the next free producer id forward by whole blocks and survives the JSON form', () => {
    const image = applyBatch(registered(), 2, [allocate(PRODUCER_ID_BLOCK_SIZE)]);
    expect(image.nextProducerId).toBe(PRODUCER_ID_BLOCK_SIZE);
    const next = applyBatch(image, 3, [allocate(2 * PRODUCER_ID_BLOCK_SIZE)]);
    expect(next.nextProducerId).toBe(2 * PRODUCER_ID_BLOCK_SIZE);
    expect(imageFromJson(JSON.parse(JSON.stringify(imageToJson(next)))).nextProducerId).toBe(2 * PRODUCER_ID_BLOCK_SIZE);
    // Images written before the field existed read as 0.
    const { nextProducerId: _dropped, ...old } = imageToJson(next);
    expect(imageFromJson(old).nextProducerId).toBe(0);
  });

  it('refuses a block computed from a stale image, a partial block, and an unknown or stale broker', () => {
    const image = applyBatch(registered(), 2, [allocate(PRODUCER_ID_BLOCK_SIZE)]);
    expect(code(() => applyBatch(image, 3, [allocate(PRODUCER_ID_BLOCK_SIZE)]))).toBe(ErrorCode.INVALID_REQUEST);
    expect(code(() => applyBatch(image, 3, [allocate(PRODUCER_ID_BLOCK_SIZE + 10)]))).toBe(ErrorCode.INVALID_REQUEST);
    expect(code(() => applyBatch(image, 3, [allocate(2 * PRODUCER_ID_BLOCK_SIZE, 7)]))).toBe(ErrorCode.STALE_BROKER_EPOCH);
    expect(code(() => applyBatch(image, 3, [{ ...allocate(2 * PRODUCER_ID_BLOCK_SIZE), brokerId: 9 } as MetadataRecord]))).toBe(ErrorCode.BROKER_ID_NOT_REGISTERED);
  });
});
