import { describe, expect, it } from 'vitest';
import { tpKey, type TopicPartition } from '../topic-partition.js';
import type { GroupAssignment, MemberSubscription } from './assignor.js';
import { CooperativeStickyAssignor } from './cooperative-sticky.js';
import { RangeAssignor } from './range.js';
import { RoundRobinAssignor } from './roundrobin.js';
import { stickyAssign } from './sticky.js';

function member(memberId: string, topics: string[], owned: TopicPartition[] = [], generationId = 1, groupInstanceId: string | null = null): MemberSubscription {
  return { memberId, groupInstanceId, topics, userData: null, ownedPartitions: owned, generationId, rackId: null };
}

const tps = (topic: string, ...partitions: number[]): TopicPartition[] => partitions.map((partition) => ({ topic, partition }));
const render = (a: GroupAssignment): Record<string, string[]> =>
  Object.fromEntries([...a].map(([m, list]) => [m, list.map((tp) => `${tp.topic}-${tp.partition}`)]));
const counts = (a: GroupAssignment): number[] => [...a.values()].map((l) => l.length);

/** Every partition of the topics assigned exactly once. */
function expectComplete(a: GroupAssignment, partitionsPerTopic: Map<string, number>): void {
  const seen = new Map<string, number>();
  for (const list of a.values()) for (const tp of list) seen.set(tpKey(tp.topic, tp.partition), (seen.get(tpKey(tp.topic, tp.partition)) ?? 0) + 1);
  let total = 0;
  for (const [topic, n] of partitionsPerTopic) for (let p = 0; p < n; p++, total++) expect(seen.get(tpKey(topic, p)), `${topic}-${p}`).toBe(1);
  expect(seen.size).toBe(total);
}

/** Kafka's isBalanced: no member could take a partition of its topics from a member with 2+ more. */
function expectBalanced(a: GroupAssignment, members: MemberSubscription[]): void {
  const topicsOf = new Map(members.map((m) => [m.memberId, new Set(m.topics)]));
  for (const [from, list] of a) {
    for (const [to, other] of a) {
      if (other.length + 2 > list.length) continue;
      const movable = list.filter((tp) => topicsOf.get(to)!.has(tp.topic));
      expect(movable, `${to} (${other.length}) could take from ${from} (${list.length})`).toEqual([]);
    }
  }
}

describe('RangeAssignor', () => {
  it('gives consecutive ranges per topic, the first members one extra, co-partitioned topics aligned', () => {
    const a = new RangeAssignor().assign({
      members: [member('c', ['t1', 't2']), member('a', ['t1', 't2']), member('b', ['t1', 't2'])],
      partitionsPerTopic: new Map([['t1', 7], ['t2', 3]]),
    });
    expect(render(a)).toEqual({
      c: ['t1-5', 't1-6', 't2-2'],
      a: ['t1-0', 't1-1', 't1-2', 't2-0'],
      b: ['t1-3', 't1-4', 't2-1'],
    });
  });

  it('assigns a topic only among its subscribers, orders static members first, skips missing topics', () => {
    const a = new RangeAssignor().assign({
      members: [member('m1', ['t1']), member('m2', ['t1', 't2', 'gone'], [], 1, 'z-static'), member('m3', ['t2'])],
      partitionsPerTopic: new Map([['t1', 2], ['t2', 2]]),
    });
    expect(render(a)).toEqual({ m2: ['t1-0', 't2-0'], m1: ['t1-1'], m3: ['t2-1'] });
  });
});

describe('RoundRobinAssignor', () => {
  it('deals sorted partitions to sorted members in turn', () => {
    const a = new RoundRobinAssignor().assign({
      members: [member('b', ['t1', 't2']), member('a', ['t1', 't2'])],
      partitionsPerTopic: new Map([['t2', 2], ['t1', 3]]),
    });
    expect(render(a)).toEqual({ a: ['t1-0', 't1-2', 't2-1'], b: ['t1-1', 't2-0'] });
  });

  it('skips members not subscribed to the topic', () => {
    const a = new RoundRobinAssignor().assign({
      members: [member('a', ['t1']), member('b', ['t1', 't2']), member('c', ['t2'])],
      partitionsPerTopic: new Map([['t1', 3], ['t2', 3]]),
    });
    expectComplete(a, new Map([['t1', 3], ['t2', 3]]));
    // Kafka's CircularIterator walk: c skips t1-2 (to a), a skips t2-2 (to b).
    expect(render(a)).toEqual({ a: ['t1-0', 't1-2'], b: ['t1-1', 't2-0', 't2-2'], c: ['t2-1'] });
  });
});

describe('sticky assignment', () => {
  const partitionsPerTopic = new Map([['t1', 7], ['t2', 5]]);

  it('balances a fresh group and is deterministic whatever the member order', () => {
    const members = ['m1', 'm2', 'm3'].map((id) => member(id, ['t1', 't2'], [], -1));
    const a = stickyAssign({ members, partitionsPerTopic });
    expectComplete(a, partitionsPerTopic);
    expect(counts(a).sort()).toEqual([4, 4, 4]);
    const b = stickyAssign({ members: [...members].reverse(), partitionsPerTopic });
    expect(render(b)).toEqual(render(a));
  });

  it('moves the fewest partitions when a member joins and when one leaves', () => {
    const first = stickyAssign({ members: ['m1', 'm2'].map((id) => member(id, ['t1', 't2'])), partitionsPerTopic });
    expect(counts(first)).toEqual([6, 6]);
    const members = [...first].map(([id, owned]) => member(id, ['t1', 't2'], owned, 1));
    const joined = stickyAssign({ members: [...members, member('m3', ['t1', 't2'], [], -1)], partitionsPerTopic });
    expectComplete(joined, partitionsPerTopic);
    expect(counts(joined)).toEqual([4, 4, 4]);
    // m1 and m2 each gave exactly 2 partitions to m3, and kept the rest.
    for (const id of ['m1', 'm2']) {
      const kept = joined.get(id)!.filter((tp) => first.get(id)!.some((o) => o.topic === tp.topic && o.partition === tp.partition));
      expect(kept).toHaveLength(4);
    }

    const afterJoin = [...joined].map(([id, owned]) => member(id, ['t1', 't2'], owned, 2));
    const left = stickyAssign({ members: afterJoin.filter((m) => m.memberId !== 'm2'), partitionsPerTopic });
    expectComplete(left, partitionsPerTopic);
    expect(counts(left)).toEqual([6, 6]);
    for (const id of ['m1', 'm3']) {
      for (const tp of joined.get(id)!) expect(left.get(id)).toContainEqual(tp);
    }
  });

  it('balances members with different subscriptions', () => {
    const members = [member('a', ['t1']), member('b', ['t1', 't2']), member('c', ['t1', 't2']), member('d', ['t2'])];
    const ppt = new Map([['t1', 6], ['t2', 6]]);
    const a = stickyAssign({ members, partitionsPerTopic: ppt });
    expectComplete(a, ppt);
    expectBalanced(a, members);
    expect(counts(a)).toEqual([3, 3, 3, 3]);
  });

  it('stays balanced and complete over many random membership changes', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const ppt = new Map([['a', 10], ['b', 7], ['c', 3]]);
    let group: MemberSubscription[] = [];
    let generation = 0;
    for (let round = 0; round < 60; round++) {
      if (group.length === 0 || (random(3) !== 0 && group.length < 8)) {
        const topics = ['a', 'b', 'c'].filter(() => random(4) !== 0);
        group.push(member(`m${round}`, topics.length > 0 ? topics : ['a'], [], -1));
      } else {
        group.splice(random(group.length), 1);
      }
      const result = stickyAssign({ members: group, partitionsPerTopic: ppt });
      const subscribed = new Map([...ppt].filter(([t]) => group.some((m) => m.topics.includes(t))));
      expectComplete(result, subscribed);
      expectBalanced(result, group);
      generation++;
      group = group.map((m) => member(m.memberId, m.topics, result.get(m.memberId)!, generation));
    }
  });

  it('gives a partition claimed twice in one generation to nobody first, then balances it', () => {
    const members = [member('a', ['t'], tps('t', 0, 1), 3), member('b', ['t'], tps('t', 1, 2), 3)];
    const a = stickyAssign({ members, partitionsPerTopic: new Map([['t', 4]]) });
    expectComplete(a, new Map([['t', 4]]));
    expect(render(a)).toEqual({ a: ['t-0', 't-1'], b: ['t-2', 't-3'] });
  });

  it('prefers the claim of the newer generation', () => {
    const members = [member('a', ['t'], tps('t', 0, 1), 2), member('b', ['t'], tps('t', 1), 3)];
    const a = stickyAssign({ members, partitionsPerTopic: new Map([['t', 2]]) });
    expect(render(a)).toEqual({ a: ['t-0'], b: ['t-1'] });
  });
});

describe('CooperativeStickyAssignor', () => {
  it('holds back partitions that change owner until their owner has revoked them', () => {
    const ppt = new Map([['t', 6]]);
    const assignor = new CooperativeStickyAssignor();
    const round1 = assignor.assign({ members: [member('a', ['t'], tps('t', 0, 1, 2, 3, 4, 5), 1), member('b', ['t'], [], -1)], partitionsPerTopic: ppt });
    // a keeps 3 and loses 3; b gets nothing yet because a still owns them.
    expect(round1.get('a')).toHaveLength(3);
    expect(round1.get('b')).toEqual([]);
    const revoked = tps('t', 0, 1, 2, 3, 4, 5).filter((tp) => !round1.get('a')!.some((k) => k.partition === tp.partition));
    expect(revoked).toHaveLength(3);
    // Second rebalance: a owns only what it kept, so b gets exactly the revoked partitions.
    const round2 = assignor.assign({ members: [member('a', ['t'], round1.get('a')!, 2), member('b', ['t'], [], 2)], partitionsPerTopic: ppt });
    expect(round2.get('a')).toEqual(round1.get('a'));
    expect(round2.get('b')).toEqual(revoked);
  });

  it('supports both protocols', () => {
    expect(new CooperativeStickyAssignor().supportedProtocols).toContain('cooperative');
    expect(new RangeAssignor().supportedProtocols).toEqual(['eager']);
  });
});
