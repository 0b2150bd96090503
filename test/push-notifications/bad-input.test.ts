/**
 * Registration refuses what no push service could use, with the contract's 400 JSON naming the
 * fault; token mode asks for `subscribe` on the topic; the server stays up throughout.
 */
import { createECDH } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/cli/token.js';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

const memory = ENGINE_FIXTURES.find((f) => f.name === 'memory')!.fixture();
const p256dh = () => {
  const pair = createECDH('prime256v1');
  pair.generateKeys();
  return pair.getPublicKey().toString('base64url');
};
const auth = Buffer.alloc(16, 7).toString('base64url');
const subscription = (endpoint: string, keys: object = { p256dh: p256dh(), auth }) => ({
  subscription: { endpoint, expirationTime: null, keys },
});

describe('push subscription registration refuses bad input', () => {
  let strict: TestServer; // private destinations refused (the default)
  let lab: TestServer; // --allow-private-webhooks
  beforeAll(async () => {
    strict = await startServer(memory);
    lab = await startServer(memory, { allowPrivateWebhooks: true });
  });
  afterAll(async () => {
    await strict.close();
    await lab.close();
  });

  const refused = async (server: TestServer, body: unknown, pattern: RegExp, status = 400) => {
    const response = await post(`${server.url}/v1/topics/t/push-subscriptions`, body);
    const answer = await json(response);
    expect(response.status, JSON.stringify(answer)).toBe(status);
    expect(answer.error.code).toBe(status === 400 ? 'bad_request' : 'payload_too_large');
    expect(answer.error.message).toMatch(pattern);
  };

  it('endpoints: malformed, not https, private, oversized', async () => {
    await refused(strict, subscription('not a url'), /not a valid URL/);
    await refused(strict, subscription('ftp://push.example/x'), /http or https/);
    await refused(strict, subscription('http://push.example/x'), /must use https/);
    await refused(strict, subscription('https://127.0.0.1/x'), /loopback|private/);
    await refused(strict, subscription('https://[::1]/x'), /loopback|private/);
    await refused(strict, subscription('https://169.254.169.254/latest'), /link-local|private/);
    await refused(lab, subscription('http://8.8.8.8/x'), /must use https/);
    await refused(strict, subscription(`https://push.example/${'a'.repeat(2_100)}`), /at most 2048/);
    await refused(strict, { subscription: { keys: { p256dh: p256dh(), auth } } }, /http\(s\) URL/);
  });

  it('keys: wrong length, not on the curve, missing', async () => {
    const endpoint = 'https://8.8.8.8/push';
    const point = Buffer.from(p256dh(), 'base64url');
    point[40]! ^= 1;
    await refused(strict, subscription(endpoint, { p256dh: point.toString('base64url'), auth }), /P-256/);
    await refused(strict, subscription(endpoint, { p256dh: p256dh().slice(0, 40), auth }), /65 bytes/);
    await refused(
      strict,
      subscription(endpoint, { p256dh: p256dh(), auth: 'c2hvcnQ' }),
      /auth must be 16 bytes/,
    );
    await refused(strict, subscription(endpoint, { p256dh: 'not base64!', auth }), /p256dh must be 65 bytes/);
    await refused(strict, subscription(endpoint, { p256dh: p256dh() }), /auth must be 16 bytes/);
    await refused(strict, { subscription: { endpoint } }, /subscription.keys/);
  });

  it('unknown fields at every level, bad ttl and urgency, not an object', async () => {
    const good = subscription('https://8.8.8.8/push');
    await refused(strict, { ...good, topic: 'x' }, /unknown field "topic"/);
    await refused(strict, { subscription: { ...good.subscription, extra: 1 } }, /subscription.extra/);
    await refused(
      strict,
      { subscription: { ...good.subscription, keys: { ...good.subscription.keys, x: 1 } } },
      /subscription.keys.x/,
    );
    await refused(strict, { ...good, ttl: -1 }, /ttl/);
    await refused(strict, { ...good, ttl: 1.5 }, /ttl/);
    await refused(strict, { ...good, urgency: 'urgent' }, /urgency/);
    await refused(strict, [good], /object/);
    await refused(
      strict,
      { ...good, subscription: { ...good.subscription, expirationTime: 'soon' } },
      /expirationTime/,
    );
  });

  it('an oversized body is 413; bad topics, unknown ids are contract errors; the server stays up', async () => {
    const big = { ...subscription('https://8.8.8.8/push'), pad: 'x'.repeat(20_000) };
    await refused(strict, big, /.+/, 413);
    const badTopic = await post(
      `${strict.url}/v1/topics/bad..topic/push-subscriptions`,
      subscription('https://8.8.8.8/p'),
    );
    expect(badTopic.status).toBe(400);
    expect((await json(badTopic)).error.code).toBe('bad_request');
    for (const id of ['ps_nope', '../etc', 'x'.repeat(300)]) {
      const response = await fetch(`${strict.url}/v1/push-subscriptions/${encodeURIComponent(id)}`);
      expect(response.status).toBe(404);
      expect((await json(response)).error.code).toBe('not_found');
    }
    expect((await fetch(`${strict.url}/healthz`)).status).toBe(200);
  });

  it('answers any registration body with 201 or a contract 4xx, never a 5xx (fast-check)', async () => {
    const key = p256dh();
    const endpoint = fc.constantFrom(
      'https://8.8.8.8/p',
      'https://10.0.0.1/p',
      'http://8.8.8.8/p',
      'https://[::ffff:127.0.0.1]/p',
      'https://0x7f.1/p',
      'javascript:alert(1)',
      '',
    );
    const bytes = fc.oneof(fc.string(), fc.constant(key), fc.constant(auth), fc.integer(), fc.constant(null));
    const body = fc.oneof(
      fc.record(
        {
          subscription: fc.record(
            { endpoint: fc.oneof(endpoint, fc.anything()), keys: fc.record({ p256dh: bytes, auth: bytes }) },
            { requiredKeys: [] },
          ),
          ttl: fc.oneof(fc.integer(), fc.double(), fc.string()),
          urgency: fc.oneof(fc.constantFrom('high', 'low'), fc.string()),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const response = await post(`${strict.url}/v1/topics/fuzz/push-subscriptions`, JSON.stringify(value));
        const answer = await response.text();
        expect([201, 400], answer).toContain(response.status);
        if (response.status === 400) expect(JSON.parse(answer).error.code).toBe('bad_request');
      }),
      { numRuns: 150 },
    );
    expect((await fetch(`${strict.url}/healthz`)).status).toBe(200);
  });

  it('accepts http to a private IP only with --allow-private-webhooks', async () => {
    const response = await post(
      `${lab.url}/v1/topics/t/push-subscriptions`,
      subscription('http://127.0.0.1:9/p'),
    );
    expect(response.status).toBe(201);
  });
});

describe('push subscriptions in token mode', () => {
  const secret = 's'.repeat(40);
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(memory, { auth: 'token', jwtSecret: secret, allowPrivateWebhooks: true });
  });
  afterAll(() => server.close());

  const token = (subscribe: string[]) => mintDevToken({ secret, sub: 'u', subscribe, ttlSeconds: 600 });
  const register = (topic: string, bearer?: string) =>
    fetch(`${server.url}/v1/topics/${topic}/push-subscriptions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      body: JSON.stringify(subscription('http://127.0.0.1:9/tok')),
    });

  it('serves the VAPID key without a token', async () => {
    const response = await fetch(`${server.url}/v1/push/vapid-public-key`);
    expect(response.status).toBe(200);
    expect((await json(response)).publicKey).toMatch(/^[A-Za-z0-9_-]{87}$/);
  });

  it('needs subscribe on the topic to register, read or delete', async () => {
    expect((await register('orders')).status).toBe(401);
    expect((await register('orders', await token(['news']))).status).toBe(403);
    const created = await register('orders', await token(['orders']));
    expect(created.status).toBe(201);
    const { id } = await json(created);
    const url = `${server.url}/v1/push-subscriptions/${id}`;
    const as = async (topics: string[], method = 'GET') =>
      (await fetch(url, { method, headers: { authorization: `Bearer ${await token(topics)}` } })).status;
    expect(await as(['news'])).toBe(403);
    expect(await as(['news'], 'DELETE')).toBe(403);
    expect(await as(['orders'])).toBe(200);
    expect(await as(['orders'], 'DELETE')).toBe(204);
    // Dead letters of a topic are readable with subscribe on the topic, and push can follow them.
    expect((await register('orders.dead-letter', await token(['orders']))).status).toBe(201);
  });
});
