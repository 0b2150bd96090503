/**
 * Consumer-group gauges for `/metrics`, read from the store at scrape time rather than kept current
 * by every ack: group state lives in the engine (possibly shared by several nodes through Redis), so
 * only a read at scrape time is right for all of them, and the hot paths stay untouched.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Hub } from '../core/hub.js';

/**
 * At most this many groups become series per scrape: every group is one series per gauge, and a
 * hub with many topics must not turn one scrape into an unbounded walk or an unbounded exposition.
 */
export const MAX_GROUP_SERIES = 1_000;

interface GroupFigures {
  topic: string;
  group: string;
  lag: number;
  pending: number;
}

async function readGroupFigures(hub: Hub): Promise<GroupFigures[]> {
  const figures: GroupFigures[] = [];
  try {
    for (const { topic } of await hub.topics()) {
      for (const state of await hub.internal.groups.list(topic)) {
        if (figures.length >= MAX_GROUP_SERIES) return figures;
        figures.push({ topic, group: state.group, lag: state.lag, pending: state.pending });
      }
    }
  } catch {
    // A store that cannot be read right now must not fail the whole scrape: the other metrics (and
    // /readyz) say what is wrong; the group series are just partial or absent this time.
  }
  return figures;
}

export function registerGroupMetrics(registry: Registry, hubOf: () => Hub | undefined): void {
  // prom-client runs every metric's collect() in parallel, so both gauges share one walk of the
  // store per scrape: the first collect starts it, the second awaits the same promise.
  let walk: Promise<GroupFigures[]> | undefined;
  const figures = (): Promise<GroupFigures[]> => {
    const hub = hubOf();
    if (!hub) return Promise.resolve([]);
    walk ??= readGroupFigures(hub).finally(() => {
      walk = undefined;
    });
    return walk;
  };
  const gauge = (name: string, help: string, pick: (figures: GroupFigures) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['topic', 'group'],
      registers: [registry],
      async collect() {
        const current = await figures();
        // Reset first, so a deleted group's series disappears instead of keeping its last value.
        this.reset();
        for (const entry of current) this.set({ topic: entry.topic, group: entry.group }, pick(entry));
      },
    });

  gauge(
    'switchboard_group_lag',
    `Messages of the topic a consumer group has not yet acknowledged (last - committed; first ${MAX_GROUP_SERIES} groups)`,
    (entry) => entry.lag,
  );
  gauge(
    'switchboard_group_pending',
    `Deliveries a consumer group has in flight: leased, or waiting after a nack or release (first ${MAX_GROUP_SERIES} groups)`,
    (entry) => entry.pending,
  );
}
