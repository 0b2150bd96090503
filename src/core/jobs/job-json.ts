/**
 * A job as clients see it (`GET /v1/jobs/{id}`, status messages, callback bodies), built once per
 * version by string concatenation around the stored raw JSON of the result, like wire-json.ts does
 * for messages. Leases, payload and callback settings are never shown.
 */
import type { JobRecord } from '../../engines/job-store.js';
import { statusTopic } from './job-rules.js';

export function jobJson(job: JobRecord): string {
  const note = job.note === null ? '' : `,"note":${JSON.stringify(job.note)}`;
  const result = job.result === null ? '' : `,"result":${job.result}`;
  const error = job.error === null ? '' : `,"error":${JSON.stringify(job.error)}`;
  const runAt = job.runAt == null ? '' : `,"runAt":${job.runAt}`;
  return (
    `{"id":"${job.id}","queue":"${job.queue}","status":"${job.status}","progress":${job.progress}${runAt}${note}${result}${error}` +
    `,"attempts":${job.attempts},"maxAttempts":${job.maxAttempts},"version":${job.version}` +
    `,"createdAt":${job.createdAt},"updatedAt":${job.updatedAt}}`
  );
}

export const jobLinks = (job: Pick<JobRecord, 'id' | 'queue'>) => ({
  self: `/v1/jobs/${job.id}`,
  events: `/v1/jobs/${job.id}/events`,
  /** The status topic: subscribe to it over WebSocket, SSE or long polling. */
  topic: statusTopic(job.queue, job.id),
});

/** The submission message on the queue topic: the job id first, so a claim finds it cheaply. */
export const submissionJson = (job: Pick<JobRecord, 'id' | 'payload'>): string =>
  `{"id":"${job.id}","payload":${job.payload}}`;

const SUBMISSION_ID_RE = /^\{"id":"(job_[A-Za-z0-9_-]{22})"/;

/** The job id of a submission message, or undefined for anything else published on the topic. */
export const submissionJobId = (data: string): string | undefined => SUBMISSION_ID_RE.exec(data)?.[1];
