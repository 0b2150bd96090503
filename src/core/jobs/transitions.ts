/**
 * The job state machine as pure functions: given the stored job and a request, either the next
 * state (and the status event it publishes) or a refusal. No I/O here, so every engine gets the
 * same rules and the rules are easy to read in one place:
 *
 *   queued ──claim──▶ running ──complete──▶ succeeded
 *     ▲                 │ │ └──fail──────▶ failed       (or back to queued with retry:true)
 *     └──lease expiry───┘ └──last attempt's lease expiry──▶ failed
 *   queued/running ──cancel──▶ canceled
 *
 * A lease is valid until `leaseExpiresAt`; every progress report renews it for `timeoutMs`.
 */
import { timingSafeEqual } from 'node:crypto';
import { type JobRecord, TERMINAL_STATUSES } from '../../engines/job-store.js';

export type Refusal =
  /** The job reached a terminal status: nothing more can change it. */
  | { kind: 'finished' }
  /** The lease is not the job's current lease: stale (it was requeued or reclaimed) or forged. */
  | { kind: 'stale-lease' }
  /** The lease is the current one but ran out. */
  | { kind: 'lease-expired' }
  /** (claims) Another worker holds an unexpired lease on the job until `until`. */
  | { kind: 'busy'; until: number };

export type Transition =
  | { next: JobRecord; event: string; visible: boolean }
  | { refused: Refusal }
  /** Nothing to do (e.g. a lease that was renewed meanwhile is not expired). */
  | { unchanged: true };

const change = (job: JobRecord, now: number, fields: Partial<JobRecord>, event: string): Transition => ({
  next: { ...job, ...fields, version: job.version + 1, revision: job.revision + 1, updatedAt: now },
  event,
  visible: true,
});

const finish = (job: JobRecord, now: number, fields: Partial<JobRecord>, event: string): Transition =>
  change(job, now, { ...fields, lease: null, leaseExpiresAt: null, finishedAt: now }, event);

export const isFinished = (job: JobRecord): boolean => TERMINAL_STATUSES.has(job.status);

function sameLease(held: string | null, given: string): boolean {
  if (held === null || held.length !== given.length) return false;
  return timingSafeEqual(Buffer.from(held), Buffer.from(given)); // no timing hints for guessers
}

function checkLease(job: JobRecord, lease: string, now: number): Refusal | undefined {
  if (isFinished(job)) return { kind: 'finished' };
  if (job.status !== 'running' || !sameLease(job.lease, lease)) return { kind: 'stale-lease' };
  if ((job.leaseExpiresAt ?? 0) <= now) return { kind: 'lease-expired' };
  return undefined;
}

/** A worker's claim reached this job's submission message. */
export function start(job: JobRecord, lease: string, offset: number, now: number): Transition {
  if (isFinished(job)) return { refused: { kind: 'finished' } };
  // A delayed job (runAt) is not claimable before its time: the group holds its submission until then.
  if (job.status === 'queued' && (job.runAt ?? 0) > now)
    return { refused: { kind: 'busy', until: job.runAt! } };
  if (job.status === 'running' && (job.leaseExpiresAt ?? 0) > now) {
    return { refused: { kind: 'busy', until: job.leaseExpiresAt ?? now } };
  }
  if (job.attempts >= job.maxAttempts) return expire({ ...job, status: 'running', leaseExpiresAt: now }, now);
  return change(
    job,
    now,
    {
      status: 'running',
      attempts: job.attempts + 1,
      lease,
      leaseExpiresAt: now + job.timeoutMs,
      offset,
      progress: 0,
      note: null,
    },
    'running',
  );
}

export function progress(job: JobRecord, lease: string, value: number, note: string | null, now: number) {
  const refusal = checkLease(job, lease, now);
  if (refusal) return { refused: refusal } satisfies Transition;
  return change(job, now, { progress: value, note, leaseExpiresAt: now + job.timeoutMs }, 'progress');
}

export function complete(job: JobRecord, lease: string, result: string | null, now: number): Transition {
  const refusal = checkLease(job, lease, now);
  if (refusal) return { refused: refusal };
  return finish(job, now, { status: 'succeeded', progress: 100, result, error: null }, 'succeeded');
}

export function fail(job: JobRecord, lease: string, error: string, retry: boolean, now: number): Transition {
  const refusal = checkLease(job, lease, now);
  if (refusal) return { refused: refusal };
  if (retry && job.attempts < job.maxAttempts) {
    return change(job, now, { status: 'queued', error, lease: null, leaseExpiresAt: null }, 'queued');
  }
  return finish(job, now, { status: 'failed', error }, 'failed');
}

export function cancel(job: JobRecord, now: number): Transition {
  if (isFinished(job)) return { refused: { kind: 'finished' } };
  return finish(job, now, { status: 'canceled' }, 'canceled');
}

/** The lease ran out: requeue, or fail when that was the last attempt. */
export function expire(job: JobRecord, now: number): Transition {
  if (job.status !== 'running' || (job.leaseExpiresAt ?? 0) > now) return { unchanged: true };
  const error = `lease expired: no progress report or completion within ${job.timeoutMs} ms (attempt ${job.attempts} of ${job.maxAttempts})`;
  if (job.attempts < job.maxAttempts) {
    return change(job, now, { status: 'queued', error, lease: null, leaseExpiresAt: null }, 'queued');
  }
  return finish(job, now, { status: 'failed', error }, 'failed');
}

/** The claiming request went away before it could see the job: hand it back, uncounted. */
export function release(job: JobRecord, lease: string, now: number): Transition {
  if (job.status !== 'running' || !sameLease(job.lease, lease)) return { unchanged: true };
  return change(
    job,
    now,
    { status: 'queued', attempts: job.attempts - 1, lease: null, leaseExpiresAt: null },
    'queued',
  );
}

/** Records the submission's offset (a write clients cannot see). */
export function enqueued(job: JobRecord, previousOffset: number | null, offset: number): Transition {
  if (job.status !== 'queued' || job.offset !== previousOffset) return { unchanged: true };
  return { next: { ...job, offset, revision: job.revision + 1 }, event: '', visible: false };
}
