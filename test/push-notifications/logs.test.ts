/**
 * No secret in the logs: at trace level, through registration, failed deliveries, a dead letter and
 * a 410, the server's log holds neither the endpoint's path (the browser's capability), nor the
 * browser's keys, nor the VAPID private key.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateVapidKeys } from '../../src/core/push/vapid.js';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';
import { answer, type PushService, startPushService } from './push-service.js';

describe('Web Push logging', () => {
  const lines: string[] = [];
  const vapid = generateVapidKeys();
  let service: PushService;
  let server: TestServer;
  beforeAll(async () => {
    service = await startPushService();
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    server = await startServer(ENGINE_FIXTURES.find((f) => f.name === 'memory')!.fixture(), {
      allowPrivateWebhooks: true,
      pushRetryScheduleMs: [50],
      vapidPublicKey: vapid.publicKey,
      vapidPrivateKey: vapid.privateKey,
      logger: { level: 'trace', stream },
    });
  });
  afterAll(async () => {
    await server.close();
    await service.close();
  });

  it('logs neither endpoint paths nor keys', async () => {
    const browser = service.browser('/push/capability-5f3a9c');
    const created = await post(`${server.url}/v1/topics/logged/push-subscriptions`, {
      subscription: browser.subscription,
    });
    const { id } = await json(created);
    service.on(browser.path, answer(500));
    await post(`${server.url}/v1/topics/logged/messages`, { data: 1 });
    await service.waitFor(browser.path, 2);
    service.on(browser.path, answer(410));
    await post(`${server.url}/v1/topics/logged/messages`, { data: 2 });
    await expect
      .poll(async () => (await fetch(`${server.url}/v1/push-subscriptions/${id}`)).status)
      .toBe(404);
    const log = lines.join('');
    expect(log.length).toBeGreaterThan(0);
    expect(log).toContain('/v1/topics/logged/push-subscriptions'); // requests are logged…
    for (const secret of [
      'capability-5f3a9c',
      browser.subscription.keys.auth,
      browser.subscription.keys.p256dh,
      vapid.privateKey,
    ]) {
      expect(log).not.toContain(secret); // …their secrets are not
    }
  });
});
