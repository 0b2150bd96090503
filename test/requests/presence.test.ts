/**
 * Presence on one node, every engine: WebSocket and SSE subscribers (the `ws` package and the
 * `eventsource` package) are listed with their transport, `since` and `info`; bad `info` is a 400;
 * leaving removes them; `presenceEvents` topics get join/leave messages on `{topic}.presence`; in
 * token mode the list needs subscribe on the topic.
 */
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, mint, startTokenServer } from '../security/support.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, startServer, type TestServer } from '../support/server.js';
import { WsClient } from './ws-client.js';

async function presence(url: string, topic: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/v1/topics/${topic}/presence`, { headers });
  return { status: response.status, body: await json(response) };
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function openEventSource(url: string): Promise<EventSource> {
  const source = new EventSource(url);
  return new Promise((resolve, reject) => {
    source.addEventListener('ready', () => resolve(source));
    source.onerror = (error) => reject(new Error(`EventSource failed: ${error.message ?? error.code}`));
  });
}

describe.each(ENGINE_FIXTURES)('presence ($name)', ({ fixture }) => {
  let engines: EngineFixture;
  let server: TestServer;

  beforeAll(async () => {
    engines = fixture();
    server = await startServer(engines, { presenceEvents: ['room.*'] });
  });
  afterAll(async () => {
    await server?.close();
    engines?.cleanup();
  });

  it('lists WebSocket and SSE subscribers with transport, since and info; leaving removes them', async () => {
    const empty = await presence(server.url, 'lobby');
    expect(empty).toEqual({ status: 200, body: { topic: 'lobby', count: 0, clients: [] } });

    const before = Date.now();
    const ws = await WsClient.open(server.url);
    const id = ws.send({ op: 'subscribe', topic: 'lobby', info: { name: 'Ada', tags: ['x'] } });
    expect((await ws.reply(id)).ok).toBe(true);
    const info = encodeURIComponent(JSON.stringify({ name: 'Grace' }));
    const sse = await openEventSource(`${server.url}/v1/topics/lobby/events?info=${info}`);

    const listed = await until(
      () => presence(server.url, 'lobby'),
      (answer) => answer.body.count === 2,
    );
    expect(listed.body.count).toBe(2);
    const byTransport = Object.fromEntries(
      listed.body.clients.map((c: { transport: string }) => [c.transport, c]),
    );
    expect(byTransport.websocket).toMatchObject({ info: { name: 'Ada', tags: ['x'] } });
    expect(byTransport.sse).toMatchObject({ info: { name: 'Grace' } });
    for (const client of listed.body.clients) {
      expect(typeof client.client).toBe('string');
      expect(client.since).toBeGreaterThanOrEqual(before - 5);
      expect(client.sub).toBeUndefined(); // open mode: no subject
    }
    expect(listed.body.clients[0].since).toBeLessThanOrEqual(listed.body.clients[1].since);

    ws.close();
    const afterWs = await until(
      () => presence(server.url, 'lobby'),
      (answer) => answer.body.count === 1,
    );
    expect(afterWs.body.clients.map((c: { transport: string }) => c.transport)).toEqual(['sse']);
    sse.close();
    const none = await until(
      () => presence(server.url, 'lobby'),
      (answer) => answer.body.count === 0,
    );
    expect(none.body.count).toBe(0);
  });

  it('refuses info that is not an object or over 1 KiB (400), on WebSocket and SSE', async () => {
    const ws = await WsClient.open(server.url);
    for (const info of [[1], 'text', { big: 'x'.repeat(1_100) }]) {
      const reply = await ws.reply(ws.send({ op: 'subscribe', topic: 'lobby.bad', info }));
      expect(reply).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
    ws.close();
    for (const info of ['not-json', '[1]', '5', JSON.stringify({ big: 'x'.repeat(1_100) })]) {
      const response = await fetch(
        `${server.url}/v1/topics/lobby.bad/events?info=${encodeURIComponent(info)}`,
      );
      expect(response.status, info).toBe(400);
      expect((await json(response)).error.code).toBe('bad_request');
    }
    expect((await presence(server.url, 'lobby.bad')).body.count).toBe(0);
    expect((await presence(server.url, 'bad..topic')).status).toBe(400);
  });

  it('publishes join and leave on {topic}.presence for presenceEvents topics only', async () => {
    const ws = await WsClient.open(server.url);
    expect((await ws.reply(ws.send({ op: 'subscribe', topic: 'room.a', info: { seat: 3 } }))).ok).toBe(true);
    expect((await ws.reply(ws.send({ op: 'subscribe', topic: 'quiet' }))).ok).toBe(true);
    ws.close();
    const events = await until(
      async () => json(await fetch(`${server.url}/v1/topics/room.a.presence/messages`)),
      (answer) => answer.messages?.length === 2,
    );
    expect(events.messages.map((m: { event: string }) => m.event)).toEqual(['join', 'leave']);
    expect(events.messages[0].data).toMatchObject({ transport: 'websocket', info: { seat: 3 } });
    expect(events.messages[1].data.client).toBe(events.messages[0].data.client);
    const quiet = await fetch(`${server.url}/v1/topics/quiet.presence/messages`);
    expect((await json(quiet)).messages).toEqual([]);
  });
});

describe('presence in token mode', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTokenServer();
  });
  afterAll(() => server?.close());

  it('needs subscribe on the topic to list it, and shows the subscriber token sub', async () => {
    const reader = await mint({ sub: 'reader', subscribe: ['team.*'] });
    const ws = await WsClient.open(server.url, `?token=${reader}`);
    expect((await ws.reply(ws.send({ op: 'subscribe', topic: 'team.red' }))).ok).toBe(true);
    const listed = await until(
      () => presence(server.url, 'team.red', bearer(reader)),
      (answer) => answer.body.count === 1,
    );
    expect(listed.body.clients[0]).toMatchObject({ sub: 'reader', transport: 'websocket' });
    expect((await presence(server.url, 'team.red')).status).toBe(401);
    const outsider = await mint({ sub: 'outsider', subscribe: ['other'], publish: ['team.red'] });
    expect((await presence(server.url, 'team.red', bearer(outsider))).status).toBe(403);
    ws.close();
  });
});
