/**
 * Job callbacks: on a terminal state the job's JSON (as GET returns it) is POSTed to its
 * callbackUrl with Standard Webhooks headers, signed with the job's callbackSecret or else the
 * server's callback secret; a failing receiver is retried on the webhook schedule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/core/webhooks/sign.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';
import { type Receiver, startReceiver, status } from '../webhooks/receiver.js';
import { act, claim, getJob, submit } from './helpers.js';

const JOB_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

describe.each(ENGINE_FIXTURES)('job callbacks on $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let receiver: Receiver;
  let url: string;
  beforeAll(async () => {
    fixture = makeFixture();
    receiver = await startReceiver();
    server = await startServer(fixture, { allowPrivateWebhooks: true, webhookRetryScheduleMs: [20, 20, 20] });
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
    await receiver.close();
    fixture.cleanup();
  });

  it('POSTs the finished job, signed with the job callbackSecret, once', async () => {
    const queue = 'cb.signed';
    const { id } = (
      await submit(url, queue, {
        payload: 1,
        callbackUrl: `${receiver.url}/signed`,
        callbackSecret: JOB_SECRET,
      })
    ).body;
    const { lease } = (await claim(url, queue)).body;
    await act(url, id, 'progress', { lease, progress: 50 }); // not a terminal state: no callback
    const completedAt = Date.now();
    await act(url, id, 'complete', { lease, result: { ok: true } });
    const [callback] = await receiver.waitFor('/signed', 1);
    const delay = callback!.at - completedAt;
    expect(delay).toBeLessThan(1_000);
    expect(JSON.parse(callback!.body)).toEqual((await getJob(url, id)).body);
    expect(callback!.headers['content-type']).toBe('application/json');
    expect(callback!.headers['webhook-id']).toMatch(new RegExp(`^cb_${id}_[A-Za-z0-9_-]+_\\d+$`));
    expect(callback!.headers['webhook-id']).not.toContain('.');
    expect(verifySignature(JOB_SECRET, callback!.headers, callback!.body)).toBe(true);
    console.log(`completion → callback delay on ${fixture.name}: ${delay} ms`);
  });

  it('signs with the server callback secret when the job has none, for failures and cancels too', async () => {
    const queue = 'cb.server';
    const serverSecret = server.server.app.webhooks.callbackSecret.value;
    const failed = (await submit(url, queue, { payload: 1, callbackUrl: `${receiver.url}/server` })).body.id;
    const canceled = (await submit(url, queue, { payload: 2, callbackUrl: `${receiver.url}/server` })).body
      .id;
    const { lease } = (await claim(url, queue)).body;
    await act(url, failed, 'fail', { lease, error: 'corrupt file' });
    await fetch(`${url}/v1/jobs/${canceled}`, { method: 'DELETE' });
    const callbacks = await receiver.waitFor('/server', 2);
    const bodies = callbacks.map((c) => JSON.parse(c.body));
    expect(bodies.map((b) => [b.id, b.status]).sort()).toEqual(
      [
        [failed, 'failed'],
        [canceled, 'canceled'],
      ].sort(),
    );
    expect(bodies.find((b) => b.id === failed).error).toBe('corrupt file');
    for (const callback of callbacks)
      expect(verifySignature(serverSecret, callback.headers, callback.body)).toBe(true);
  });

  it('retries a failing receiver with the same webhook-id until it answers 2xx', async () => {
    const queue = 'cb.retry';
    let failures = 2;
    receiver.on('/flaky', (_request, response) => {
      response.statusCode = failures-- > 0 ? 503 : 204;
      response.end();
    });
    const { id } = (await submit(url, queue, { payload: 1, callbackUrl: `${receiver.url}/flaky` })).body;
    const { lease } = (await claim(url, queue)).body;
    await act(url, id, 'complete', { lease });
    const attempts = await receiver.waitFor('/flaky', 3);
    expect(new Set(attempts.map((a) => a.headers['webhook-id'])).size).toBe(1);
    expect(attempts.map((a) => JSON.parse(a.body).status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.at('/flaky')).toHaveLength(3); // delivered: no more attempts
  });

  it('refuses a callbackUrl on a private address when private webhooks are not allowed', async () => {
    const strict = await startServer(fixture);
    try {
      const answer = await submit(strict.url, 'cb.strict', {
        payload: 1,
        callbackUrl: `${receiver.url}/nope`,
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toMatch(/loopback/);
      const metadata = await submit(strict.url, 'cb.strict', {
        payload: 1,
        callbackUrl: 'http://169.254.169.254/latest',
      });
      expect(metadata.body.error.message).toMatch(/metadata/);
      expect(receiver.at('/nope')).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });

  it('a receiver that always fails neither blocks the job nor retries forever: the callback is dead-lettered', async () => {
    receiver.on('/down', status(500));
    const queue = 'cb.down';
    const { id } = (await submit(url, queue, { payload: 1, callbackUrl: `${receiver.url}/down` })).body;
    const { lease } = (await claim(url, queue)).body;
    const answer = await act(url, id, 'complete', { lease });
    expect(answer.body.status).toBe('succeeded');
    // The retry budget (3 retries) runs out: the callback goes to the status topic's dead letter.
    await receiver.waitFor('/down', 4);
    const deadLetter = `${url}/v1/topics/jobs.${queue}.${id}.dead-letter/messages`;
    await expect.poll(async () => (await fetch(deadLetter).then((r) => r.json())).last).toBe(1);
    const [record] = (await fetch(deadLetter).then((r) => r.json())).messages;
    expect(record.data).toMatchObject({ webhook: `cb_${id}`, attempts: 4, error: 'HTTP 500: failed' });
    expect(record.data.data).toMatchObject({ id, status: 'succeeded' });
  });
});
