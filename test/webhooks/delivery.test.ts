/**
 * Webhook delivery against a real local receiver on every engine: order, headers and signature,
 * retries then the dead letter, and receivers that hang, fail forever or answer with a huge body —
 * each bounded, and none of them holding up another webhook or a publisher.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/core/webhooks/sign.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';
import { hang, type Receiver, startReceiver, status } from './receiver.js';

const SCHEDULE = [20, 40];
const TIMEOUT_MS = 1_000; // generous: a loaded CI machine must not turn slow answers into timeouts

describe.each(ENGINE_FIXTURES)('webhook delivery on $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let receiver: Receiver;
  let url: string;
  beforeAll(async () => {
    fixture = makeFixture();
    receiver = await startReceiver();
    server = await startServer(fixture, {
      allowPrivateWebhooks: true,
      webhookRetryScheduleMs: SCHEDULE,
      webhookTimeoutMs: TIMEOUT_MS,
    });
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
    await receiver.close();
    fixture.cleanup();
  });

  const register = async (topic: string, path: string, secret?: string) => {
    const response = await post(`${url}/v1/topics/${topic}/webhooks`, {
      url: `${receiver.url}${path}`,
      secret,
    });
    expect(response.status).toBe(201);
    return json(response);
  };
  const publish = (topic: string, data: unknown) => post(`${url}/v1/topics/${topic}/messages`, { data });
  const state = async (id: string) => json(await fetch(`${url}/v1/webhooks/${id}`));

  it('POSTs each message in order with Standard Webhooks headers that verify', async () => {
    const webhook = await register('wh.orders', '/orders');
    expect(webhook).toEqual({
      id: expect.stringMatching(/^wh_/),
      url: `${receiver.url}/orders`,
      topic: 'wh.orders',
      secret: expect.stringMatching(/^whsec_/),
    });
    for (let n = 1; n <= 5; n++) await publish('wh.orders', { n });
    const deliveries = await receiver.waitFor('/orders', 5);
    const messages = deliveries.map((d) => JSON.parse(d.body));
    expect(messages.map((m) => m.data.n)).toEqual([1, 2, 3, 4, 5]);
    expect(messages[0]).toEqual({ topic: 'wh.orders', offset: 1, time: expect.any(Number), data: { n: 1 } });
    for (const delivery of deliveries) {
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(delivery.headers['webhook-id']).toMatch(/^wh_[A-Za-z0-9_-]+$/);
      expect(Math.abs(Number(delivery.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
      expect(delivery.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(verifySignature(webhook.secret, delivery.headers, delivery.body)).toBe(true);
      expect(verifySignature(webhook.secret, delivery.headers, `${delivery.body} `)).toBe(false);
    }
    expect(new Set(deliveries.map((d) => d.headers['webhook-id'])).size).toBe(5);
    await expect
      .poll(() => state(webhook.id))
      .toMatchObject({ state: 'active', delivered: 5, backlog: 0, cursor: 5 });
    // The secret is shown only at registration.
    expect(await state(webhook.id)).not.toHaveProperty('secret');
  });

  it('uses a given secret, and refuses one in the wrong format', async () => {
    const secret = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
    expect((await register('wh.secret', '/secret', secret)).secret).toBe(secret);
    const bad = await post(`${url}/v1/topics/wh.secret/webhooks`, {
      url: `${receiver.url}/x`,
      secret: 'hunter2',
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.message).toMatch(/whsec_/);
    await publish('wh.secret', 'hello');
    const [delivery] = await receiver.waitFor('/secret', 1);
    expect(verifySignature(secret, delivery!.headers, delivery!.body)).toBe(true);
  });

  it('retries with the same webhook-id, then dead-letters and moves on; the webhook shows failing', async () => {
    receiver.on('/broken', status(500, 'database down'));
    const webhook = await register('wh.broken', '/broken');
    await publish('wh.broken', { n: 1 });
    await publish('wh.broken', { n: 2 });
    const attempts = await receiver.waitFor('/broken', 6); // 1 + 2 retries, per message
    expect(attempts.slice(0, 3).map((a) => JSON.parse(a.body).data.n)).toEqual([1, 1, 1]);
    expect(new Set(attempts.slice(0, 3).map((a) => a.headers['webhook-id'])).size).toBe(1);
    expect(attempts.slice(3).map((a) => JSON.parse(a.body).data.n)).toEqual([2, 2, 2]);
    const dead = `${url}/v1/topics/wh.broken.dead-letter/messages`;
    await expect.poll(async () => (await json(await fetch(dead))).last).toBe(2);
    const records = (await json(await fetch(dead))).messages.map((m: { data: unknown }) => m.data);
    expect(records[0]).toEqual({
      topic: 'wh.broken',
      offset: 1,
      webhook: webhook.id,
      url: `${receiver.url}/broken`,
      attempts: 3,
      error: 'HTTP 500: database down',
      data: { n: 1 },
    });
    await expect
      .poll(() => state(webhook.id))
      .toMatchObject({
        state: 'failing',
        delivered: 0,
        failed: 2,
        failedAttempts: 6,
        backlog: 0,
        lastError: 'HTTP 500: database down',
      });
    // It keeps its place: the next message is delivered once the receiver recovers.
    receiver.on('/broken', status(200));
    await publish('wh.broken', { n: 3 });
    await receiver.waitFor('/broken', 7);
    await expect.poll(() => state(webhook.id)).toMatchObject({ state: 'active', delivered: 1, cursor: 3 });
  });

  it('bounds a receiver that hangs or answers a huge body, without holding up anyone else', async () => {
    receiver.on('/hangs', hang);
    receiver.on('/huge', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      let sent = 0;
      const pump = (): void => {
        while (sent < 200 && response.write(chunk)) sent++; // up to 200 MiB, if anyone read it
        if (sent < 200 && !response.destroyed) response.once('drain', pump);
        else response.end();
      };
      response.on('close', () => {
        sent = 200;
      });
      pump();
    });
    const hanging = await register('wh.slow', '/hangs');
    const huge = await register('wh.slow', '/huge');
    const healthy = await register('wh.slow', '/healthy');
    const started = Date.now();
    for (let n = 1; n <= 3; n++) {
      const publishStarted = Date.now();
      expect((await publish('wh.slow', { n })).status).toBe(201);
      expect(Date.now() - publishStarted).toBeLessThan(500); // publishers never wait for webhooks
    }
    await receiver.waitFor('/healthy', 3);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS); // before the hanging one's first timeout
    await receiver.waitFor('/huge', 3, 5_000); // each huge answer is cut at 64 KiB and counted as 2xx
    await expect.poll(() => state(huge.id)).toMatchObject({ delivered: 3, failedAttempts: 0 });
    // The hanging receiver: each attempt ends at the timeout, then retries, then dead letters.
    await receiver.waitFor('/hangs', 3, 5_000);
    await expect
      .poll(() => state(hanging.id), { timeout: 5_000 })
      .toMatchObject({
        delivered: 0,
        failedAttempts: expect.any(Number),
        lastError: expect.stringMatching(/timeout/),
      });
    expect(await state(healthy.id)).toMatchObject({ delivered: 3, state: 'active' });
  });

  it('lists, inspects and deletes webhooks; a deleted webhook gets nothing more', async () => {
    const webhook = await register('wh.admin', '/admin');
    const list = await json(await fetch(`${url}/v1/webhooks`));
    expect(list.webhooks.map((w: { id: string }) => w.id)).toContain(webhook.id);
    expect((await fetch(`${url}/v1/webhooks/wh_nope`)).status).toBe(404);
    expect((await fetch(`${url}/v1/webhooks/${webhook.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${url}/v1/webhooks/${webhook.id}`)).status).toBe(404);
    expect((await fetch(`${url}/v1/webhooks/${webhook.id}`, { method: 'DELETE' })).status).toBe(404);
    await publish('wh.admin', 'after delete');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.at('/admin')).toHaveLength(0);
  });

  it('refuses bad registrations', async () => {
    const attempt = async (body: unknown, topic = 'wh.bad') =>
      post(`${url}/v1/topics/${topic}/webhooks`, body).then(async (r) => ({
        status: r.status,
        body: await json(r),
      }));
    expect((await attempt({ url: 'ftp://example.com/' })).status).toBe(400);
    expect((await attempt({ url: 'not a url' })).status).toBe(400);
    expect((await attempt({})).status).toBe(400);
    expect((await attempt({ url: `${receiver.url}/x`, extra: 1 })).status).toBe(400);
    expect((await attempt({ url: `${receiver.url}/x` }, 'bad topic')).status).toBe(400);
    expect((await attempt({ url: 'http://no-such-host.invalid/' })).body.error.message).toMatch(
      /does not resolve/,
    );
  });
});
