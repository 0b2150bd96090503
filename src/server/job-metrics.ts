/**
 * `switchboard_jobs{queue,state}`: jobs by queue and status, counted by the store at scrape time
 * (one `countJobs` per scrape: SQLite's GROUP BY, Redis' per-queue count hashes), so the job
 * transitions themselves stay untouched.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Hub } from '../core/hub.js';

/** Queues beyond this many are left out of a scrape (five series each). */
export const MAX_QUEUE_SERIES = 500;

export function registerJobMetrics(registry: Registry, hubOf: () => Hub | undefined): void {
  new Gauge({
    name: 'switchboard_jobs',
    help: 'Jobs by queue and state, read from the store at scrape time',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const hub = hubOf();
      this.reset(); // a queue whose jobs were all removed disappears
      if (!hub) return;
      try {
        const queues = new Set<string>();
        for (const { queue, status, count } of await hub.engine.countJobs()) {
          queues.add(queue);
          if (queues.size > MAX_QUEUE_SERIES) break;
          this.set({ queue, state: status }, count);
        }
      } catch {
        // An unreadable store must not fail the scrape: /readyz and the engine metrics say why.
      }
    },
  });
}
