/** Limits: publish rate (429 + Retry-After), connections total and per address, long polls, slow clients. */
import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/core/rate-limit.js';
import { clientAddressKey } from '../../src/server/client-address.js';
import { startServer } from '../support/server.js';
import { errorCode, memory, mint, publish, rawSocket, startTokenServer } from './support.js';

const GET_HEALTH = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const until = async (condition: () => boolean, ms = 3_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('publish rate limit', () => {
  /** Publishes until the first 429 (timing-proof: the bucket refills while the machine is slow). */
  const publishUntilLimited = async (url: string, token?: string) => {
    for (let accepted = 0; accepted < 30; accepted++) {
      const response = await publish(url, 'a', token);
      if (response.status === 429) return { accepted, limited: response };
      expect(response.status).toBe(201);
    }
    throw new Error('never rate limited');
  };

  it('answers 429 rate_limited with Retry-After past the burst, per token sub', async () => {
    const server = await startTokenServer({ publishRate: 1, publishBurst: 3 });
    try {
      const alice = await mint({ sub: 'alice', publish: ['>'] });
      const { accepted, limited } = await publishUntilLimited(server.url, alice);
      expect(accepted).toBeGreaterThanOrEqual(3);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await errorCode(limited)).toBe('rate_limited');
      // Another subject has its own bucket, even from the same address.
      expect((await publish(server.url, 'a', await mint({ sub: 'bob', publish: ['>'] }))).status).toBe(201);
    } finally {
      await server.close();
    }
  });

  it('limits per address in open mode, and 0 disables the limit', async () => {
    const limited = await startServer(memory, { publishRate: 1, publishBurst: 2 });
    const unlimited = await startServer(memory, { publishRate: 0 });
    try {
      expect((await publishUntilLimited(limited.url)).accepted).toBeGreaterThanOrEqual(2);
      for (let i = 0; i < 20; i++) expect((await publish(unlimited.url, 'a')).status).toBe(201);
    } finally {
      await Promise.all([limited.close(), unlimited.close()]);
    }
  });

  it('refills at the configured rate and forgets idle clients when full', () => {
    let now = 0;
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 1, maxKeys: 2, now: () => now });
    limiter.take('a');
    expect(() => limiter.take('a')).toThrow(
      expect.objectContaining({ code: 'rate_limited', retryAfterMs: 100 }),
    );
    now += 100;
    limiter.take('a');
    limiter.take('b');
    now += 1_000;
    limiter.take('c'); // a and b have refilled: forgotten instead of growing without bound
    expect(limiter.size).toBeLessThanOrEqual(2);
  });
});

describe('connection limits', () => {
  it('answers 429 with Retry-After and closes a connection over the per-address limit', async () => {
    const server = await startServer(memory, { maxConnectionsPerIp: 2 });
    try {
      const held = [await rawSocket(server.url), await rawSocket(server.url)];
      await until(() => server.server.app.security.connections.open === 2);
      const third = await rawSocket(server.url);
      third.socket.write(GET_HEALTH);
      await third.closed;
      expect(third.received()).toMatch(/^HTTP\/1\.1 429/);
      expect(third.received()).toMatch(/retry-after: \d+/i);
      expect(third.received()).toContain('"code":"rate_limited"');
      // The admitted connections still work, and a slot frees when one closes.
      held[0]!.socket.write(GET_HEALTH);
      await until(() => held[0]!.received().includes('"ok"'));
      held[1]!.socket.destroy();
      await until(() => server.server.app.security.connections.open === 1);
      expect((await fetch(`${server.url}/healthz`, { headers: { connection: 'close' } })).status).toBe(200);
      held[0]!.socket.destroy();
    } finally {
      await server.close();
    }
  });

  it('answers 503 unavailable over the total limit', async () => {
    const server = await startServer(memory, { maxConnections: 1 });
    try {
      const held = await rawSocket(server.url);
      await until(() => server.server.app.security.connections.open === 1);
      const over = await rawSocket(server.url);
      over.socket.write(GET_HEALTH);
      await over.closed;
      expect(over.received()).toMatch(/^HTTP\/1\.1 503/);
      expect(over.received()).toContain('"code":"unavailable"');
      held.socket.destroy();
    } finally {
      await server.close();
    }
  });

  it('counts IPv6 clients per /64 and IPv4-mapped addresses as IPv4', () => {
    expect(clientAddressKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientAddressKey('2001:db8:1:2:aaaa::1')).toBe(clientAddressKey('2001:db8:1:2::ffff'));
    expect(clientAddressKey('2001:db8:1:2::1')).not.toBe(clientAddressKey('2001:db8:1:3::1'));
  });

  it('answers 503 when more long polls are held than maxLongPolls', async () => {
    const server = await startServer(memory, { maxLongPolls: 1 });
    const held = new AbortController();
    try {
      const first = fetch(`${server.url}/v1/topics/t/messages?wait=30`, { signal: held.signal }).catch(
        () => null,
      );
      await until(() => server.server.hub.heldRequests === 1);
      const second = await fetch(`${server.url}/v1/topics/t/messages?wait=30`);
      expect(second.status).toBe(503);
      expect(await errorCode(second)).toBe('unavailable');
      held.abort();
      await first;
    } finally {
      await server.close();
    }
  });
});

describe('slow clients', () => {
  const trickle = (socket: import('node:net').Socket, text: string, everyMs: number) => {
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || i >= text.length) return clearInterval(timer);
      socket.write(text[i++]!);
    }, everyMs);
    return () => clearInterval(timer);
  };

  it('cuts off a slow-loris client that never finishes its headers', async () => {
    const server = await startServer(memory, { headersTimeoutMs: 500, requestTimeoutMs: 1_000 });
    try {
      const client = await rawSocket(server.url);
      const started = Date.now();
      client.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const stop = trickle(client.socket, 'X-Slow: '.padEnd(10_000, 'a'), 50);
      await client.closed;
      stop();
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(client.received()).toMatch(/^HTTP\/1\.1 408/);
      expect(client.received()).toContain('"code":"timeout"');
    } finally {
      await server.close();
    }
  });

  it('cuts off a client that sends its body too slowly', async () => {
    const server = await startServer(memory, { headersTimeoutMs: 500, requestTimeoutMs: 1_000 });
    try {
      const client = await rawSocket(server.url);
      const started = Date.now();
      client.socket.write(
        'POST /v1/topics/t/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n',
      );
      const stop = trickle(client.socket, 'a'.repeat(1_000), 50);
      await client.closed;
      stop();
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(client.received()).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await server.close();
    }
  });
});
