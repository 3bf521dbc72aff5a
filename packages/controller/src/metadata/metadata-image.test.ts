import { describe, expect, it } from 'vitest';
import { ErrorCode, EMPTY_IMAGE, applyBatch, imageFromJson, imageToJson, type MetadataImage, type MetadataRecord } from '@fluxo/common';
import { fenceBrokerRecords, unfenceBrokerRecords } from './leadership.js';
import { decodeRecords, encodeRecords } from './record-codec.js';

const register = (nodeId: number): MetadataRecord => ({
  type: 'BrokerRegistered',
  nodeId,
  host: '127.0.0.1',
  port: 9000 + nodeId,
  rack: null,
  incarnationId: `inc-${nodeId}`,
  endpoints: [{ listener: 'PLAINTEXT', host: '127.0.0.1', port: 9000 + nodeId }],
});

function cluster(): MetadataImage {
  let image = EMPTY_IMAGE;
  image = applyBatch(image, 10, [register(1), register(2), register(3)]);
  for (const id of [1, 2, 3]) image = applyBatch(image, 11, [{ type: 'BrokerUnfenced', nodeId: id, brokerEpoch: 10 }]);
  return applyBatch(image, 12, [
    {
      type: 'TopicCreated',
      name: 't',
      topicId: 'AAAAAAAAAAAAAAAAAAAAAg',
      partitionCount: 2,
      configs: {},
      partitions: [
        { partition: 0, replicas: [1, 2, 3] },
        { partition: 1, replicas: [2, 3, 1] },
      ],
    },
  ]);
}

describe('metadata image', () => {
  it('registers brokers fenced with the record index as epoch, creates partitions led by the first replica', () => {
    const image = cluster();
    expect(image.brokers.get(2)).toMatchObject({ brokerEpoch: 10, fenced: false });
    expect(image.topics.get('t')!.partitions[1]).toEqual({ partition: 1, replicas: [2, 3, 1], isr: [2, 3, 1], leader: 2, leaderEpoch: 0, partitionEpoch: 0 });
    expect(imageToJson(imageFromJson(JSON.parse(JSON.stringify(imageToJson(image)))))).toEqual(imageToJson(image));
  });

  it('applies a batch all or nothing and rejects stale changes with Kafka codes', () => {
    const image = cluster();
    const bad = (): MetadataImage =>
      applyBatch(image, 13, [
        { type: 'ConfigChanged', topicId: 'AAAAAAAAAAAAAAAAAAAAAg', changes: { 'retention.ms': '1' } },
        { type: 'BrokerFenced', nodeId: 1, brokerEpoch: 9 },
      ]);
    expect(bad).toThrow(expect.objectContaining({ code: ErrorCode.STALE_BROKER_EPOCH }));
    expect(image.topics.get('t')!.configs).toEqual({});
    const stale = (): MetadataImage =>
      applyBatch(image, 13, [{ type: 'PartitionChanged', topicId: 'AAAAAAAAAAAAAAAAAAAAAg', partition: 0, partitionEpoch: 5, leader: 2, isr: [2] }]);
    expect(stale).toThrow(expect.objectContaining({ code: ErrorCode.FENCED_LEADER_EPOCH }));
  });

  it('fencing a leader elects the next ISR replica and bumps the leader epoch; the last ISR member stays', () => {
    let image = cluster();
    image = applyBatch(image, 13, fenceBrokerRecords(image, 1));
    const [p0, p1] = image.topics.get('t')!.partitions;
    expect(p0).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1, partitionEpoch: 1 });
    expect(p1).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 0, partitionEpoch: 1 });
    image = applyBatch(image, 14, fenceBrokerRecords(image, 2));
    image = applyBatch(image, 15, fenceBrokerRecords(image, 3));
    // no unclean election: the last ISR member stays in the ISR, the partition has no leader
    expect(image.topics.get('t')!.partitions[0]).toMatchObject({ leader: -1, isr: [3] });
    expect(fenceBrokerRecords(image, 3)).toEqual([]);
    image = applyBatch(image, 16, unfenceBrokerRecords(image, 1));
    expect(image.topics.get('t')!.partitions[0]).toMatchObject({ leader: -1, isr: [3] }); // 1 is not in the ISR
    image = applyBatch(image, 17, unfenceBrokerRecords(image, 3));
    expect(image.topics.get('t')!.partitions[0]).toMatchObject({ leader: 3, isr: [3] });
  });

  it('round-trips records through the entry codec and rejects garbage', () => {
    const records = [register(7)];
    expect(decodeRecords(encodeRecords(records))).toEqual(records);
    expect(() => decodeRecords(new Uint8Array([1, 0x7b]))).toThrow(/not valid JSON/);
    expect(() => decodeRecords(new Uint8Array([9]))).toThrow(/unknown version/);
  });
});
