import { describe, expect, it } from 'vitest';
import { createRegistry, gauge, scrapedGauge } from './metrics.js';

describe('createRegistry', () => {
  it('adds process and Node series, event-loop lag included, when asked', async () => {
    const text = await createRegistry({ defaultMetrics: true, labels: { node_id: '3' } }).metrics();
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{node_id="3"\} /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds\{node_id="3"\} /m);
    expect(text).toMatch(/^process_cpu_seconds_total\{node_id="3"\} /m);
    expect(text).toMatch(/^process_resident_memory_bytes\{node_id="3"\} /m);
    expect((await createRegistry().metrics()).trim()).toBe('');
  });
});

describe('scrapedGauge', () => {
  it('rebuilds its series from the sources at every scrape, so gone things vanish', async () => {
    const registry = createRegistry();
    const sizes = new Map<string, number>([['a', 1]]);
    const g = scrapedGauge(registry, 'test_size_bytes', 'sizes', ['name']);
    const remove = g.addSource((set) => {
      for (const [name, v] of sizes) set({ name }, v);
    });
    expect(await registry.metrics()).toContain('test_size_bytes{name="a"} 1');
    sizes.set('b', 2);
    sizes.delete('a');
    const text = await registry.metrics();
    expect(text).toContain('test_size_bytes{name="b"} 2');
    expect(text).not.toContain('name="a"');
    // A second handle shares the sources; removing the last one leaves no stale series.
    const again = scrapedGauge(registry, 'test_size_bytes', 'sizes', ['name']);
    expect(again.gauge).toBe(g.gauge);
    remove();
    expect(await registry.metrics()).not.toContain('test_size_bytes{');
  });

  it('keeps values set directly until a source is added, and refuses a plain gauge of the same name', async () => {
    const registry = createRegistry();
    scrapedGauge(registry, 'test_direct', 'direct', ['k']).gauge.set({ k: 'x' }, 5);
    expect(await registry.metrics()).toContain('test_direct{k="x"} 5');
    gauge(registry, 'test_plain', 'plain');
    expect(() => scrapedGauge(registry, 'test_plain', 'plain')).toThrow(/not a scraped gauge/);
  });
});
