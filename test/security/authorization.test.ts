/** Capabilities: topic patterns → 403 or allowed, admin routes, token sources, open mode, expiry. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { allows, authorize, createAuthenticator, scheduleExpiry } from '../../src/core/auth.js';
import { isValidPattern, type Principal } from '../../src/core/token-claims.js';
import { createServer } from '../../src/server/app.js';
import { startServer, type TestServer } from '../support/server.js';
import { bearer, errorCode, memory, mint, publish, SECRET, startTokenServer } from './support.js';

describe('topic capabilities over HTTP', () => {
  let server: TestServer;
  let alice: string;
  beforeAll(async () => {
    server = await startTokenServer();
    alice = await mint({ publish: ['orders.>', 'chat'], subscribe: ['*', 'orders.*.audit'] });
  });
  afterAll(() => server.close());

  it('allows publishing inside the publish patterns and refuses outside with 403', async () => {
    for (const topic of ['orders.eu', 'orders.eu.paris', 'chat']) {
      expect((await publish(server.url, topic, alice)).status, topic).toBe(201);
    }
    // `orders.dead-letter` is a system topic: `orders.>` does not reach it (test/security/system-topics.test.ts).
    for (const topic of ['orders', 'billing', 'chat.room1', 'orders.dead-letter']) {
      const response = await publish(server.url, topic, alice);
      expect(response.status, topic).toBe(403);
      expect(await errorCode(response)).toBe('forbidden');
    }
  });

  it('checks subscribe patterns for fetch and long poll', async () => {
    const get = (topic: string, token = alice) =>
      fetch(`${server.url}/v1/topics/${topic}/messages?after=0`, { headers: bearer(token) });
    expect((await get('chat')).status).toBe(200);
    expect((await get('orders.eu.audit')).status).toBe(200);
    expect((await get('orders.eu')).status).toBe(403);
    expect((await get('orders.eu.paris.audit')).status).toBe(403);
  });

  it('accepts the token in ?token= (EventSource and WebSocket cannot set headers)', async () => {
    const response = await fetch(`${server.url}/v1/topics/chat/messages?after=0&token=${alice}`);
    expect(response.status).toBe(200);
    expect((await fetch(`${server.url}/v1/topics/chat/messages?token=nope`)).status).toBe(401);
  });

  it('answers 400 (not 403) for an invalid topic name', async () => {
    const response = await publish(server.url, 'bad..name', alice);
    expect(response.status).toBe(400);
  });

  it('keeps admin routes for admin tokens', async () => {
    await publish(server.url, 'chat', alice);
    const del = (token: string) =>
      fetch(`${server.url}/v1/topics/chat`, { method: 'DELETE', headers: bearer(token) });
    const refused = await del(alice);
    expect(refused.status).toBe(403);
    expect(await errorCode(refused)).toBe('forbidden');
    expect((await del(await mint({ sub: 'ops', admin: true }))).status).toBe(204);
  });

  it('lists only the topics a token may use', async () => {
    await publish(server.url, 'orders.eu', alice);
    await publish(server.url, 'billing', await mint({ sub: 'ops', admin: true }));
    const bob = await mint({ sub: 'bob', subscribe: ['billing'] });
    const list = await fetch(`${server.url}/v1/topics`, { headers: bearer(bob) });
    expect(list.status).toBe(200);
    const { topics } = (await list.json()) as { topics: Array<{ topic: string }> };
    expect(topics.map((t) => t.topic)).toEqual(['billing']);
    expect((await fetch(`${server.url}/v1/topics`)).status).toBe(401);
  });

  it('keeps health open, metrics for admins, unknown routes 404', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: bearer(alice) })).status).toBe(403);
    const admin = await mint({ sub: 'prometheus', admin: true });
    expect((await fetch(`${server.url}/metrics`, { headers: bearer(admin) })).status).toBe(200);
    const unknown = await fetch(`${server.url}/v1/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('not_found');
  });
});

describe('a route missing from the rule table', () => {
  it('needs an admin token (fail closed) and is named in a startup warning', async () => {
    const lines: string[] = [];
    const server = await createServer({
      host: '127.0.0.1',
      port: 0,
      engineInstance: memory.create(),
      auth: 'token',
      jwtSecret: SECRET,
      logger: { level: 'warn', stream: { write: (line: string) => lines.push(line) } },
    });
    server.app.get('/v1/unlisted', async () => ({ ok: true }));
    const url = await server.listen();
    try {
      expect(lines.join('')).toContain('route GET /v1/unlisted has no rule in route-rules.ts');
      const user = await mint({ subscribe: ['>'], publish: ['>'] });
      expect((await fetch(`${url}/v1/unlisted`, { headers: bearer(user) })).status).toBe(403);
      const admin = await mint({ sub: 'ops', admin: true });
      expect((await fetch(`${url}/v1/unlisted`, { headers: bearer(admin) })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('open mode', () => {
  it('lets anyone publish, read, delete and scrape without a token', async () => {
    const server = await startServer(memory, { metricsPublic: false });
    try {
      expect((await publish(server.url, 'orders')).status).toBe(201);
      expect((await fetch(`${server.url}/v1/topics/orders/messages`)).status).toBe(200);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
      expect((await fetch(`${server.url}/v1/topics/orders`, { method: 'DELETE' })).status).toBe(204);
    } finally {
      await server.close();
    }
  });

  it('serves /metrics without a token in token mode when metricsPublic is set', async () => {
    const server = await startTokenServer({ metricsPublic: true });
    try {
      expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('the authorization point', () => {
  const principal = (over: Partial<Principal> = {}): Principal => ({
    sub: 'a',
    anonymous: false,
    admin: false,
    publish: ['a.*'],
    subscribe: ['>'],
    expiresAt: Date.now() + 60_000,
    ...over,
  });

  it('matches * as one segment and > as the rest', () => {
    expect(allows(principal(), 'publish', 'a.b')).toBe(true);
    expect(allows(principal(), 'publish', 'a.b.c')).toBe(false);
    expect(allows(principal(), 'publish', 'a')).toBe(false);
    expect(allows(principal(), 'subscribe', 'x.y.z')).toBe(true);
    expect(allows(principal(), 'admin')).toBe(false);
    expect(allows(principal({ admin: true }), 'publish', 'anything')).toBe(true);
  });

  it('refuses an expired principal with 401 even when its patterns match', () => {
    const expired = principal({ expiresAt: Date.now() - 1 });
    expect(() => authorize(expired, 'subscribe', 'x')).toThrow(
      expect.objectContaining({ code: 'unauthorized' }),
    );
  });

  it('validates patterns as the token claims need them', () => {
    for (const good of ['orders', 'orders.*', 'orders.>', '>', '*.eu', 'a.b.c.d.e.f.g.h.dead-letter']) {
      expect(isValidPattern(good), good).toBe(true);
    }
    for (const bad of ['', 'orders.>.eu', 'or ders', 'a..b', '>>', 'a.b.c.d.e.f.g.h.i.j']) {
      expect(isValidPattern(bad), bad).toBe(false);
    }
  });

  it('schedules the end of a stream at token expiry', () => {
    vi.useFakeTimers();
    try {
      const onExpired = vi.fn();
      scheduleExpiry(principal({ expiresAt: Date.now() + 1_000 }), onExpired);
      vi.advanceTimersByTime(999);
      expect(onExpired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(2);
      expect(onExpired).toHaveBeenCalledOnce();
      const cancelled = vi.fn();
      const cancel = scheduleExpiry(principal({ expiresAt: Date.now() + 1_000 }), cancelled);
      cancel();
      vi.advanceTimersByTime(5_000);
      expect(cancelled).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it('caches verified tokens but not past their expiry', async () => {
    let now = Date.now();
    const auth = createAuthenticator({
      mode: 'token',
      secret: SECRET,
      clockToleranceSeconds: 0,
      now: () => now,
    });
    const token = await mint({ expiresIn: 5 });
    const first = await auth.authenticate(token);
    expect(await auth.authenticate(token)).toBe(first);
    now += 6_000;
    await expect(auth.authenticate(token)).rejects.toMatchObject({ code: 'unauthorized' });
  });
});
