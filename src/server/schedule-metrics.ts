/**
 * The scheduled-messages gauge for `/metrics`, read from the store at scrape time: schedules live
 * in the engine (shared by every node on Redis), so only a read at scrape time is right for all.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Hub } from '../core/hub.js';

export function registerScheduleMetrics(registry: Registry, hubOf: () => Hub | undefined): void {
  new Gauge({
    name: 'switchboard_scheduled_messages',
    help: 'Delayed messages waiting for their due time (all nodes sharing the store)',
    registers: [registry],
    async collect() {
      const hub = hubOf();
      if (!hub) return;
      try {
        this.set(await hub.schedules.pending());
      } catch {
        // A store that cannot be read right now must not fail the whole scrape (/readyz says why).
      }
    },
  });
}
