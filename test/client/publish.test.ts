/**
 * Publishing safely: every publish carries an idempotency key, reused by its retries, so an answer
 * lost on the way back (HTTP or WebSocket) cannot append twice; busy answers are retried with
 * backoff; refusals are typed and not retried. Also `fetch()` (request-response).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { SwitchboardError, type WebSocketConstructor } from '../../src/client/index.js';
import type { TestServer } from '../support/server.js';
import { memoryServer, recordedClient, uniqueTopic, waitFor } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await memoryServer();
});
afterAll(() => server.close());

async function logOf(topic: string): Promise<unknown[]> {
  const page = (await (await fetch(`${server.url}/v1/topics/${topic}/messages?after=0`)).json()) as {
    messages: Array<{ data: unknown }>;
  };
  return page.messages.map((m) => m.data);
}

test('http publish: an answer lost after the server stored the message is retried with the same key, no duplicate', async () => {
  const bodies: string[] = [];
  let lose = 1;
  const lossyFetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    if (init?.method === 'POST') {
      bodies.push(String(init.body));
      if (lose-- > 0) throw new TypeError('fetch failed (socket hang up)'); // stored, but the answer is lost
    }
    return response;
  };
  const { client, errors } = recordedClient(server.url, { transports: 'poll', fetch: lossyFetch });
  const topic = uniqueTopic();
  const answer = await client.publish(topic, { order: 7 });
  expect(answer).toMatchObject({ topic, offset: 1, duplicate: true });
  expect(bodies).toHaveLength(2);
  expect(JSON.parse(bodies[0]!).idempotencyKey).toMatch(/^pub-[0-9a-f]{32}$/);
  expect(JSON.parse(bodies[1]!).idempotencyKey).toBe(JSON.parse(bodies[0]!).idempotencyKey);
  expect(await logOf(topic)).toEqual([{ order: 7 }]);
  expect(errors).toEqual([]);
  client.close();
});

test('websocket publish: a connection lost before the reply is retried after reconnecting, no duplicate', async () => {
  let dropNextPublish = true;
  // Swallows the reply to the first publish and drops the connection: the server stored the
  // message, the client never hears so.
  class DroppingWebSocket extends WebSocket {
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (dropNextPublish && event === 'message' && String(args[0]).includes('"duplicate"')) {
        dropNextPublish = false;
        this.terminate();
        return true;
      }
      return super.emit(event, ...args);
    }
  }
  const { client, states } = recordedClient(server.url, {
    transports: 'websocket',
    WebSocket: DroppingWebSocket as unknown as WebSocketConstructor,
  });
  await client.ready();
  const topic = uniqueTopic();
  const answer = await client.publish(topic, 'once', { event: 'note' });
  expect(answer).toMatchObject({ topic, offset: 1, duplicate: true });
  expect(await logOf(topic)).toEqual(['once']);
  // The retry went over HTTP or the new connection, whichever was first; the client reconnects either way.
  await waitFor('reconnected', () => states.filter((s) => s.state === 'open').length === 2);
  client.close();
});

test('busy answers (503, 429) are retried with backoff; the key stays the same', async () => {
  const keys: string[] = [];
  let busy = 2;
  const busyFetch = async (input: string, init?: RequestInit): Promise<Response> => {
    if (init?.method !== 'POST') return fetch(input, init);
    keys.push(JSON.parse(String(init.body)).idempotencyKey);
    if (busy-- > 0) {
      const body = JSON.stringify({
        error: { code: busy === 1 ? 'unavailable' : 'rate_limited', message: 'busy' },
      });
      return new Response(body, { status: busy === 1 ? 503 : 429, headers: { 'retry-after': '0' } });
    }
    return fetch(input, init);
  };
  const { client } = recordedClient(server.url, { transports: 'poll', fetch: busyFetch });
  const topic = uniqueTopic();
  expect(await client.publish(topic, 1)).toMatchObject({ offset: 1, duplicate: false });
  expect(keys).toHaveLength(3);
  expect(new Set(keys).size).toBe(1);
  client.close();
});

test('a refusal is thrown at once as a SwitchboardError naming the method and URL', async () => {
  const { client } = recordedClient(server.url, { transports: 'poll' });
  const topic = uniqueTopic();
  const big = 'x'.repeat(70_000);
  const error = (await client.publish(topic, big).catch((e: unknown) => e)) as SwitchboardError;
  expect(error).toBeInstanceOf(SwitchboardError);
  expect(error.code).toBe('payload_too_large');
  expect(error.status).toBe(413);
  expect(error.message).toContain(`(POST ${server.url}/v1/topics/${topic}/messages → 413)`);
  await expect(client.publish('no..good', 1)).rejects.toThrow(/topic "no..good" is invalid/);
  await expect(client.publish(topic, 1, { event: 'bad event' })).rejects.toMatchObject({
    code: 'bad_request',
  });
  await expect(client.publish(topic, undefined)).rejects.toThrow(/publish needs data/);
  client.close();
});

test('fetch returns a page of the log in the contract shape', async () => {
  const { client } = recordedClient(server.url, { transports: 'poll' });
  const topic = uniqueTopic();
  await client.publish(topic, 'a');
  await client.publish(topic, 'b', { event: 'second' });
  const page = await client.fetch(topic, { after: 1, limit: 10 });
  expect(page).toMatchObject({ topic, next: 2, first: 1, last: 2, gap: false, reset: false });
  expect(page.messages.map(({ time: _t, ...m }) => m)).toEqual([
    { topic, offset: 2, event: 'second', data: 'b' },
  ]);
  client.close();
  expect(() => client.subscribe(topic)).toThrow(/is closed/);
});
