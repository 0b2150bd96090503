/**
 * Token auth on the push transports: the WebSocket upgrade's token, the `auth` op and its deadline,
 * per-op authorization and the publish rate limit, token expiry mid-connection (WebSocket 4401,
 * SSE `close` event). Auth does not depend on the engine, so these run on memory only.
 */
import { randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, mint, startTokenServer } from '../security/support.js';
import type { TestServer } from '../support/server.js';
import { openSse } from './support/sse-client.js';
import { freshTopic, type Json } from './support/util.js';
import { connectWs } from './support/ws-client.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A WebSocket upgrade the server refuses: its status, headers and JSON body. */
function refusedUpgrade(
  url: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Json }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/ws${query}`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-version': '13',
        ...headers,
      },
    });
    req.on('upgrade', (_response, socket) => {
      socket.destroy();
      reject(new Error('the upgrade was accepted'));
    });
    req.on('response', (response) => {
      let text = '';
      response.on('data', (chunk) => {
        text += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(text) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Tokens expire at `exp` (whole seconds) with no clock tolerance on this server: 1–2 s from now. */
const SHORT_LIVED = 2;

describe('WebSocket token auth', () => {
  let server: TestServer;
  let alice: string;
  beforeAll(async () => {
    server = await startTokenServer({ jwtClockToleranceSeconds: 0, wsAuthDeadlineMs: 400 });
    alice = await mint({ publish: ['orders.eu', 'orders.eu.>'], subscribe: ['orders.*', 'orders.*.*'] });
  });
  afterAll(() => server.close());

  it('refuses an upgrade with a bad token: 401 and the contract JSON', async () => {
    for (const [query, headers] of [
      ['?token=not-a-jwt', {}],
      ['', { authorization: 'Bearer not-a-jwt' }],
      ['', { authorization: 'Basic abc' }],
      [`?token=${await mint({ expiresIn: -60 })}`, {}],
    ] as const) {
      const refused = await refusedUpgrade(server.url, query, headers);
      expect(refused.status, query || headers.authorization).toBe(401);
      expect(refused.headers['content-type']).toMatch(/^application\/json/);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect(refused.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    }
  });

  it('accepts a valid token on the upgrade, in ?token= or the Authorization header', async () => {
    const topic = `orders.${freshTopic()}`;
    const viaQuery = await connectWs(server.url, {}, `?token=${alice}`);
    const viaHeader = await connectWs(server.url, { headers: bearer(alice) });
    expect(await viaQuery.request({ op: 'subscribe', topic })).toMatchObject({ ok: true });
    expect(await viaHeader.request({ op: 'publish', topic: 'orders.eu', data: 1 })).toMatchObject({
      ok: true,
    });
    viaQuery.close();
    viaHeader.close();
  });

  it('without a token answers every op but auth with unauthorized, until a valid auth op', async () => {
    const client = await connectWs(server.url);
    for (const op of [
      { op: 'subscribe', topic: 'orders.eu' },
      { op: 'publish', topic: 'orders.eu', data: 1 },
      { op: 'unsubscribe', topic: 'orders.eu' },
      { op: 'subscribe', topic: 'orders.eu', group: 'g' },
      { op: 'ack', topic: 'orders.eu', group: 'g', offsets: [1] },
    ]) {
      const reply = await client.request(op);
      expect(reply.error.code, op.op).toBe('unauthorized');
      expect(reply.error.message).toMatch(/"op":"auth"/);
    }
    const refused = await client.request({ op: 'auth', token: 'not-a-jwt' });
    expect(refused.error.code).toBe('unauthorized');
    const accepted = await client.request({ op: 'auth', token: alice });
    expect(accepted).toMatchObject({ ok: true, mode: 'token', sub: 'alice', expiresAt: expect.any(Number) });
    expect(await client.request({ op: 'subscribe', topic: 'orders.eu' })).toMatchObject({ ok: true });
    expect(await client.request({ op: 'publish', topic: 'orders.eu', data: 2 })).toMatchObject({ ok: true });
    // The deadline was cancelled by the auth op.
    await sleep(600);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    client.close();
  });

  it('closes a connection with no valid auth within the deadline with 4401', async () => {
    const client = await connectWs(server.url);
    const started = Date.now();
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/no valid token within 0.4 s/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('authorizes each op on its topic: 403 outside the token, 400 for a bad name', async () => {
    const client = await connectWs(server.url, {}, `?token=${alice}`);
    for (const op of [
      { op: 'subscribe', topic: 'billing' },
      { op: 'subscribe', topic: 'orders' },
      { op: 'publish', topic: 'orders.us', data: 1 },
      { op: 'subscribe', topic: 'billing', group: 'g' },
      { op: 'ack', topic: 'billing', group: 'g', offsets: [1] },
      { op: 'nack', topic: 'billing', group: 'g', offsets: [1] },
    ]) {
      const reply = await client.request(op);
      expect(reply.error.code, JSON.stringify(op)).toBe('forbidden');
      expect(reply.error.message).toContain('"alice"');
    }
    expect((await client.request({ op: 'subscribe', topic: 'bad..name' })).error.code).toBe('bad_request');
    expect(await client.request({ op: 'subscribe', topic: 'orders.eu', group: 'g' })).toMatchObject({
      ok: true,
    });
    client.close();
  });

  it('refuses a fresh token that does not cover current subscriptions, keeping the old one', async () => {
    const client = await connectWs(server.url, {}, `?token=${alice}`);
    await client.request({ op: 'subscribe', topic: 'orders.eu' });
    const narrow = await mint({ sub: 'alice', subscribe: ['orders.us'], publish: ['orders.eu'] });
    const refused = await client.request({ op: 'auth', token: narrow });
    expect(refused.error).toEqual({ code: 'forbidden', message: expect.stringContaining('orders.eu') });
    // The old principal still holds: the subscription goes on and ops are checked against it.
    await client.request({ op: 'publish', topic: 'orders.eu', data: 'still here' });
    expect((await client.next((f) => f.op === 'message' && f.topic === 'orders.eu')).data).toBe('still here');
    expect(await client.request({ op: 'subscribe', topic: 'orders.fr' })).toMatchObject({ ok: true });
    client.close();
  });

  it('closes with 4401 when the token expires mid-connection', async () => {
    const short = await mint({ subscribe: ['orders.*'], expiresIn: SHORT_LIVED });
    const client = await connectWs(server.url, {}, `?token=${short}`);
    expect(await client.request({ op: 'subscribe', topic: 'orders.eu' })).toMatchObject({ ok: true });
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/token expired; send a fresh/);
  });

  it('stays open past the old expiry after a fresh auth op, with its subscriptions', async () => {
    const topic = 'orders.eu';
    const short = await mint({ subscribe: ['orders.*'], publish: ['orders.eu'], expiresIn: SHORT_LIVED });
    const client = await connectWs(server.url, {}, `?token=${short}`);
    expect(await client.request({ op: 'subscribe', topic })).toMatchObject({ ok: true });
    const fresh = await mint({ subscribe: ['orders.*'], publish: ['orders.eu'], expiresIn: 300 });
    expect(await client.request({ op: 'auth', token: fresh })).toMatchObject({ ok: true, mode: 'token' });
    await sleep(SHORT_LIVED * 1000 + 300);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    const published = await client.request({ op: 'publish', topic, data: 'after the old expiry' });
    expect(published).toMatchObject({ ok: true });
    const message = await client.next((f) => f.op === 'message' && f.offset === published.offset);
    expect(message.data).toBe('after the old expiry');
    client.close();
  });

  it('ends an SSE stream with a close event (4401) when its token expires', async () => {
    const short = await mint({ subscribe: ['orders.*'], expiresIn: SHORT_LIVED });
    const stream = await openSse(`${server.url}/v1/topics/orders.eu/events?token=${short}`);
    expect(stream.status).toBe(200);
    await stream.next((f) => f.event === 'ready');
    const close = await stream.next((f) => f.event === 'close', 4_000);
    expect(JSON.parse(close.data!)).toEqual({ code: 4401, reason: expect.stringMatching(/token expired/) });
    await stream.ended;
  });

  it('counts refused ops and upgrades in the metrics', async () => {
    const admin = await mint({ sub: 'ops', admin: true });
    const text = await (await fetch(`${server.url}/metrics`, { headers: bearer(admin) })).text();
    expect(text).toMatch(/switchboard_rejected_total\{reason="forbidden"\} [1-9]/);
    expect(text).toMatch(/switchboard_rejected_total\{reason="unauthorized"\} [1-9]/);
  });
});

describe('WebSocket publish rate limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTokenServer({ publishRate: 1, publishBurst: 3 });
  });
  afterAll(() => server.close());

  it('answers publishes past the bucket with 429 and retryAfterMs, shared with HTTP', async () => {
    const token = await mint({ sub: 'flood', publish: ['chat'] });
    const client = await connectWs(server.url, {}, `?token=${token}`);
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) => client.request({ op: 'publish', topic: 'chat', data: i })),
    );
    expect(replies.filter((r) => r.ok)).toHaveLength(3);
    const limited = replies.filter((r) => !r.ok);
    expect(limited).toHaveLength(2);
    for (const reply of limited) {
      expect(reply.error).toEqual({
        code: 'rate_limited',
        message: expect.stringContaining('retry in'),
        retryAfterMs: expect.any(Number),
      });
    }
    // The same `sub` over HTTP draws from the same bucket.
    const http = await fetch(`${server.url}/v1/topics/chat/messages`, {
      method: 'POST',
      headers: bearer(token, { 'content-type': 'application/json' }),
      body: JSON.stringify({ data: 'x' }),
    });
    expect(http.status).toBe(429);
    client.close();
  });
});
