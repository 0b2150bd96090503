/**
 * Jobs as an engine capability: the current state of each job, in domain words only. The queue
 * itself is not here: submissions are messages of the queue's topic, handed out by a consumer
 * group (see docs/jobs.md). What a job adds to that is its state — status, progress, result, lease —
 * and that state is what this store keeps.
 *
 * Engines store and compare; the rules (which transition is allowed, with which lease) live in
 * `src/core/jobs/`. Every write is one atomic step that compares the job's `revision` (optimistic
 * concurrency, so several nodes can share one store) and, in the same step, appends the job's status
 * message to its status topic through the engine's own append path. So a job's state and its
 * status topic never disagree, and a change is answered only once both are durable.
 */
import type { RetentionPolicy } from './engine.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'canceled']);

export interface JobRecord {
  /** `job_` + random characters: one topic segment, unguessable. */
  id: string;
  queue: string;
  status: JobStatus;
  /** Raw JSON text of the payload, as submitted. */
  payload: string;
  /** 0-100. */
  progress: number;
  /** The worker's latest progress note. */
  note: string | null;
  /** Raw JSON text of the result given on completion. */
  result: string | null;
  /** The last failure (worker's error, or a lease that ran out). */
  error: string | null;
  /** Times the job was handed to a worker. */
  attempts: number;
  maxAttempts: number;
  /** How long one attempt may go without a progress report before its lease runs out. */
  timeoutMs: number;
  /** Public version: +1 on every change a client can see (one status message each). */
  version: number;
  /** Internal compare-and-set counter: +1 on every write, visible or not. */
  revision: number;
  createdAt: number;
  updatedAt: number;
  /** When the job reached a terminal status (retention counts from here). */
  finishedAt: number | null;
  idempotencyKey: string | null;
  callbackUrl: string | null;
  /** The submitter's callback secret (`whsec_…`); null: the server's callback secret signs it. */
  callbackSecret: string | null;
  /** The running attempt's lease token; null unless running. */
  lease: string | null;
  leaseExpiresAt: number | null;
  /** Offset of the submission message in the queue topic that the current attempt came from. */
  offset: number | null;
  /** Delayed jobs: not claimable before this time (ms epoch); absent for jobs that run at once. */
  runAt?: number | null;
}

/** A message appended in the same atomic step as a job write (its status, or its submission). */
export interface JobStatusMessage {
  topic: string;
  event: string;
  /** Raw JSON text (the job as `GET /v1/jobs/{id}` shows it). */
  data: string;
  now: number;
  retention: RetentionPolicy;
  dedupeWindowMs: number;
}

export interface CreateJobRequest {
  /** The new job; its `offset` is set from the submission's place in the queue topic. */
  job: JobRecord;
  /** The submission message, appended to the queue topic in the same step. */
  submission: JobStatusMessage;
  status: JobStatusMessage;
}

export interface CreateJobResult {
  /** The stored job: the new one, or the one that already had this queue's idempotency key. */
  job: JobRecord;
  created: boolean;
}

export interface UpdateJobRequest {
  /** The new state; its `revision` must be `expectedRevision + 1`. */
  job: JobRecord;
  expectedRevision: number;
  /** Null for writes clients cannot see (e.g. recording a submission's offset). */
  status: JobStatusMessage | null;
}

/** How many jobs a queue holds in one status. */
export interface JobCount {
  queue: string;
  status: JobStatus;
  count: number;
}

export interface JobStore {
  /** Jobs by queue and status, for the console's queue list and the `switchboard_jobs` gauge. */
  countJobs(): Promise<JobCount[]>;
  /**
   * Stores a new job with its submission and its first status message — one step — unless its
   * queue already has a job with the same idempotency key (then nothing is written).
   */
  createJob(request: CreateJobRequest): Promise<CreateJobResult>;
  getJob(id: string): Promise<JobRecord | null>;
  /** False (nothing written) when the job is gone or its revision moved on: read it again. */
  updateJob(request: UpdateJobRequest): Promise<boolean>;
  /** Removes a job (retention); its idempotency key is forgotten with it. */
  deleteJob(id: string): Promise<boolean>;
  /** Running jobs whose lease ended at or before `now`, earliest first. */
  expiredLeases(now: number, limit: number): Promise<JobRecord[]>;
  /** Terminal jobs that finished before `time`, oldest first. */
  finishedBefore(time: number, limit: number): Promise<JobRecord[]>;
  /** Queues that hold queued or running jobs. */
  activeQueues(): Promise<string[]>;
  /** Queued jobs of `queue` whose submission offset is at most `offset` or unknown, oldest first. */
  queuedThrough(queue: string, offset: number, limit: number): Promise<JobRecord[]>;
}

/** Secondary-index facts of a record, shared by the engines' index upkeep. */
export const isActive = (job: JobRecord): boolean => job.status === 'queued' || job.status === 'running';
