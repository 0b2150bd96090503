/**
 * `GET /v1/queues`: every job queue with its jobs counted by status (the console's Jobs view). In
 * token mode the list holds only the queues the token may subscribe to (work on or watch).
 */
import type { FastifyInstance } from 'fastify';
import type { Hub } from '../../core/hub.js';
import type { JobStatus } from '../../engines/job-store.js';

const STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];

export interface QueueSummary {
  queue: string;
  total: number;
  counts: Record<JobStatus, number>;
}

export async function queueSummaries(hub: Hub): Promise<QueueSummary[]> {
  const byQueue = new Map<string, QueueSummary>();
  for (const { queue, status, count } of await hub.engine.countJobs()) {
    let summary = byQueue.get(queue);
    if (!summary) {
      summary = {
        queue,
        total: 0,
        counts: Object.fromEntries(STATUSES.map((s) => [s, 0])) as QueueSummary['counts'],
      };
      byQueue.set(queue, summary);
    }
    summary.counts[status] += count;
    summary.total += count;
  }
  return [...byQueue.values()].filter((s) => s.total > 0).sort((a, b) => a.queue.localeCompare(b.queue));
}

export function registerQueueList(app: FastifyInstance, hub: Hub): void {
  app.get('/v1/queues', async (request) => {
    const principal = request.principal;
    const queues = (await queueSummaries(hub)).filter(
      (summary) => principal === undefined || app.security.auth.allows(principal, 'subscribe', summary.queue),
    );
    return { queues };
  });
}
