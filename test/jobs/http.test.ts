/**
 * Jobs over HTTP on every engine: the contract's answers for submit, status (request-response,
 * long poll on version, SSE to the terminal state), the worker calls, cancel, idempotent submit,
 * and the bad input the issue lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';
import { act, claim, getJob, readEvents, sleep, submit } from './helpers.js';

const FORGED_LEASE = `lease_${'A'.repeat(32)}`;
let queueCount = 0;
const newQueue = () => `q${++queueCount}.http`;

describe.each(ENGINE_FIXTURES)('jobs over HTTP on $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let url: string;
  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture);
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  it('submits with 202 + Location, and a worker claims, reports progress and completes', async () => {
    const queue = newQueue();
    const submitted = await submit(url, queue, { payload: { file: 'photo.jpg', bytes: 1e6 } });
    expect(submitted.status).toBe(202);
    const { id } = submitted.body;
    expect(id).toMatch(/^job_[A-Za-z0-9_-]{22}$/);
    expect(submitted.location).toBe(`/v1/jobs/${id}`);
    expect(submitted.body).toEqual({
      id,
      queue,
      status: 'queued',
      links: { self: `/v1/jobs/${id}`, events: `/v1/jobs/${id}/events`, topic: `jobs.${queue}.${id}` },
    });
    expect((await getJob(url, id)).body).toMatchObject({
      id,
      queue,
      status: 'queued',
      progress: 0,
      attempts: 0,
      version: 1,
    });

    const claimed = await claim(url, queue);
    expect(claimed.status).toBe(200);
    expect(claimed.body).toEqual({
      job: { id, payload: { file: 'photo.jpg', bytes: 1e6 }, attempt: 1 },
      lease: expect.stringMatching(/^lease_/),
      leaseMs: 300_000,
    });
    const { lease } = claimed.body;
    const progressed = await act(url, id, 'progress', { lease, progress: 40, note: 'uploading' });
    expect(progressed).toMatchObject({
      status: 200,
      body: { status: 'running', progress: 40, note: 'uploading', version: 3 },
    });
    const done = await act(url, id, 'complete', { lease, result: { url: 'https://cdn.example/photo.jpg' } });
    expect(done.status).toBe(200);
    const final = (await getJob(url, id)).body;
    expect(final).toEqual({
      id,
      queue,
      status: 'succeeded',
      progress: 100,
      note: 'uploading',
      result: { url: 'https://cdn.example/photo.jpg' },
      attempts: 1,
      maxAttempts: 3,
      version: 4,
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
    });
    // Completing a finished job, or any other change to it, is a conflict.
    expect((await act(url, id, 'complete', { lease })).status).toBe(409);
    expect((await act(url, id, 'progress', { lease, progress: 50 })).status).toBe(409);
    expect((await fetch(`${url}/v1/jobs/${id}`, { method: 'DELETE' })).status).toBe(409);
    expect((await claim(url, queue)).status).toBe(204);
  });

  it('refuses bad input with clear errors and changes nothing', async () => {
    const queue = newQueue();
    const { id } = (await submit(url, queue, { payload: 1 })).body;
    const { lease } = (await claim(url, queue)).body;
    for (const progress of [101, -1, '50', null, Number.NaN]) {
      const answer = await act(url, id, 'progress', { lease, progress });
      expect(answer.status, `progress ${progress}`).toBe(400);
      expect(answer.body.error.message).toMatch(/0 to 100/);
    }
    const forged = await act(url, id, 'complete', { lease: FORGED_LEASE });
    expect(forged.status).toBe(409);
    expect(forged.body.error.message).toMatch(/stale|never issued/);
    expect((await act(url, id, 'complete', { lease: 'not-a-lease' })).status).toBe(400);
    expect((await act(url, id, 'fail', { lease })).status).toBe(400); // error is required
    const missing = 'job_AAAAAAAAAAAAAAAAAAAAAA';
    expect((await getJob(url, missing)).status).toBe(404);
    expect((await getJob(url, 'nonsense')).status).toBe(404);
    expect((await act(url, missing, 'progress', { lease, progress: 1 })).status).toBe(404);
    expect((await fetch(`${url}/v1/jobs/${missing}`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${url}/v1/jobs/${missing}/events`)).status).toBe(404);
    expect((await submit(url, 'bad queue!')).status).toBe(400);
    expect((await submit(url, 'a.b.c.d.e.f.g')).status).toBe(400); // the status topic needs two segments
    expect((await submit(url, queue, { payload: 1, callbackURL: 'https://x.example' })).status).toBe(400);
    expect((await submit(url, queue, { payload: 1, maxAttempts: 0 })).status).toBe(400);
    expect((await submit(url, queue, { payload: 1, callbackUrl: 'ftp://x.example/' })).status).toBe(400);
    expect((await post(`${url}/v1/queues/${queue}/jobs`, 'not json', 'text/plain')).status).toBe(400);
    expect((await getJob(url, id)).body).toMatchObject({ status: 'running', progress: 0, version: 2 });
  });

  it('fails a job, requeues it with retry:true, and counts attempts', async () => {
    const queue = newQueue();
    const { id } = (await submit(url, queue, { payload: 'x', maxAttempts: 2 })).body;
    const first = (await claim(url, queue)).body;
    const retried = await act(url, id, 'fail', { lease: first.lease, error: 'disk full', retry: true });
    expect(retried.body).toMatchObject({ status: 'queued', error: 'disk full', attempts: 1 });
    const second = (await claim(url, queue)).body;
    expect(second.job).toMatchObject({ id, attempt: 2 });
    expect((await act(url, id, 'progress', { lease: first.lease, progress: 1 })).status).toBe(409); // old lease
    // Out of attempts: retry:true still fails it for good.
    const failed = await act(url, id, 'fail', { lease: second.lease, error: 'disk still full', retry: true });
    expect(failed.body).toMatchObject({ status: 'failed', error: 'disk still full', attempts: 2 });
    expect((await claim(url, queue)).status).toBe(204);
  });

  it('cancels queued and running jobs; a canceled job is never handed out', async () => {
    const queue = newQueue();
    const queued = (await submit(url, queue)).body.id;
    const running = (await submit(url, queue)).body.id;
    const canceled = await fetch(`${url}/v1/jobs/${queued}`, { method: 'DELETE' });
    expect(canceled.status).toBe(200);
    expect((await json(canceled)).status).toBe('canceled');
    const claimed = (await claim(url, queue)).body;
    expect(claimed.job.id).toBe(running); // the canceled one was skipped
    await fetch(`${url}/v1/jobs/${running}`, { method: 'DELETE' });
    const late = await act(url, running, 'complete', { lease: claimed.lease });
    expect(late.status).toBe(409);
    expect(late.body.error.message).toMatch(/canceled/);
    expect((await claim(url, queue)).status).toBe(204);
  });

  it('answers a repeated idempotency key with the same job', async () => {
    const queue = newQueue();
    const first = await submit(url, queue, { payload: 1, idempotencyKey: 'upload-42' });
    const again = await submit(url, queue, { payload: 1, idempotencyKey: 'upload-42' });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: first.body.id, duplicate: true });
    const viaHeader = await fetch(`${url}/v1/queues/${queue}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'upload-42' },
      body: '{"payload":1}',
    });
    expect((await json(viaHeader)).id).toBe(first.body.id);
    const other = await submit(url, queue, { payload: 1, idempotencyKey: 'upload-43' });
    expect(other.body.id).not.toBe(first.body.id);
    expect((await claim(url, queue)).body.job.id).toBe(first.body.id);
    expect((await claim(url, queue)).body.job.id).toBe(other.body.id);
    expect((await claim(url, queue)).status).toBe(204); // one job per key, one submission each
  });

  it('long-polls on version: held until the job changes, or answered unchanged after the wait', async () => {
    const queue = newQueue();
    const { id } = (await submit(url, queue)).body;
    const started = Date.now();
    const held = getJob(url, id, '?version=1&wait=10');
    await sleep(100);
    await claim(url, queue);
    const answer = await held;
    expect(answer.body).toMatchObject({ status: 'running', version: 2 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await getJob(url, id, '?version=1&wait=10')).body.version).toBe(2); // already different
    const idle = Date.now();
    expect((await getJob(url, id, '?version=2&wait=1')).body.version).toBe(2);
    expect(Date.now() - idle).toBeGreaterThanOrEqual(900);
    expect((await getJob(url, id, '?version=2&wait=99')).status).toBe(400);
  });

  it('streams the changes as SSE and ends after the terminal state', async () => {
    const queue = newQueue();
    const { id } = (await submit(url, queue, { payload: 'big.iso' })).body;
    const stream = fetch(`${url}/v1/jobs/${id}/events`);
    const { lease } = (await claim(url, queue)).body;
    for (const progress of [25, 50, 75]) await act(url, id, 'progress', { lease, progress });
    await act(url, id, 'complete', { lease, result: 'ok' });
    const response = await stream;
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(response); // resolves only because the server ends the stream
    expect(events.map((e) => [e.id, e.event, e.data.progress])).toEqual([
      ['1', 'queued', 0],
      ['2', 'running', 0],
      ['3', 'progress', 25],
      ['4', 'progress', 50],
      ['5', 'progress', 75],
      ['6', 'succeeded', 100],
    ]);
    expect(events.at(-1)!.data).toMatchObject({ id, status: 'succeeded', result: 'ok', version: 6 });
    // Resuming after the last id replays nothing but the end; after 4, the rest.
    const resumed = await readEvents(
      await fetch(`${url}/v1/jobs/${id}/events`, { headers: { 'last-event-id': '4' } }),
    );
    expect(resumed.map((e) => e.event)).toEqual(['progress', 'succeeded']);
  });

  it('wakes a held claim when a job is submitted', async () => {
    const queue = newQueue();
    const started = Date.now();
    const held = claim(url, queue, 10);
    await sleep(100);
    const { id } = (await submit(url, queue, { payload: 7 })).body;
    const answer = await held;
    expect(answer.body.job).toEqual({ id, payload: 7, attempt: 1 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('lets any pattern follow a job: its status topic is an ordinary topic', async () => {
    const queue = newQueue();
    const { body } = await submit(url, queue);
    const { lease } = (await claim(url, queue)).body;
    await act(url, body.id, 'complete', { lease });
    const page = await json(await fetch(`${url}/v1/topics/${body.links.topic}/messages`));
    expect(page.messages.map((m: { event: string }) => m.event)).toEqual(['queued', 'running', 'succeeded']);
    expect(page.messages.at(-1).data).toMatchObject({ id: body.id, status: 'succeeded' });
  });
});
