/**
 * Job names, defaults and ranges, and the topics jobs live on. Every check throws `bad_request`
 * with what to send instead, before anything is stored.
 *
 * Topics: a queue `Q` keeps its submissions on `jobs.Q` (consumed by the group `workers`), and job
 * `J` publishes its status changes on `jobs.Q.J`. Both are ordinary topics, so a queue name may
 * have at most 6 segments (the status topic adds two to the 8 a topic may have).
 */
import { randomBytes } from 'node:crypto';
import { badRequest } from '../../protocol/errors.js';
import { isValidTopic } from '../../protocol/message.js';
import { assertIdempotencyKey } from '../validate.js';
import { assertSecret } from '../webhooks/sign.js';

export const JOB_DEFAULTS = {
  maxAttempts: 3,
  /** A lease (one attempt) lasts this long after the claim or the last progress report. */
  timeoutMs: 300_000,
  /** Finished jobs (and their status topics) are removed this long after they finished. */
  retentionMs: 7 * 24 * 3_600_000,
} as const;

export const JOB_RANGES = {
  maxAttempts: { min: 1, max: 100 },
  timeoutMs: { min: 100, max: 43_200_000 },
  errorChars: { min: 1, max: 2_000 },
  noteChars: { min: 0, max: 500 },
} as const;

/** The consumer group that hands out a queue's submissions. */
export const WORKERS_GROUP = 'workers';
/** Group creation setting: the job layer counts attempts itself (per job), the group must not. */
export const GROUP_MAX_ATTEMPTS = 1_000;

export const QUEUE_RULE = `a topic name of at most 6 segments (1-64 characters from [A-Za-z0-9_-], joined by ".")`;
const MAX_QUEUE_SEGMENTS = 6;

export const queueTopic = (queue: string): string => `jobs.${queue}`;
export const statusTopic = (queue: string, id: string): string => `jobs.${queue}.${id}`;

export function assertQueue(queue: unknown): string {
  if (
    typeof queue !== 'string' ||
    !isValidTopic(queue) ||
    queue.endsWith('.dead-letter') ||
    queue.split('.').length > MAX_QUEUE_SEGMENTS
  ) {
    throw badRequest(`queue ${JSON.stringify(queue)} is invalid: use ${QUEUE_RULE}`);
  }
  return queue;
}

const JOB_ID_RE = /^job_[A-Za-z0-9_-]{22}$/;
const LEASE_RE = /^lease_[A-Za-z0-9_-]{32}$/;

export const newJobId = (): string => `job_${randomBytes(16).toString('base64url')}`;
export const newLease = (): string => `lease_${randomBytes(24).toString('base64url')}`;
export const isJobId = (id: unknown): id is string => typeof id === 'string' && JOB_ID_RE.test(id);

export function assertLease(lease: unknown): string {
  if (typeof lease !== 'string' || !LEASE_RE.test(lease)) {
    throw badRequest('lease must be the "lease" string the claim answered (lease_…)');
  }
  return lease;
}

export function assertProgress(progress: unknown): number {
  if (typeof progress !== 'number' || !Number.isFinite(progress) || progress < 0 || progress > 100) {
    throw badRequest(`progress ${JSON.stringify(progress)} is invalid: send a number from 0 to 100`);
  }
  return progress;
}

export function optionalText(name: string, value: unknown, range: { min: number; max: number }) {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length < range.min || value.length > range.max) {
    throw badRequest(`${name} must be a string of ${range.min}-${range.max} characters`);
  }
  return value;
}

export function wholeNumberIn(
  name: string,
  value: unknown,
  range: { min: number; max: number },
  fallback: number,
) {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw badRequest(
      `${name} ${JSON.stringify(value)} is invalid: send a whole number from ${range.min} to ${range.max}`,
    );
  }
  return value;
}

/** The checked settings of a submit (the callback URL is checked by the SSRF guard separately). */
export function submitSettings(input: {
  maxAttempts?: unknown;
  timeoutMs?: unknown;
  idempotencyKey?: unknown;
  callbackSecret?: unknown;
}) {
  return {
    maxAttempts: wholeNumberIn(
      'maxAttempts',
      input.maxAttempts,
      JOB_RANGES.maxAttempts,
      JOB_DEFAULTS.maxAttempts,
    ),
    timeoutMs: wholeNumberIn('timeoutMs', input.timeoutMs, JOB_RANGES.timeoutMs, JOB_DEFAULTS.timeoutMs),
    idempotencyKey: assertIdempotencyKey(input.idempotencyKey) ?? null,
    callbackSecret:
      input.callbackSecret === undefined || input.callbackSecret === null
        ? null
        : assertSecret(input.callbackSecret, 'callbackSecret'),
  };
}
