/**
 * Asynchronous jobs over HTTP (docs/jobs.md): submit, status (request-response, long poll on
 * `version`, SSE), cancel, and the worker side (long-poll claim, progress, complete, fail). Only wire
 * translation here; the rules live in `core/jobs/`.
 *
 * Routes named by a job id carry no queue in the URL, so route-rules.ts only asks for a valid token
 * there and this plugin checks the job's queue itself once it has read the job: `subscribe` to read
 * or work on a job, `publish` to cancel it (as for submitting).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Capability } from '../../core/auth.js';
import type { Hub } from '../../core/hub.js';
import { jobJson, jobLinks } from '../../core/jobs/job-json.js';
import { createJobs, type Jobs } from '../../core/jobs/jobs.js';
import { integerParam } from '../../core/validate.js';
import type { JobRecord } from '../../engines/job-store.js';
import { badRequest } from '../../protocol/errors.js';
import { jsonDepth } from '../../protocol/json.js';
import { MAX_JSON_DEPTH } from '../../protocol/message.js';
import type { ServerConfig } from '../../server/config.js';
import { jsonObjectBodyWithRaw } from '../shared/body.js';
import '../webhooks/index.js'; // the `app.webhooks` declaration
import { JobEventStreams } from './events.js';
import { registerQueueList } from './queues.js';

type IdParams = { id: string };
type QueueParams = { queue: string };

const SUBMIT_FIELDS = new Set([
  'payload',
  'callbackUrl',
  'callbackSecret',
  'idempotencyKey',
  'maxAttempts',
  'timeoutMs',
  'delayMs',
  'runAt',
]);

const sendJson = (reply: FastifyReply, status: number, text: string) =>
  reply.code(status).type('application/json; charset=utf-8').header('cache-control', 'no-store').send(text);

function rawJson(raw: Map<string, string>, name: string): string | null {
  const text = raw.get(name);
  if (text === undefined) return null;
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw badRequest(`${name} is nested deeper than ${MAX_JSON_DEPTH} levels; flatten it`);
  }
  return text;
}

/** Aborted when the client disconnects (held claims and long polls give up). */
function disconnectSignal(reply: FastifyReply): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const onClose = (): void => controller.abort();
  reply.raw.once('close', onClose);
  return { signal: controller.signal, done: () => reply.raw.off('close', onClose) };
}

export function registerJobs(app: FastifyInstance, hub: Hub, config: ServerConfig): Jobs {
  const { maxWaitSeconds } = hub.options.limits;
  const callbacks = app.webhooks; // registered first (registerWebhooks)
  const jobs = createJobs({
    hub,
    callbacks,
    retentionMs: config.jobRetentionMs,
    onError: (error, what) => app.log.warn({ err: error, module: 'jobs' }, `jobs: could not ${what}`),
  });
  const streams = new JobEventStreams(hub, jobs, {
    keepAliveMs: config.sseKeepAliveMs,
    retryMs: config.sseRetryMs,
  });
  jobs.start();
  // Before the server waits for requests in flight: held long polls and streams answer now.
  app.addHook('preClose', async () => {
    jobs.stop();
    streams.closeAll();
  });

  /** Reads the job and checks the caller may use `capability` on its queue (open mode: anyone). */
  const authorizedJob = async (request: FastifyRequest<{ Params: IdParams }>, capability: Capability) => {
    const job = await jobs.read(request.params.id);
    if (request.principal) app.security.auth.authorize(request.principal, capability, job.queue);
    return job;
  };
  const workerCheck = async (request: FastifyRequest<{ Params: IdParams }>): Promise<void> => {
    if (app.security.auth.mode === 'token') await authorizedJob(request, 'subscribe');
  };

  registerQueueList(app, hub);

  app.post<{ Params: QueueParams }>('/v1/queues/:queue/jobs', async (request, reply) => {
    const { value, raw } = jsonObjectBodyWithRaw(request.body);
    for (const key of Object.keys(value)) {
      if (!SUBMIT_FIELDS.has(key))
        throw badRequest(`unknown field "${key}"; send ${[...SUBMIT_FIELDS].join(', ')}`);
    }
    const { job, created } = await jobs.submit(request.params.queue, {
      payload: rawJson(raw, 'payload') ?? 'null',
      callbackUrl: value.callbackUrl,
      callbackSecret: value.callbackSecret,
      idempotencyKey: value.idempotencyKey ?? request.headers['idempotency-key'],
      maxAttempts: value.maxAttempts,
      timeoutMs: value.timeoutMs,
      delayMs: value.delayMs,
      runAt: value.runAt,
    });
    return reply
      .code(202)
      .header('location', `/v1/jobs/${job.id}`)
      .send({
        id: job.id,
        queue: job.queue,
        status: job.status,
        links: jobLinks(job),
        ...(created ? {} : { duplicate: true }),
      });
  });

  app.get<{ Params: IdParams; Querystring: { wait?: string; version?: string } }>(
    '/v1/jobs/:id',
    async (request, reply) => {
      const wait = integerParam('wait', request.query.wait, { min: 0, max: maxWaitSeconds, fallback: 0 });
      const version =
        request.query.version === undefined
          ? undefined
          : integerParam('version', request.query.version, {
              min: 0,
              max: Number.MAX_SAFE_INTEGER,
              fallback: 0,
            });
      let job: JobRecord = await authorizedJob(request, 'subscribe');
      if (version !== undefined && wait > 0 && job.version === version) {
        const gone = disconnectSignal(reply);
        try {
          job = await jobs.get(job.id, { version, waitMs: wait * 1000, signal: gone.signal });
        } finally {
          gone.done();
        }
      }
      return sendJson(reply, 200, jobJson(job));
    },
  );

  app.get<{ Params: IdParams; Querystring: { after?: string } }>(
    '/v1/jobs/:id/events',
    async (request, reply) => {
      const job = await authorizedJob(request, 'subscribe');
      const lastEventId = request.headers['last-event-id'];
      const cursor =
        typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : request.query.after;
      const after = integerParam('after', cursor, { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
      await streams.stream(reply, job, after, request.principal);
    },
  );

  app.delete<{ Params: IdParams }>('/v1/jobs/:id', async (request, reply) => {
    await authorizedJob(request, 'publish');
    return sendJson(reply, 200, jobJson(await jobs.cancel(request.params.id)));
  });

  app.post<{ Params: QueueParams; Querystring: { wait?: string } }>(
    '/v1/queues/:queue/claim',
    async (request, reply) => {
      const wait = integerParam('wait', request.query.wait, { min: 0, max: maxWaitSeconds, fallback: 0 });
      const gone = disconnectSignal(reply);
      try {
        const claimed = await jobs.claim(request.params.queue, { waitMs: wait * 1000, signal: gone.signal });
        if (!claimed) return reply.code(204).header('cache-control', 'no-store').send();
        const { job, lease } = claimed;
        return sendJson(
          reply,
          200,
          `{"job":{"id":"${job.id}","payload":${job.payload},"attempt":${job.attempts}},"lease":"${lease}","leaseMs":${job.timeoutMs}}`,
        );
      } finally {
        gone.done();
      }
    },
  );

  app.post<{ Params: IdParams }>('/v1/jobs/:id/progress', async (request, reply) => {
    const { value } = jsonObjectBodyWithRaw(request.body);
    await workerCheck(request);
    const job = await jobs.progress(request.params.id, value.lease, value.progress, value.note);
    return sendJson(reply, 200, jobJson(job));
  });

  app.post<{ Params: IdParams }>('/v1/jobs/:id/complete', async (request, reply) => {
    const body =
      request.body === undefined
        ? { value: {}, raw: new Map<string, string>() }
        : jsonObjectBodyWithRaw(request.body);
    await workerCheck(request);
    const job = await jobs.complete(request.params.id, body.value.lease, rawJson(body.raw, 'result'));
    return sendJson(reply, 200, jobJson(job));
  });

  app.post<{ Params: IdParams }>('/v1/jobs/:id/fail', async (request, reply) => {
    const { value } = jsonObjectBodyWithRaw(request.body);
    await workerCheck(request);
    const job = await jobs.fail(request.params.id, value.lease, value.error, value.retry);
    return sendJson(reply, 200, jobJson(job));
  });

  return jobs;
}
