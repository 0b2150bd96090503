/**
 * Delivery state survives a restart (SQLite): the webhook, its cursor, and the attempt count and
 * retry time of the message in flight — delivered messages are not sent again, the failing one is
 * retried with the same webhook-id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';
import { ok, type Receiver, startReceiver, status } from './receiver.js';

describe('webhook delivery state survives a restart (sqlite)', () => {
  let fixture: EngineFixture;
  let receiver: Receiver;
  let server: TestServer | undefined;
  beforeAll(async () => {
    fixture = ENGINE_FIXTURES.find((f) => f.name === 'sqlite')!.fixture();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await server?.close();
    await receiver.close();
    fixture.cleanup();
  });

  const start = () =>
    startServer(fixture, { allowPrivateWebhooks: true, webhookRetryScheduleMs: [400, 400] });

  it('resumes after the cursor with the attempt in flight', async () => {
    server = await start();
    const webhook = await json(
      await post(`${server.url}/v1/topics/durable/webhooks`, { url: `${receiver.url}/d` }),
    );
    const publish = (n: number) => post(`${server!.url}/v1/topics/durable/messages`, { data: { n } });
    await publish(1);
    await publish(2);
    await receiver.waitFor('/d', 2);
    receiver.on('/d', status(503));
    await publish(3);
    await receiver.waitFor('/d', 3);
    const state = `${server.url}/v1/webhooks/${webhook.id}`;
    await expect.poll(async () => (await json(await fetch(state))).attempt).toBe(1);
    await server.close();

    receiver.on('/d', ok);
    server = await start();
    const attempts = await receiver.waitFor('/d', 4);
    expect(attempts.map((a) => JSON.parse(a.body).data.n)).toEqual([1, 2, 3, 3]);
    expect(attempts[3]!.headers['webhook-id']).toBe(attempts[2]!.headers['webhook-id']);
    expect(attempts[3]!.at - attempts[2]!.at).toBeGreaterThanOrEqual(300); // it waited for its retry time
    await expect
      .poll(async () => json(await fetch(`${server!.url}/v1/webhooks/${webhook.id}`)))
      .toMatchObject({ delivered: 3, failedAttempts: 1, cursor: 3, attempt: 0, state: 'active' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.at('/d')).toHaveLength(4);
  });
});
