import { describe, expect, it } from 'vitest';
import { createRegistry } from '@fluxo/common';
import { Group } from './group.js';
import { MAX_LAG_SERIES, registerLagMetrics } from './lag-metrics.js';

function groupWith(id: string, offsets: [topic: string, partition: number, offset: number][]): Group {
  const g = new Group(id, 0);
  for (const [topic, partition, offset] of offsets) g.setOffset(topic, partition, { offset, leaderEpoch: 0, metadata: '', commitTimestampMs: 0, expireTimestampMs: null });
  return g;
}

describe('consumer group lag metrics', () => {
  it('reports hosted partitions only, clamps a committed offset past the end to zero, skips dead groups', async () => {
    const registry = createRegistry();
    const dead = groupWith('gone', [['t', 0, 0]]);
    dead.transitionTo('Dead', 0);
    const groups = [groupWith('g', [['t', 0, 4], ['t', 1, 20], ['elsewhere', 0, 1]]), dead];
    const unregister = registerLagMetrics(registry, { groups: () => groups, highWatermark: (topic, p) => (topic === 't' ? [10, 12][p] : undefined) });
    const text = await registry.metrics();
    expect(text).toContain('fluxo_consumergroup_lag{consumergroup="g",topic="t",partition="0"} 6');
    expect(text).toContain('fluxo_consumergroup_lag{consumergroup="g",topic="t",partition="1"} 0');
    expect(text).toContain('fluxo_consumergroup_current_offset{consumergroup="g",topic="t",partition="1"} 20');
    expect(text).toContain('fluxo_consumergroup_lag_sum{consumergroup="g",topic="t"} 6');
    expect(text).not.toContain('elsewhere');
    expect(text).not.toContain('gone');
    unregister();
    expect(await registry.metrics()).not.toContain('fluxo_consumergroup_lag{');
  });

  it(`exports at most ${MAX_LAG_SERIES} series however many groups clients create, and says how many it left out`, async () => {
    const registry = createRegistry();
    const groups = Array.from({ length: MAX_LAG_SERIES + 5 }, (_, i) => groupWith(`client-group-${i}`, [['t', 0, 0]]));
    registerLagMetrics(registry, { groups: () => groups, highWatermark: () => 1 });
    const text = await registry.metrics();
    expect(text.match(/^fluxo_consumergroup_lag\{/gm)).toHaveLength(MAX_LAG_SERIES);
    expect(text).toMatch(/^fluxo_consumergroup_lag_series_dropped 5$/m);
  });
});
