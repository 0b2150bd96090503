/**
 * Request-reply and presence figures for `/metrics`: requests by how they ended (counted as they
 * end), requests waiting and clients present on this node (read at scrape time).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Hub } from '../core/hub.js';
import type { RequestOutcome } from '../core/requests.js';

export function registerRequestMetrics(
  registry: Registry,
  hub: () => Hub | undefined,
): (outcome: RequestOutcome) => void {
  const registers = [registry];
  const ended = new Counter({
    name: 'switchboard_requests_total',
    help: 'Request-reply requests by outcome: replied, timeout, abandoned (the caller left), failed',
    labelNames: ['outcome'],
    registers,
  });
  new Gauge({
    name: 'switchboard_requests_waiting',
    help: 'Requests waiting for their reply on this node',
    registers,
    collect() {
      this.set(hub()?.requests.pending ?? 0);
    },
  });
  new Gauge({
    name: 'switchboard_present_clients',
    help: 'Push subscriptions listed in presence from this node (all topics)',
    registers,
    collect() {
      this.set(hub()?.presence.size ?? 0);
    },
  });
  return (outcome) => ended.inc({ outcome });
}
