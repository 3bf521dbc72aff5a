import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds, from 50µs to 10s: fits fsyncs, requests and long polls. */
export const LATENCY_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** How often prom-client samples event-loop delay (nodejs_eventloop_lag_* series), in milliseconds. */
const EVENT_LOOP_MONITORING_PRECISION_MS = 10;

/**
 * One registry per node (not prom-client's global one), so tests can run several nodes in a process and each
 * node exposes only its own series. `defaultMetrics` adds prom-client's process and Node series: CPU, memory,
 * open fds, GC, and event-loop lag (nodejs_eventloop_lag_seconds and its p50/p90/p99 summaries).
 */
export function createRegistry(options: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}): Registry {
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS });
  return registry;
}

/** Returns the metric of that name in the registry, creating it on first use (components may share one). */
export function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<string>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

export function histogram(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[] = [],
  buckets: number[] = LATENCY_BUCKETS_SECONDS,
): Histogram<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<string>;
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

/** Fills a scraped gauge: `set` one series per call. */
export type GaugeSource = (set: (labels: Record<string, string | number>, value: number) => void) => void;

/** A gauge computed when Prometheus scrapes, from the state its sources read (no cost between scrapes). */
export interface ScrapedGauge {
  readonly gauge: Gauge<string>;
  /** Adds a source read at every scrape; returns the function that removes it. */
  addSource(source: GaugeSource): () => void;
}

const scrapeSources = new WeakMap<Gauge<string>, Set<GaugeSource>>();
const everHadSource = new WeakSet<Gauge<string>>();

/**
 * A gauge whose series are rebuilt at every scrape from its sources: series of things that went away (a deleted
 * partition, a group that expired) vanish with them. Creating it twice in one registry shares one set of sources.
 */
export function scrapedGauge(registry: Registry, name: string, help: string, labelNames: string[] = []): ScrapedGauge {
  let metric = registry.getSingleMetric(name) as Gauge<string> | undefined;
  if (metric === undefined) {
    const sources = new Set<GaugeSource>();
    metric = new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Gauge<string>) {
        // Until a source is added, whatever set the gauge directly stands (a log opened outside a LogManager).
        if (sources.size === 0 && !everHadSource.has(this)) return;
        this.reset();
        const set = (labels: Record<string, string | number>, value: number): void => this.set(labels, value);
        for (const source of sources) source(set);
      },
    });
    scrapeSources.set(metric, sources);
  }
  const scraped = metric;
  const sources = scrapeSources.get(scraped);
  if (sources === undefined) throw new Error(`metric ${name} exists but is not a scraped gauge`);
  return {
    gauge: scraped,
    addSource(source) {
      sources.add(source);
      everHadSource.add(scraped);
      return () => {
        sources.delete(source);
      };
    },
  };
}
