/**
 * Push state survives a restart (SQLite): the VAPID key pair (browsers bind subscriptions to it),
 * the subscription, its cursor, and the message being retried — delivered messages are not sent
 * again, the failing one is retried after its retry time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';
import { answer, created, type PushService, startPushService } from './push-service.js';

describe('Web Push state survives a restart (sqlite)', () => {
  let fixture: EngineFixture;
  let service: PushService;
  let server: TestServer | undefined;
  beforeAll(async () => {
    fixture = ENGINE_FIXTURES.find((f) => f.name === 'sqlite')!.fixture();
    service = await startPushService();
  });
  afterAll(async () => {
    await server?.close();
    await service.close();
    fixture.cleanup();
  });

  const start = () => startServer(fixture, { allowPrivateWebhooks: true, pushRetryScheduleMs: [400, 400] });
  const publicKey = async () =>
    (await json(await fetch(`${server!.url}/v1/push/vapid-public-key`))).publicKey;

  it('keeps the VAPID keys and resumes the retry in flight', async () => {
    server = await start();
    const key = await publicKey();
    const browser = service.browser('/r');
    const { id } = await json(
      await post(`${server.url}/v1/topics/durable/push-subscriptions`, {
        subscription: browser.subscription,
      }),
    );
    const publish = (n: number) => post(`${server!.url}/v1/topics/durable/messages`, { data: { n } });
    await publish(1);
    await publish(2);
    await service.waitFor('/r', 2);
    service.on('/r', answer(503));
    await publish(3);
    await service.waitFor('/r', 3);
    const state = () => fetch(`${server!.url}/v1/push-subscriptions/${id}`).then(json);
    await expect.poll(async () => (await state()).attempt).toBe(1);
    await server.close();

    service.on('/r', created);
    server = await start();
    expect(await publicKey()).toBe(key);
    const deliveries = await service.waitFor('/r', 4);
    expect(deliveries.map((d) => JSON.parse(d.payload!).data.n)).toEqual([1, 2, 3, 3]);
    expect(deliveries[3]!.vapidKey).toBe(key);
    expect(deliveries[3]!.at - deliveries[2]!.at).toBeGreaterThanOrEqual(300); // it waited for its retry time
    await expect
      .poll(async () => state())
      .toMatchObject({ delivered: 3, failedAttempts: 1, cursor: 3, attempt: 0 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(service.deliveries('/r')).toHaveLength(4);
  });
});
