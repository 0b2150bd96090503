/**
 * `GET /v1/jobs/{id}/events`: a job's status topic as Server-Sent Events, ending after the terminal
 * status. Each event is one status message: `id:` its offset in the status topic (a reconnecting
 * EventSource sends it back as `Last-Event-ID` and resumes after it), `event:` the change
 * (`queued`, `running`, `progress`, `succeeded`, `failed`, `canceled`), `data:` the job's JSON as
 * `GET /v1/jobs/{id}` showed it at that version. Without a cursor the stream replays the job's
 * history first, so a late follower still sees every step.
 *
 * Written by hand on the raw response (hijacked from fastify) because it ends itself.
 */
import type { FastifyReply } from 'fastify';
import { type Principal, scheduleExpiry } from '../../core/auth.js';
import type { Hub } from '../../core/hub.js';
import { jobJson } from '../../core/jobs/job-json.js';
import { statusTopic } from '../../core/jobs/job-rules.js';
import type { Jobs } from '../../core/jobs/jobs.js';
import { isFinished } from '../../core/jobs/transitions.js';
import type { JobRecord } from '../../engines/job-store.js';

export interface JobStreamOptions {
  keepAliveMs: number;
  retryMs: number;
}

const TERMINAL_EVENTS = new Set(['succeeded', 'failed', 'canceled']);

/** `data:` lines: stored JSON may contain line breaks (each line is its own field). */
const dataLines = (json: string): string =>
  json
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');

export class JobEventStreams {
  readonly #streams = new Set<() => void>();

  constructor(
    private readonly hub: Hub,
    private readonly jobs: Jobs,
    private readonly options: JobStreamOptions,
  ) {}

  get open(): number {
    return this.#streams.size;
  }

  /** Ends every stream with a `close` event (shutdown); clients reconnect and resume. */
  closeAll(): void {
    for (const end of [...this.#streams]) end();
  }

  /** Streams `job` (already read and authorized) after status offset `after` until it finishes. */
  async stream(reply: FastifyReply, job: JobRecord, after: number, principal: Principal | undefined) {
    const { hub, jobs, options } = this;
    const topic = statusTopic(job.queue, job.id);
    const response = reply.raw;
    reply.hijack();
    response.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    response.write(`retry: ${options.retryMs}\n\n`);
    let ended = false;
    let cursor = after;
    let appended = false;
    let wake: (() => void) | undefined;
    const end = (closeReason?: string): void => {
      if (ended) return;
      ended = true;
      wake?.();
      this.#streams.delete(shutdown);
      cancelExpiry();
      if (closeReason) response.write(`event: close\ndata: ${JSON.stringify({ reason: closeReason })}\n\n`);
      response.end();
    };
    const shutdown = (): void => end('server restarting; reconnect to resume from your last event id');
    this.#streams.add(shutdown);
    const cancelExpiry = principal ? scheduleExpiry(principal, () => end('token expired')) : () => {};
    response.once('close', () => end());

    const send = (id: number | undefined, event: string, data: string): void => {
      response.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\n${dataLines(data)}\n`);
    };
    /** The job as stored now, for when its history is not in the topic any more. */
    const sendSnapshot = async (): Promise<boolean> => {
      const current = await jobs.read(job.id).catch(() => undefined);
      if (!current) return true;
      send(undefined, isFinished(current) ? current.status : 'progress', jobJson(current));
      return isFinished(current);
    };

    // Watch before the first read, so an append between a read and the wait is not missed.
    const unwatch = jobs.watchers.watch(topic, () => {
      appended = true;
      wake?.();
    });
    const nextAppend = (): Promise<boolean> =>
      new Promise((resolve) => {
        if (appended || ended) return resolve(true);
        const timer = setTimeout(() => resolve(false), options.keepAliveMs);
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
    try {
      while (!ended) {
        appended = false;
        const page = await hub.fetch(topic, { after: cursor, limit: 100 });
        if (page.gap || page.reset || page.epoch === null) {
          // Retention or a deleted topic took the history: start from the job as it is now.
          if (await sendSnapshot()) return end();
          cursor = page.last;
        }
        for (const message of page.messages) {
          cursor = message.offset;
          if (TERMINAL_EVENTS.has(message.event ?? '')) {
            // The stream ends only on a terminal status the job store confirms, and shows the
            // stored job: a status topic is hub-written, but the store is the truth.
            const current = await jobs.read(job.id).catch(() => undefined);
            if (!current || !isFinished(current) || current.status !== message.event) continue;
            send(message.offset, current.status, jobJson(current));
            return end();
          }
          send(message.offset, message.event ?? 'message', message.data);
        }
        if (page.messages.length > 0 || (await nextAppend()) || ended) continue;
        response.write(': keep-alive\n\n');
        if (!(await jobs.read(job.id).catch(() => undefined))) return end(); // removed by retention
      }
    } catch {
      end(); // the store failed: the client reconnects and resumes
    } finally {
      unwatch();
    }
  }
}
