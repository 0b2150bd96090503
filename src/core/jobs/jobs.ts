/**
 * Asynchronous jobs, the business rules (`createJobs`); HTTP is src/patterns/jobs. A job is built
 * from the hub's own parts (docs/jobs.md):
 *
 * - its submission is a message on the queue topic `jobs.<queue>`, handed to workers by the
 *   consumer group `workers` (job-claims.ts);
 * - its state lives in the engine's job store, and every change appends the job's JSON to its
 *   status topic `jobs.<queue>.<id>` in the same atomic step — so long polls, SSE, WebSocket
 *   subscribers and the completion callback (a webhook on that topic) all follow the same log.
 */
import type { JobRecord } from '../../engines/job-store.js';
import { badRequest, payloadTooLarge, unavailable } from '../../protocol/errors.js';
import type { Hub } from '../hub.js';
import { dueTime, isScheduled } from '../schedule-rules.js';
import type { CallbackJob } from '../webhooks/webhooks.js';
import { createJobClaims } from './job-claims.js';
import { submissionJson } from './job-json.js';
import { createJobMaintenance, EXPIRY_BATCH } from './job-maintenance.js';
import {
  assertLease,
  assertProgress,
  assertQueue,
  JOB_DEFAULTS,
  JOB_RANGES,
  newJobId,
  optionalText,
  queueTopic,
  statusTopic,
  submitSettings,
} from './job-rules.js';
import { createJobState } from './job-state.js';
import { JobWatchers } from './job-watchers.js';
import { cancel, complete, enqueued, expire, fail, isFinished, progress } from './transitions.js';

/** What jobs need from webhooks: the SSRF check of a callback URL, and the callback itself. */
export interface JobCallbacks {
  checkCallbackUrl(url: unknown): Promise<string>;
  ensureCallback(job: CallbackJob): Promise<void>;
  forgetCallback(jobId: string): Promise<void>;
}

export interface CreateJobsOptions {
  hub: Hub;
  callbacks: JobCallbacks;
  /** Finished jobs are kept this long. @default 7 days */
  retentionMs?: number | undefined;
  /** Group lease of a claimed submission. @default the default job timeout (5 min) */
  handshakeMs?: number;
  /** @default 1_000 */
  checkIntervalMs?: number;
  /** How often lost submissions are looked for. @default 30_000 */
  recoverIntervalMs?: number;
  onError?(error: unknown, what: string): void;
}

export interface SubmitInput {
  /** The payload's JSON text, as sent. */
  payload: string;
  callbackUrl?: unknown;
  callbackSecret?: unknown;
  idempotencyKey?: unknown;
  maxAttempts?: unknown;
  timeoutMs?: unknown;
  /** Delayed jobs (docs/delayed.md): queued now, claimable from then on. */
  delayMs?: unknown;
  runAt?: unknown;
}

export type Jobs = ReturnType<typeof createJobs>;

export function createJobs(options: CreateJobsOptions) {
  const { hub, callbacks } = options;
  const state = createJobState(hub);
  const { engine, now, engineCall } = state;
  const watchers = new JobWatchers(hub);
  const retentionMs = options.retentionMs ?? JOB_DEFAULTS.retentionMs;
  const onError = options.onError ?? (() => {});
  let draining = false;

  const callbackJob = (job: JobRecord): CallbackJob => ({
    id: job.id,
    topic: statusTopic(job.queue, job.id),
    callbackUrl: job.callbackUrl,
    callbackSecret: job.callbackSecret,
  });

  /** After a terminal change: the lease timer can go, the callback must exist. */
  const finished = async (job: JobRecord): Promise<void> => {
    maintenance.leaseCleared(job.id);
    if (job.callbackUrl) await callbacks.ensureCallback(callbackJob(job));
  };

  /** The submission message, stored with the job (createJob) on the queue topic. */
  const submissionMessage = (job: JobRecord) => {
    const topic = queueTopic(job.queue);
    return {
      topic,
      event: 'submitted',
      data: submissionJson(job),
      now: job.createdAt,
      retention: hub.retentionFor(topic),
      dedupeWindowMs: hub.options.dedupeWindowMs,
    };
  };

  /** Publishes a waiting job's submission again (the first one left the log); records where it landed. */
  const enqueue = async (job: JobRecord): Promise<void> => {
    const published = await hub.internal.publishInputs(queueTopic(job.queue), [
      { data: submissionJson(job), event: 'submitted' },
    ]);
    const offset = published.outcomes[0]!.offset;
    await state.apply(job.id, (current) => enqueued(current, job.offset, offset));
  };

  /** Removes finished jobs older than `before` with their status topics and callbacks. */
  const purgeFinished = async (before: number): Promise<number> => {
    let removed = 0;
    for (;;) {
      const old = await engine.finishedBefore(before, 100);
      for (const job of old) {
        const topic = statusTopic(job.queue, job.id);
        await callbacks.forgetCallback(job.id);
        await engine.deleteJob(job.id);
        await engine.deleteTopic(topic);
        await engine.deleteTopic(`${topic}.dead-letter`);
        removed++;
      }
      if (old.length < 100) return removed;
    }
  };
  /** Gives queued jobs whose submission left the queue topic a fresh one. */
  const recoverSubmissions = async (): Promise<void> => {
    for (const queue of await engine.activeQueues()) {
      const { floor } = await engine.state(queueTopic(queue));
      for (const job of await engine.queuedThrough(queue, floor, 100)) {
        await enqueue(job);
      }
    }
  };

  const maintenance = createJobMaintenance({
    now,
    retentionMs,
    checkIntervalMs: options.checkIntervalMs ?? 1_000,
    purgeIntervalMs: 60_000,
    recoverIntervalMs: options.recoverIntervalMs ?? 30_000,
    onError,
    expiredLeases: (at) => engine.expiredLeases(at, EXPIRY_BATCH),
    async expire(job) {
      const applied = await state.apply(job.id, (current) => expire(current, now()));
      if (applied.kind !== 'changed') return;
      if (applied.job.status === 'failed') {
        await state.group.ack({ ...applied.job, offset: job.offset });
        await finished(applied.job);
      } else maintenance.leaseCleared(job.id); // queued: the group redelivers it at the lease end
    },
    purgeFinished,
    recoverSubmissions,
  });

  const claims = createJobClaims({
    hub,
    state,
    handshakeMs: options.handshakeMs ?? JOB_DEFAULTS.timeoutMs,
    leaseSet: (id, at) => maintenance.leaseSet(id, at),
    finished,
  });

  const maxResultBytes = (): number => hub.options.limits.maxMessageBytes;

  return {
    watchers,
    read: state.read,
    /** The background steps, for tests and operators who want them now rather than on their timers. */
    maintenance: { checkLeases: maintenance.checkLeases, purgeFinished, recoverSubmissions },

    start(): void {
      maintenance.start();
    },

    stop(): void {
      draining = true;
      maintenance.stop();
      watchers.close();
    },

    async submit(queueName: unknown, input: SubmitInput): Promise<{ job: JobRecord; created: boolean }> {
      const queue = assertQueue(queueName);
      const payload = input.payload;
      const submissionBytes = Buffer.byteLength(submissionJson({ id: newJobId(), payload }));
      if (submissionBytes > hub.options.limits.maxMessageBytes) {
        throw payloadTooLarge(
          `the payload makes a ${submissionBytes}-byte submission; the limit is ${hub.options.limits.maxMessageBytes} (maxMessageBytes): send a reference to the data instead`,
        );
      }
      const { maxAttempts, timeoutMs, idempotencyKey, callbackSecret } = submitSettings(input);
      const callbackUrl =
        input.callbackUrl === undefined || input.callbackUrl === null
          ? null
          : await callbacks.checkCallbackUrl(input.callbackUrl);
      if (callbackSecret && !callbackUrl) throw badRequest('callbackSecret needs a callbackUrl to sign for');
      if (draining) throw unavailable('the server is shutting down; submit again in a moment');
      const at = now();
      const delayed = isScheduled({ delayMs: input.delayMs, deliverAt: input.runAt });
      const runAt = delayed ? dueTime({ delayMs: input.delayMs, deliverAt: input.runAt }, at, 'runAt') : null;
      const job: JobRecord = {
        id: newJobId(),
        queue,
        status: 'queued',
        payload,
        progress: 0,
        note: null,
        result: null,
        error: null,
        attempts: 0,
        maxAttempts,
        timeoutMs,
        version: 1,
        revision: 1,
        createdAt: at,
        updatedAt: at,
        finishedAt: null,
        idempotencyKey,
        callbackUrl,
        callbackSecret,
        lease: null,
        leaseExpiresAt: null,
        offset: null,
        ...(runAt === null ? {} : { runAt }),
      };
      // One atomic step: the job, its submission on the queue topic, and its first status message.
      const stored = await engineCall('store the job', () =>
        engine.createJob({
          job,
          submission: submissionMessage(job),
          status: state.statusMessage(job, 'queued'),
        }),
      );
      if (stored.job.callbackUrl) await callbacks.ensureCallback(callbackJob(stored.job));
      return stored;
    },

    /** The job now, or (with `version`) once its version differs from it, at most `waitMs` later. */
    async get(id: unknown, opts: { version?: number; waitMs?: number; signal?: AbortSignal } = {}) {
      const job = await state.read(id);
      const { version, waitMs = 0, signal } = opts;
      if (version === undefined || job.version !== version || waitMs <= 0 || draining) return job;
      if (watchers.size >= hub.options.limits.maxWaiters) {
        throw unavailable(`${watchers.size} job long polls are already held; retry shortly`);
      }
      return watchers.waitFor(statusTopic(job.queue, job.id), {
        read: () => state.read(id),
        done: (current) => current.version !== version || draining,
        waitMs,
        signal,
      });
    },

    async cancel(id: unknown): Promise<JobRecord> {
      const job = await state.change(id, (current) => cancel(current, now()));
      await state.group.ack(job);
      await finished(job);
      return job;
    },

    claim: claims.claim,

    async progress(id: unknown, lease: unknown, value: unknown, note: unknown): Promise<JobRecord> {
      const held = assertLease(lease);
      const percent = assertProgress(value);
      const text = optionalText('note', note, JOB_RANGES.noteChars);
      const job = await state.change(id, (current) => progress(current, held, percent, text, now()));
      await state.group.holdUntil(job, job.leaseExpiresAt ?? 0);
      maintenance.leaseSet(job.id, job.leaseExpiresAt ?? 0);
      return job;
    },

    async complete(id: unknown, lease: unknown, result: string | null): Promise<JobRecord> {
      const held = assertLease(lease);
      if (result !== null && Buffer.byteLength(result) > maxResultBytes()) {
        throw payloadTooLarge(
          `result is ${Buffer.byteLength(result)} bytes; the limit is ${maxResultBytes()}`,
        );
      }
      const job = await state.change(id, (current) => complete(current, held, result, now()));
      await state.group.ack(job);
      await finished(job);
      return job;
    },

    async fail(id: unknown, lease: unknown, error: unknown, retry: unknown): Promise<JobRecord> {
      const held = assertLease(lease);
      const reason = optionalText('error', error, JOB_RANGES.errorChars);
      if (reason === null) throw badRequest('error is required: say why the job failed');
      if (retry !== undefined && typeof retry !== 'boolean') throw badRequest('retry must be true or false');
      const job = await state.change(id, (current) => fail(current, held, reason, retry === true, now()));
      if (isFinished(job)) {
        await state.group.ack(job);
        await finished(job);
      } else {
        maintenance.leaseCleared(job.id);
        await state.group.holdUntil(job, 0); // claimable again at once
      }
      return job;
    },
  };
}
