import { describe, expect, it } from 'vitest';
import { EMPTY_IMAGE, applyBatch } from './metadata-image.js';
import { imageDiffRecords } from './image-diff.js';

const registered = (nodeId: number) => ({ type: 'BrokerRegistered' as const, nodeId, host: 'h', port: 9000 + nodeId, rack: null, incarnationId: `i${nodeId}`, endpoints: [] });

describe('imageDiffRecords', () => {
  it('names created, deleted, grown, reconfigured and changed topics and broker changes; replaying them reaches the same topics', () => {
    let before = applyBatch(EMPTY_IMAGE, 1, [registered(1), registered(2)]);
    before = applyBatch(before, 2, [
      { type: 'TopicCreated', name: 'keep', topicId: 'k', partitionCount: 1, configs: { 'retention.ms': '1' }, partitions: [{ partition: 0, replicas: [1, 2] }] },
      { type: 'TopicCreated', name: 'gone', topicId: 'g', partitionCount: 1, configs: {}, partitions: [{ partition: 0, replicas: [1] }] },
    ]);
    let after = applyBatch(before, 3, [{ type: 'BrokerUnfenced', nodeId: 1, brokerEpoch: 1 }]);
    after = applyBatch(after, 4, [
      { type: 'TopicDeleted', topicId: 'g' },
      { type: 'TopicCreated', name: 'new', topicId: 'n', partitionCount: 1, configs: {}, partitions: [{ partition: 0, replicas: [2] }] },
      { type: 'PartitionsAdded', topicId: 'k', partitionCount: 2, partitions: [{ partition: 1, replicas: [2, 1] }] },
      { type: 'ConfigChanged', topicId: 'k', changes: { 'retention.ms': null, 'cleanup.policy': 'compact' } },
      { type: 'PartitionChanged', topicId: 'k', partition: 0, partitionEpoch: 0, leader: 2, isr: [2] },
    ]);
    const diff = imageDiffRecords(before, after);
    expect(diff.map((r) => r.type).sort()).toEqual(['BrokerUnfenced', 'ConfigChanged', 'PartitionChanged', 'PartitionsAdded', 'TopicCreated', 'TopicDeleted']);
    expect(diff.find((r) => r.type === 'ConfigChanged')).toMatchObject({ changes: { 'retention.ms': null, 'cleanup.policy': 'compact' } });
    const replayed = applyBatch(before, 4, diff);
    expect([...replayed.topics.keys()].sort()).toEqual([...after.topics.keys()].sort());
    expect(replayed.topics.get('keep')?.configs).toEqual(after.topics.get('keep')?.configs);
    expect(replayed.topics.get('keep')?.partitions[0]).toMatchObject({ leader: 2, isr: [2] });
    expect(replayed.brokers.get(1)?.fenced).toBe(false);
    expect(imageDiffRecords(after, after)).toEqual([]);
  });
});
