/**
 * Reading and changing one job: the compare-and-set loop around the pure transitions, the status
 * message that goes with each visible change, the contract's errors for refusals, and the consumer
 * group side of a change (ack a finished job's submission, hold a running one until its lease ends,
 * hand a requeued one back). Shared by the jobs API (jobs.ts), claims (job-claims.ts) and the
 * maintenance loop (job-maintenance.ts).
 */

import type { Engine } from '../../engines/engine.js';
import type { JobRecord, JobStatusMessage } from '../../engines/job-store.js';
import { conflict, notFound, type SwitchboardError, unavailable } from '../../protocol/errors.js';
import { createEngineCall } from '../engine-call.js';
import type { Hub } from '../hub.js';
import { jobJson } from './job-json.js';
import { isJobId, queueTopic, statusTopic, WORKERS_GROUP } from './job-rules.js';
import type { Refusal, Transition } from './transitions.js';

export type Applied =
  | { kind: 'missing' }
  | { kind: 'refused'; job: JobRecord; refusal: Refusal }
  | { kind: 'unchanged'; job: JobRecord }
  | { kind: 'changed'; job: JobRecord };

/** Compare-and-set rounds before giving up (only reached under heavy contention on one job). */
const MAX_ROUNDS = 20;

export function createJobState(hub: Hub) {
  const engine: Engine = hub.engine;
  const now = () => hub.options.now();

  const engineCall = createEngineCall(engine.name);

  const statusMessage = (job: JobRecord, event: string): JobStatusMessage => {
    const topic = statusTopic(job.queue, job.id);
    return {
      topic,
      event,
      data: jobJson(job),
      now: job.updatedAt,
      retention: hub.retentionFor(topic),
      dedupeWindowMs: hub.options.dedupeWindowMs,
    };
  };

  /** Reads, decides, writes if nobody wrote in between; reads again when someone did. */
  const apply = async (id: string, decide: (job: JobRecord) => Transition): Promise<Applied> => {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const job = await engineCall('read the job', () => engine.getJob(id));
      if (!job) return { kind: 'missing' };
      const transition = decide(job);
      if ('refused' in transition) return { kind: 'refused', job, refusal: transition.refused };
      if ('unchanged' in transition) return { kind: 'unchanged', job };
      const { next, event, visible } = transition;
      const written = await engineCall('store the job', () =>
        engine.updateJob({
          job: next,
          expectedRevision: job.revision,
          status: visible ? statusMessage(next, event) : null,
        }),
      );
      if (written) return { kind: 'changed', job: next };
    }
    throw unavailable(`job ${id} is being changed by many requests at once; retry shortly`);
  };

  const unknownJob = (id: unknown) =>
    notFound(`job ${JSON.stringify(id)} does not exist (or was removed by retention after it finished)`);

  const refusalError = (job: JobRecord, refusal: Refusal): SwitchboardError => {
    switch (refusal.kind) {
      case 'finished':
        return conflict(
          `job ${job.id} has already ${job.status === 'canceled' ? 'been canceled' : job.status}; nothing was changed`,
        );
      case 'stale-lease':
        return conflict(
          `this lease does not hold job ${job.id} (it is ${job.status} now): the lease is stale — it ran out and the job was requeued or claimed again — or was never issued. Stop working on this job`,
        );
      case 'lease-expired':
        return conflict(
          `the lease on job ${job.id} ran out ${Math.max(0, now() - (job.leaseExpiresAt ?? 0))} ms ago (timeoutMs ${job.timeoutMs}); the job is being requeued. Report progress more often than timeoutMs to keep a lease`,
        );
      case 'busy':
        return conflict(`job ${job.id} is held by another worker`);
    }
  };

  /** Applies a transition requested by a client: missing → 404, refused → 409. */
  const change = async (id: unknown, decide: (job: JobRecord) => Transition): Promise<JobRecord> => {
    if (!isJobId(id)) throw unknownJob(id);
    const applied = await apply(id, decide);
    if (applied.kind === 'missing') throw unknownJob(id);
    if (applied.kind === 'refused') throw refusalError(applied.job, applied.refusal);
    return applied.job;
  };

  const read = async (id: unknown): Promise<JobRecord> => {
    const job = isJobId(id) ? await engineCall('read the job', () => engine.getJob(id)) : null;
    if (!job) throw unknownJob(id);
    return job;
  };

  // The group side. Failures are ignored on purpose: the job store is the truth, and a submission
  // left pending is redelivered later and skipped (finished) or held (running) then.
  const settleQuietly = (work: Promise<unknown>): Promise<void> =>
    work.then(
      () => undefined,
      () => undefined,
    );
  const group = {
    /** The job finished: its submission is done for the group. */
    ack: (job: JobRecord, member?: string) =>
      job.offset === null
        ? Promise.resolve()
        : settleQuietly(
            hub.internal.groups.ack(queueTopic(job.queue), WORKERS_GROUP, [job.offset], { member }),
          ),
    /** Keeps the submission from being redelivered before `until` (the lease end). */
    holdUntil: (job: JobRecord, until: number, member?: string) =>
      job.offset === null
        ? Promise.resolve()
        : settleQuietly(
            hub.internal.groups.nack(queueTopic(job.queue), WORKERS_GROUP, [job.offset], {
              member,
              delayMs: Math.min(86_400_000, Math.max(0, until - now())),
            }),
          ),
  };

  return { engine, now, engineCall, statusMessage, apply, change, read, group, unknownJob };
}

export type JobState = ReturnType<typeof createJobState>;
