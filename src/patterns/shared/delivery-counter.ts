/**
 * Counts messages written to clients for the metrics, as a plain number on the hot path (a labelled
 * Prometheus counter costs about as much as the write itself), reported in bulk once a second.
 */
export class DeliveryCounter {
  count = 0;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(report: ((count: number) => void) | undefined, intervalMs = 1_000) {
    if (!report) return;
    this.#timer = setInterval(() => {
      if (this.count === 0) return;
      const count = this.count;
      this.count = 0;
      report(count);
    }, intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
