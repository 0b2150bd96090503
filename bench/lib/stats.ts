/**
 * Percentile math for the benchmarks: exact percentiles over small sample arrays, and a mergeable
 * log-linear histogram (about 0.8% precision) for the millions of latency samples that worker
 * processes collect and send back over IPC.
 */

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array; `p` in 0..100. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** Median of a few run results (the "median of 3 short runs"). */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Index of the run whose `key` is the median (so a whole row can be reported from one run). */
export function medianIndex<T>(runs: T[], key: (run: T) => number): number {
  const order = runs.map((run, index) => ({ index, value: key(run) })).sort((a, b) => a.value - b.value);
  return order[(order.length - 1) >> 1]?.index ?? 0;
}

const SUB_BUCKET_BITS = 7; // 128 sub-buckets per power of two → ≤ 0.8% relative error
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;

/** Sparse form of a histogram, small enough to send over IPC: [bucket index, count] pairs. */
export type HistogramData = Array<[number, number]>;

/**
 * Log-linear histogram of non-negative values (any unit; the benchmarks record microseconds).
 * Values below 128 are exact; above, each power of two is split into 128 buckets.
 */
export class Histogram {
  readonly #counts = new Map<number, number>();
  #count = 0;
  #max = 0;
  #sum = 0;

  get count(): number {
    return this.#count;
  }

  record(value: number): void {
    const v = Math.max(value, 0);
    const index = Histogram.indexOf(v);
    this.#counts.set(index, (this.#counts.get(index) ?? 0) + 1);
    this.#count++;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
  }

  merge(data: HistogramData, max: number, sum: number): void {
    for (const [index, count] of data) {
      this.#counts.set(index, (this.#counts.get(index) ?? 0) + count);
      this.#count += count;
    }
    this.#sum += sum;
    if (max > this.#max) this.#max = max;
  }

  toJSON(): { data: HistogramData; max: number; sum: number } {
    return { data: [...this.#counts.entries()], max: this.#max, sum: this.#sum };
  }

  reset(): void {
    this.#counts.clear();
    this.#count = 0;
    this.#max = 0;
    this.#sum = 0;
  }

  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    const indexes = [...this.#counts.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const index of indexes) {
      seen += this.#counts.get(index)!;
      if (seen >= rank) return Math.min(this.#max, Histogram.valueOf(index));
    }
    return this.#max;
  }

  summary(): Summary {
    return {
      count: this.#count,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.#count ? this.#max : Number.NaN,
      mean: this.#count ? this.#sum / this.#count : Number.NaN,
    };
  }

  static indexOf(value: number): number {
    const v = Math.floor(value);
    if (v < SUB_BUCKETS) return v;
    const exponent = Math.max(0, Math.floor(Math.log2(v)) - SUB_BUCKET_BITS);
    const sub = Math.min(SUB_BUCKETS - 1, Math.max(0, Math.floor(v / 2 ** exponent) - SUB_BUCKETS));
    return SUB_BUCKETS + exponent * SUB_BUCKETS + sub;
  }

  /** Upper edge of a bucket (reporting the upper edge never flatters a latency). */
  static valueOf(index: number): number {
    if (index < SUB_BUCKETS) return index;
    const exponent = Math.floor((index - SUB_BUCKETS) / SUB_BUCKETS);
    const sub = (index - SUB_BUCKETS) % SUB_BUCKETS;
    return (SUB_BUCKETS + sub + 1) * 2 ** exponent - 1;
  }
}
