/**
 * Web Push delivery against a push service on loopback that decrypts every delivery with http_ece
 * and verifies the VAPID JWT with jose: payloads, headers, order, the 3,800-byte stub, retries that
 * honour Retry-After, removal on 410, dead letters after the retry budget, bounded 413s, hangs and
 * redirects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';
import { answer, hang, type PushService, startPushService } from './push-service.js';

describe.each(ENGINE_FIXTURES)('Web Push delivery on $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let service: PushService;
  let server: TestServer;
  let publicKey: string;
  beforeAll(async () => {
    fixture = makeFixture();
    service = await startPushService();
    server = await startServer(fixture, {
      allowPrivateWebhooks: true,
      pushRetryScheduleMs: [100, 100],
      webhookTimeoutMs: 500,
    });
    publicKey = (await json(await fetch(`${server.url}/v1/push/vapid-public-key`))).publicKey;
  });
  afterAll(async () => {
    await server.close();
    await service.close();
    fixture.cleanup();
  });

  const subscribe = async (topic: string, path: string, extra: object = {}) => {
    const browser = service.browser(path);
    const response = await post(`${server.url}/v1/topics/${topic}/push-subscriptions`, {
      subscription: browser.subscription,
      ...extra,
    });
    expect(response.status).toBe(201);
    const { id } = await json(response);
    expect(id).toMatch(/^ps_/);
    expect(response.headers.get('location')).toBe(`/v1/push-subscriptions/${id}`);
    return { id: id as string, browser };
  };
  const publish = async (topic: string, data: unknown) =>
    json(await post(`${server.url}/v1/topics/${topic}/messages`, { data }));
  const state = async (id: string) => json(await fetch(`${server.url}/v1/push-subscriptions/${id}`));

  it('serves a P-256 public key', () => {
    const point = Buffer.from(publicKey, 'base64url');
    expect(point).toHaveLength(65);
    expect(point[0]).toBe(4);
  });

  it('sends each message encrypted, signed, in order, with TTL, Urgency and Topic', async () => {
    const { id } = await subscribe('alerts', '/push/a', { ttl: 600, urgency: 'high' });
    for (const n of [1, 2, 3]) await publish('alerts', { n });
    const deliveries = await service.waitFor('/push/a', 3);
    expect(deliveries.map((d) => d.error)).toEqual([undefined, undefined, undefined]);
    expect(deliveries.map((d) => JSON.parse(d.payload!))).toMatchObject([
      { topic: 'alerts', offset: 1, data: { n: 1 } },
      { topic: 'alerts', offset: 2, data: { n: 2 } },
      { topic: 'alerts', offset: 3, data: { n: 3 } },
    ]);
    const first = deliveries[0]!;
    expect(first.headers['content-encoding']).toBe('aes128gcm');
    expect(first.headers['content-type']).toBe('application/octet-stream');
    expect(first.headers.ttl).toBe('600');
    expect(first.headers.urgency).toBe('high');
    expect(first.headers.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(first.vapidKey).toBe(publicKey);
    expect(first.claims?.aud).toBe(service.origin);
    const lifetime = first.claims!.exp! * 1000 - Date.now();
    expect(lifetime).toBeGreaterThan(0);
    expect(lifetime).toBeLessThanOrEqual(24 * 3_600_000);
    await expect.poll(async () => (await state(id)).delivered).toBe(3);
    expect(await state(id)).toMatchObject({ topic: 'alerts', pushService: service.origin, backlog: 0 });
  });

  it('sends a stub for a message over 3,800 bytes, which the worker reads from the topic', async () => {
    await subscribe('big', '/push/big');
    const published = await publish('big', { text: 'x'.repeat(5_000) });
    const [delivery] = await service.waitFor('/push/big', 1);
    expect(JSON.parse(delivery!.payload!)).toEqual({
      topic: 'big',
      offset: published.offset,
      truncated: true,
    });
    const page = await json(
      await fetch(`${server.url}/v1/topics/big/messages?after=${published.offset - 1}&limit=1`),
    );
    expect(page.messages[0].data.text).toHaveLength(5_000);
  });

  it('registers the same endpoint on a topic once, and keeps its id', async () => {
    const { id, browser } = await subscribe('again', '/push/again');
    const repeat = await json(
      await post(`${server.url}/v1/topics/again/push-subscriptions`, { subscription: browser.subscription }),
    );
    expect(repeat.id).toBe(id);
    await publish('again', 1);
    await service.waitFor('/push/again', 1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(service.deliveries('/push/again')).toHaveLength(1);
  });

  it('honours Retry-After on 429 and keeps the order', async () => {
    await subscribe('busy', '/push/busy');
    service.on('/push/busy', answer(429, { 'retry-after': '1' }));
    await publish('busy', 1);
    await publish('busy', 2);
    await service.waitFor('/push/busy', 1);
    service.on('/push/busy', answer(201));
    const deliveries = await service.waitFor('/push/busy', 3);
    expect(deliveries.map((d) => JSON.parse(d.payload!).data)).toEqual([1, 1, 2]);
    expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(950); // not after 100 ms
  });

  it('removes the subscription when the push service answers 410', async () => {
    const { id } = await subscribe('gone', '/push/gone');
    service.on('/push/gone', answer(410));
    await publish('gone', 1);
    await service.waitFor('/push/gone', 1);
    await expect
      .poll(async () => (await fetch(`${server.url}/v1/push-subscriptions/${id}`)).status)
      .toBe(404);
    await publish('gone', 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(service.deliveries('/push/gone')).toHaveLength(1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_push_deliveries_total\{outcome="removed"\} [1-9]/);
  });

  it('dead-letters after the retry budget without the endpoint, then goes on', async () => {
    const { id } = await subscribe('flaky', '/push/flaky');
    service.on('/push/flaky', answer(500));
    await publish('flaky', 'lost');
    await service.waitFor('/push/flaky', 3); // the attempt and two retries
    service.on('/push/flaky', answer(201));
    await publish('flaky', 'next');
    const deliveries = await service.waitFor('/push/flaky', 4);
    expect(JSON.parse(deliveries[3]!.payload!).data).toBe('next');
    const dead = await json(await fetch(`${server.url}/v1/topics/flaky.dead-letter/messages?after=0`));
    expect(dead.messages).toHaveLength(1);
    expect(dead.messages[0].data).toMatchObject({
      topic: 'flaky',
      offset: 1,
      pushSubscription: id,
      attempts: 3,
    });
    expect(JSON.stringify(dead.messages[0].data)).not.toContain('/push/flaky');
    expect(await state(id)).toMatchObject({ delivered: 1, failed: 1, failedAttempts: 3 });
  });

  it('bounds a push service that answers 413, hangs or redirects: retried, then dead-lettered', async () => {
    const { id } = await subscribe('stuck', '/push/stuck');
    service.on('/push/stuck', answer(413));
    await publish('stuck', 1);
    await service.waitFor('/push/stuck', 1);
    service.on('/push/stuck', hang);
    await service.waitFor('/push/stuck', 2);
    service.on('/push/stuck', answer(301, { location: 'http://169.254.169.254/' }));
    await service.waitFor('/push/stuck', 3);
    await expect.poll(async () => (await state(id)).failed, { timeout: 5_000 }).toBe(1);
    expect((await state(id)).lastError).toMatch(/redirect/);
    const dead = await json(await fetch(`${server.url}/v1/topics/stuck.dead-letter/messages?after=0`));
    expect(dead.messages[0].data).toMatchObject({ attempts: 3, data: 1 });
    expect(service.deliveries('/push/stuck')).toHaveLength(3); // the redirect was not followed
  });

  it('deletes a subscription: nothing more is sent', async () => {
    const { id } = await subscribe('bye', '/push/bye');
    const deleted = await fetch(`${server.url}/v1/push-subscriptions/${id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    await publish('bye', 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(service.deliveries('/push/bye')).toHaveLength(0);
    expect((await fetch(`${server.url}/v1/push-subscriptions/${id}`)).status).toBe(404);
  });
});
