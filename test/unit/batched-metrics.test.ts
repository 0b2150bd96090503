/**
 * The batched metrics (src/server/batched-metrics.ts) expose exactly what prom-client's own
 * Histogram and Counter would for the same observations.
 */
import { Counter, Histogram, type OpenMetricsContentType, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BatchedHistogram, batchedCounter } from '../../src/server/batched-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVATIONS: Array<[Record<string, string>, number]> = [
  [{ method: 'GET', route: '/a' }, 0.0005],
  [{ method: 'GET', route: '/a' }, 0.001],
  [{ method: 'GET', route: '/a' }, 0.05],
  [{ method: 'POST', route: '/b' }, 3],
  [{ method: 'GET', route: '/a' }, 0.2],
];

describe('batched metrics', () => {
  it('a BatchedHistogram reads as prom-client Histogram, in text and JSON', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({
      name: 'h_seconds',
      help: 'help text',
      labelNames: ['method', 'route'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const batched = new BatchedHistogram('h_seconds', 'help text', ['method', 'route'], BUCKETS, ours);
    const series = new Map<string, { observe(v: number): void }>();
    for (const [labels, value] of OBSERVATIONS) {
      reference.observe(labels, value);
      const key = `${labels.method} ${labels.route}`;
      if (!series.has(key)) series.set(key, batched.labels(labels));
      series.get(key)!.observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    const open = [new Registry<OpenMetricsContentType>(), new Registry<OpenMetricsContentType>()];
    for (const registry of open) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const openReference = new Histogram({
      name: 'h_seconds',
      help: 'help text',
      labelNames: ['method', 'route'],
      buckets: BUCKETS,
      registers: [open[0]!],
    });
    const openBatched = new BatchedHistogram(
      'h_seconds',
      'help text',
      ['method', 'route'],
      BUCKETS,
      open[1]!,
    );
    for (const [labels, value] of OBSERVATIONS) {
      openReference.observe(labels, value);
      openBatched.observe(labels, value);
    }
    expect(await open[1]!.metrics()).toBe(await open[0]!.metrics());
  });

  it('a batched counter hands its counts to the Counter when scraped', async () => {
    const registry = new Registry();
    const counts = batchedCounter(() => counter);
    const counter: Counter<string> = new Counter({
      name: 'c_total',
      help: 'help',
      labelNames: ['transport'],
      registers: [registry],
      collect: counts.collect,
    });
    const a = counts.labels({ transport: 'a' });
    a.inc();
    a.inc(4);
    counts.labels({ transport: 'b' }).inc(2);
    expect(await registry.metrics()).toContain('c_total{transport="a"} 5');
    a.inc();
    const text = await registry.metrics();
    expect(text).toContain('c_total{transport="a"} 6');
    expect(text).toContain('c_total{transport="b"} 2');
  });
});
