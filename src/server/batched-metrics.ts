/**
 * Metrics recorded on every request, without prom-client's per-call cost. prom-client validates
 * and hashes the label set on every `inc`/`observe`, even through a labelled child: at 20k long
 * polls a second that was several per cent of the server's CPU and of its garbage. Here a series is
 * looked up once and then is a few numbers:
 *
 *   - `BatchedHistogram` is a histogram of its own (prom-client's registry only asks a metric for
 *     its values when scraped); its exposition is the one prom-client's Histogram gives.
 *   - `batchedCounter` keeps counts in plain numbers and adds them to a prom-client Counter when the
 *     registry collects it.
 */
import type { Counter, Registry, RegistryContentType } from 'prom-client';

type Labels = Record<string, string>;

interface HistogramSeries {
  readonly labels: Labels;
  /** per bucket, not cumulative; the last one is +Inf */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

export interface Observer {
  observe(value: number): void;
}

export class BatchedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: number[];
  readonly #labelNames: string[];
  #series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: string[],
    buckets: number[],
    registry: Registry<RegistryContentType>,
  ) {
    this.#labelNames = labelNames;
    this.#bounds = [...buckets].sort((a, b) => a - b);
    // The registry reads name, help and the values from get()/getForPromString(), as for its own.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The series for these labels; keep it and call `observe` on it (no lookup per call). */
  labels(labels: Labels): Observer {
    const key = this.#labelNames.map((name) => labels[name] ?? '').join('\u0000');
    let series = this.#series.get(key);
    if (!series) {
      const own: Labels = {};
      for (const name of this.#labelNames) if (labels[name] !== undefined) own[name] = labels[name]!;
      series = { labels: own, buckets: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    const bounds = this.#bounds;
    const target = series;
    return {
      observe(value: number): void {
        let i = 0;
        while (i < bounds.length && value > bounds[i]!) i++;
        target.buckets[i]!++;
        target.sum += value;
        target.count++;
      },
    };
  }

  observe(labels: Labels, value: number): void {
    this.labels(labels).observe(value);
  }

  reset(): void {
    this.#series = new Map();
  }

  /** As prom-client's Histogram: buckets (cumulative, `le` first), +Inf, sum, count per series. */
  getForPromString() {
    const name = this.name;
    const values: Array<{
      labels: Labels;
      sharedLabels: Labels;
      value: number;
      metricName: string;
      exemplar: null | undefined;
    }> = [];
    for (const series of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += series.buckets[i]!;
        values.push({
          labels: { le: bound as unknown as string },
          sharedLabels: series.labels,
          value: cumulative,
          metricName: `${name}_bucket`,
          exemplar: null,
        });
      });
      values.push(
        {
          labels: { le: '+Inf' },
          sharedLabels: series.labels,
          value: series.count,
          metricName: `${name}_bucket`,
          exemplar: null,
        },
        {
          labels: {},
          sharedLabels: series.labels,
          value: series.sum,
          metricName: `${name}_sum`,
          exemplar: undefined,
        },
        {
          labels: {},
          sharedLabels: series.labels,
          value: series.count,
          metricName: `${name}_count`,
          exemplar: undefined,
        },
      );
    }
    return { name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  get() {
    const data = this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ labels, sharedLabels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }
}

export interface CountSeries {
  inc(count?: number): void;
}

/**
 * Counts for `counter` kept in plain numbers per series and handed to it when the registry collects
 * (pass the returned `collect` as the Counter's `collect` option, or call it from there).
 */
export function batchedCounter(counter: () => Counter<string>): {
  labels(labels: Labels): CountSeries;
  collect(): void;
} {
  const pending: Array<{ labels: Labels; count: number }> = [];
  const byKey = new Map<string, { labels: Labels; count: number }>();
  return {
    labels(labels) {
      const key = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join('\u0000');
      let series = byKey.get(key);
      if (!series) {
        series = { labels: { ...labels }, count: 0 };
        byKey.set(key, series);
        pending.push(series);
      }
      const target = series;
      return {
        inc(count = 1) {
          target.count += count;
        },
      };
    },
    collect() {
      for (const series of pending) {
        if (series.count === 0) continue;
        counter().inc(series.labels, series.count);
        series.count = 0;
      }
    },
  };
}
