/**
 * Jobs and webhooks in token mode: submit and cancel need `publish` on the queue, claiming,
 * working on and reading a job need `subscribe` on its queue (checked on the job's queue for routes
 * named by job id), and webhook management needs an admin token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, errorCode, jsonHeaders, mint, startTokenServer } from '../security/support.js';
import type { TestServer } from '../support/server.js';

describe('jobs and webhooks in token mode', () => {
  let server: TestServer;
  let producer: string;
  let worker: string;
  let stranger: string;
  let admin: string;
  beforeAll(async () => {
    server = await startTokenServer({ allowPrivateWebhooks: true });
    producer = await mint({ sub: 'producer', publish: ['uploads'], subscribe: ['uploads'] });
    worker = await mint({ sub: 'worker', subscribe: ['uploads'] });
    stranger = await mint({ sub: 'stranger', publish: ['other'], subscribe: ['other'] });
    admin = await mint({ sub: 'ops', admin: true });
  });
  afterAll(() => server.close());

  const call = (method: string, path: string, token: string | undefined, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: token
        ? bearer(token, body === undefined ? {} : jsonHeaders)
        : body === undefined
          ? {}
          : jsonHeaders,
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('checks the queue for every job route', async () => {
    expect((await call('POST', '/v1/queues/uploads/jobs', undefined, { payload: 1 })).status).toBe(401);
    expect(await errorCode(await call('POST', '/v1/queues/uploads/jobs', worker, { payload: 1 }))).toBe(
      'forbidden',
    );
    const submitted = await call('POST', '/v1/queues/uploads/jobs', producer, { payload: 1 });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };

    expect((await call('GET', `/v1/jobs/${id}`, worker)).status).toBe(200);
    expect(await errorCode(await call('GET', `/v1/jobs/${id}`, stranger))).toBe('forbidden');
    expect(await errorCode(await call('GET', `/v1/jobs/${id}/events`, stranger))).toBe('forbidden');
    expect((await call('GET', `/v1/jobs/${id}`, undefined)).status).toBe(401);

    expect(await errorCode(await call('POST', '/v1/queues/uploads/claim', stranger))).toBe('forbidden');
    const claimed = (await (await call('POST', '/v1/queues/uploads/claim', worker)).json()) as {
      lease: string;
    };
    const progress = { lease: claimed.lease, progress: 10 };
    expect(await errorCode(await call('POST', `/v1/jobs/${id}/progress`, stranger, progress))).toBe(
      'forbidden',
    );
    expect((await call('POST', `/v1/jobs/${id}/progress`, worker, progress)).status).toBe(200);
    expect(await errorCode(await call('DELETE', `/v1/jobs/${id}`, worker))).toBe('forbidden');
    expect((await call('DELETE', `/v1/jobs/${id}`, producer)).status).toBe(200);
  });

  it('keeps webhook management to admins', async () => {
    const body = { url: 'http://127.0.0.1:9/hook' };
    expect(await errorCode(await call('POST', '/v1/topics/uploads/webhooks', producer, body))).toBe(
      'forbidden',
    );
    expect(await errorCode(await call('GET', '/v1/webhooks', producer))).toBe('forbidden');
    const created = await call('POST', '/v1/topics/uploads/webhooks', admin, body);
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(await errorCode(await call('DELETE', `/v1/webhooks/${id}`, producer))).toBe('forbidden');
    expect((await call('GET', `/v1/webhooks/${id}`, admin)).status).toBe(200);
    expect((await call('DELETE', `/v1/webhooks/${id}`, admin)).status).toBe(204);
  });
});
