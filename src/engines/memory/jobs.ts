/**
 * Jobs for the memory engine: plain maps. Every method is one synchronous step, so
 * the compare-and-set and the status append happen together by construction.
 */
import type { AppendRequest, AppendResult } from '../engine.js';
import {
  isActive,
  type JobCount,
  type JobRecord,
  type JobStatusMessage,
  type JobStore,
} from '../job-store.js';

export interface MemoryJobAccess {
  /** The engine's synchronous append (it wakes readers itself). */
  append(request: AppendRequest): AppendResult;
  assertOpen(): void;
}

const keyOf = (queue: string, key: string): string => `${queue}\n${key}`;

export function createMemoryJobStore(access: MemoryJobAccess): JobStore {
  const jobs = new Map<string, JobRecord>();
  const keys = new Map<string, string>();

  const run = async <T>(step: () => T): Promise<T> => {
    access.assertOpen();
    return step();
  };
  /** Appends a job's message; answers its offset. */
  const appendStatus = (status: JobStatusMessage): number =>
    access.append({
      topic: status.topic,
      entries: [{ event: status.event, data: status.data }],
      now: status.now,
      dedupeWindowMs: status.dedupeWindowMs,
      retention: status.retention,
    }).outcomes[0]!.offset;
  const select = (keep: (job: JobRecord) => boolean, order: (job: JobRecord) => number, limit: number) =>
    [...jobs.values()]
      .filter(keep)
      .sort((a, b) => order(a) - order(b))
      .slice(0, limit)
      .map((job) => ({ ...job }));

  return {
    createJob: ({ job, submission, status }) =>
      run(() => {
        const key = job.idempotencyKey === null ? undefined : keyOf(job.queue, job.idempotencyKey);
        const existing = key === undefined ? undefined : jobs.get(keys.get(key) ?? '');
        if (existing) return { job: { ...existing }, created: false };
        const stored = { ...job, offset: appendStatus(submission) };
        jobs.set(job.id, stored);
        if (key !== undefined) keys.set(key, job.id);
        appendStatus(status);
        return { job: { ...stored }, created: true };
      }),
    getJob: (id) => run(() => (jobs.has(id) ? { ...jobs.get(id)! } : null)),
    updateJob: ({ job, expectedRevision, status }) =>
      run(() => {
        const current = jobs.get(job.id);
        if (!current || current.revision !== expectedRevision) return false;
        jobs.set(job.id, { ...job });
        if (status) appendStatus(status);
        return true;
      }),
    deleteJob: (id) =>
      run(() => {
        const job = jobs.get(id);
        if (!job) return false;
        if (job.idempotencyKey !== null) keys.delete(keyOf(job.queue, job.idempotencyKey));
        return jobs.delete(id);
      }),
    expiredLeases: (now, limit) =>
      run(() =>
        select(
          (job) => job.status === 'running' && (job.leaseExpiresAt ?? 0) <= now,
          (job) => job.leaseExpiresAt ?? 0,
          limit,
        ),
      ),
    finishedBefore: (time, limit) =>
      run(() =>
        select(
          (job) => job.finishedAt !== null && job.finishedAt < time,
          (job) => job.finishedAt ?? 0,
          limit,
        ),
      ),
    countJobs: () =>
      run(() => {
        const counts = new Map<string, JobCount>();
        for (const job of jobs.values()) {
          const key = `${job.queue} ${job.status}`;
          const entry = counts.get(key) ?? { queue: job.queue, status: job.status, count: 0 };
          entry.count += 1;
          counts.set(key, entry);
        }
        return [...counts.values()];
      }),
    activeQueues: () =>
      run(() => [...new Set([...jobs.values()].filter(isActive).map((job) => job.queue))].sort()),
    queuedThrough: (queue, offset, limit) =>
      run(() =>
        select(
          (job) => job.queue === queue && job.status === 'queued' && (job.offset ?? 0) <= offset,
          (job) => job.createdAt,
          limit,
        ),
      ),
  };
}
