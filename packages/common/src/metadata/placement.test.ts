import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@fluxo/common';
import { assignReplicas, type PlacementBroker } from './placement.js';

const start = { startIndex: 0, replicaShift: 0 };

describe('assignReplicas', () => {
  it('walks the rack-alternated broker list like Kafka (AdminUtils.assignReplicasToBrokersRackAware)', () => {
    // 6 brokers, racks 0:rack1 1:rack3 2:rack3 3:rack2 4:rack2 5:rack1 -> alternated list 0,3,1,5,4,2
    const brokers: PlacementBroker[] = [
      { id: 0, rack: 'rack1' },
      { id: 1, rack: 'rack3' },
      { id: 2, rack: 'rack3' },
      { id: 3, rack: 'rack2' },
      { id: 4, rack: 'rack2' },
      { id: 5, rack: 'rack1' },
    ];
    const assignment = assignReplicas(brokers, 6, 3, { start });
    expect(assignment.map((a) => a.replicas)).toEqual([
      [0, 3, 1],
      [3, 1, 5],
      [1, 5, 4],
      [5, 4, 2],
      [4, 2, 0],
      [2, 0, 3],
    ]);
  });

  it('puts every replica of a partition in a different rack when racks suffice', () => {
    const brokers: PlacementBroker[] = [1, 2, 3, 4, 5, 6].map((id) => ({ id, rack: `r${id % 3}` }));
    for (let s = 0; s < 6; s++) {
      const assignment = assignReplicas(brokers, 12, 3, { start: { startIndex: s, replicaShift: s } });
      for (const a of assignment) {
        expect(new Set(a.replicas).size).toBe(3);
        expect(new Set(a.replicas.map((id) => brokers.find((b) => b.id === id)!.rack)).size).toBe(3);
      }
      // leaders spread evenly over the brokers
      const leaders = assignment.map((a) => a.replicas[0]);
      for (const b of brokers) expect(leaders.filter((l) => l === b.id).length).toBe(2);
    }
  });

  it('falls back to plain round robin without racks and with more replicas than racks', () => {
    const plain = assignReplicas([3, 1, 2].map((id) => ({ id, rack: null })), 3, 2, { start });
    expect(plain.map((a) => a.replicas)).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
    ]);
    const twoRacks = assignReplicas(
      [1, 2, 3, 4].map((id) => ({ id, rack: id <= 2 ? 'a' : 'b' })),
      4,
      3,
      { start },
    );
    for (const a of twoRacks) {
      expect(new Set(a.replicas).size).toBe(3);
      expect(new Set(a.replicas.map((id) => (id <= 2 ? 'a' : 'b'))).size).toBe(2);
    }
  });

  it('refuses impossible requests with Kafka error codes', () => {
    const two = [1, 2].map((id) => ({ id, rack: null }));
    expect(() => assignReplicas(two, 1, 3)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REPLICATION_FACTOR }));
    expect(() => assignReplicas(two, 0, 1)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_PARTITIONS }));
    expect(() => assignReplicas([{ id: 1, rack: 'a' }, { id: 2, rack: null }], 1, 1)).toThrow(/rack information/);
  });
});
