/**
 * Token mode: every transport carries the token its own way (WebSocket `?token=`, SSE and HTTP the
 * Authorization header), and `getToken` is asked again when the server refuses the token (401 or
 * close 4401), so a client with an expired token recovers without losing its cursor.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mintDevToken } from '../../src/cli/token.js';
import type { Message } from '../../src/client/index.js';
import type { TestServer } from '../support/server.js';
import {
  memoryServer,
  offsets,
  range,
  recordedClient,
  TRANSPORT_NAMES,
  uniqueTopic,
  waitFor,
} from './support.js';

const SECRET = 'sdk-tests-secret-sdk-tests-secret-0123456789';
let server: TestServer;
beforeAll(async () => {
  server = await memoryServer({ auth: 'token', jwtSecret: SECRET });
});
afterAll(() => server.close());

const token = (subscribe: string[] = ['>']) =>
  mintDevToken({ secret: SECRET, sub: 'sdk', publish: ['>'], subscribe, ttlSeconds: 600 });

describe.each(TRANSPORT_NAMES)('%s with a token', (via) => {
  test('subscribes and publishes; a refused token is replaced through getToken', async () => {
    const good = await token();
    let calls = 0;
    // The first token is garbage, so the server answers 401 (HTTP) or refuses the upgrade/stream.
    const getToken = () => (++calls === 1 ? 'not-a-jwt' : good);
    const { client, errors } = recordedClient(server.url, { transports: via, getToken });
    const topic = uniqueTopic();
    const got: Message[] = [];
    client.subscribe(topic, { after: 0, onMessage: (m) => got.push(m) });
    await client.publish(topic, 1);
    await client.publish(topic, 2);
    await waitFor('2 messages', () => got.length === 2, 8_000);
    expect(offsets(got)).toEqual(range(1, 2));
    expect(calls).toBeGreaterThanOrEqual(2);
    // Push transports report the refused attempt; HTTP requests retry once, silently, with the new token.
    if (via === 'websocket' || via === 'sse') expect(errors.length).toBeGreaterThan(0);
    client.close();
  });
});

test('a topic outside the token ends only that subscription, with forbidden', async () => {
  const { client } = recordedClient(server.url, { transports: 'sse', token: await token(['allowed.>']) });
  const allowed: Message[] = [];
  client.subscribe('allowed.one', { after: 0, onMessage: (m) => allowed.push(m) });
  const denied = client.subscribe('secret', { after: 0 });
  const error = (await denied.closed) as Error & { code?: string };
  expect(error.code).toBe('forbidden');
  await client.publish('allowed.one', 'hi');
  await waitFor('allowed message', () => allowed.length === 1);
  client.close();
});
