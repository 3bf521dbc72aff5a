import { describe, expect, it } from 'vitest';
import { ErrorCode, type BrokerState, type MetadataImage, type PartitionState, type TopicState } from '@fluxo/common';
import { locateCoordinator } from './coordinator-locator.js';

const TOPIC = '__consumer_offsets';
const SELF = { nodeId: 101, host: 'advertised-self', port: 9001 };

function broker(nodeId: number, fenced = false): BrokerState {
  return {
    nodeId,
    brokerEpoch: 1,
    incarnationId: `i${nodeId}`,
    host: `legacy-${nodeId}`,
    port: 1,
    rack: null,
    endpoints: [
      { listener: 'PLAINTEXT', host: `host-${nodeId}`, port: 9000 + nodeId },
      { listener: 'REPLICATION', host: `host-${nodeId}`, port: 19000 + nodeId },
    ],
    fenced,
  };
}

function image(leaders: readonly number[], brokers: readonly BrokerState[]): MetadataImage {
  const partitions: PartitionState[] = leaders.map((leader, partition) => ({ partition, replicas: [101, 102, 103], isr: [101, 102, 103], leader, leaderEpoch: 3, partitionEpoch: 4 }));
  const topic: TopicState = { name: TOPIC, topicId: 'offsets-id', partitionCount: leaders.length, configs: {}, partitions };
  return {
    appliedIndex: 10,
    brokers: new Map(brokers.map((b) => [b.nodeId, b])),
    topics: new Map([[TOPIC, topic]]),
    topicsById: new Map([[topic.topicId, topic]]),
    nextProducerId: 0,
  };
}

describe('locateCoordinator (FindCoordinator)', () => {
  const all = [broker(101), broker(102), broker(103)];

  it('names the leader of the partition at its first (PLAINTEXT) endpoint', () => {
    expect(locateCoordinator(image([102, 103, 101], all), TOPIC, 0, SELF)).toEqual({ found: true, nodeId: 102, host: 'host-102', port: 9102 });
    expect(locateCoordinator(image([102, 103, 101], all), TOPIC, 1, SELF)).toEqual({ found: true, nodeId: 103, host: 'host-103', port: 9103 });
    expect(locateCoordinator(image([102, 103, 101], all), TOPIC, 2, SELF)).toEqual({ found: true, nodeId: 101, host: 'host-101', port: 9101 });
  });

  it('answers with this node as advertised while it is not registered yet', () => {
    expect(locateCoordinator(image([101], [broker(102)]), TOPIC, 0, SELF)).toEqual({ found: true, ...SELF });
  });

  it('COORDINATOR_NOT_AVAILABLE without a leader, with a fenced or unknown leader, or without the partition', () => {
    const unavailable = { found: false, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    expect(locateCoordinator(image([-1], all), TOPIC, 0, SELF)).toMatchObject(unavailable);
    expect(locateCoordinator(image([102], [broker(101), broker(102, true)]), TOPIC, 0, SELF)).toMatchObject(unavailable);
    expect(locateCoordinator(image([104], all), TOPIC, 0, SELF)).toMatchObject(unavailable);
    expect(locateCoordinator(image([102], all), TOPIC, 5, SELF)).toMatchObject(unavailable);
    expect(locateCoordinator(image([102], all), 'missing', 0, SELF)).toMatchObject(unavailable);
  });
});
