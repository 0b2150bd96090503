/**
 * The long-poll fast path (src/patterns/poll/fast-path.ts): plain polls are answered before
 * fastify, everything else falls through to it, and both give the same bytes and headers.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/core/auth.js';
import { createHub, type Hub } from '../../src/core/hub.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { createPollFastPath } from '../../src/patterns/poll/fast-path.js';
import { createServer, type SwitchboardServer } from '../../src/server/app.js';

describe('long-poll fast path, alone', () => {
  let hub: Hub;
  let server: Server;
  let base: string;
  const fallbacks: string[] = [];
  const recorded: Array<{ route: string; status: number }> = [];
  let closing = false;

  beforeAll(async () => {
    hub = createHub({ engine: createMemoryEngine() });
    const fast = createPollFastPath({
      hub,
      auth: createAuthenticator({ mode: 'open' }),
      browserCheck: (host) => (host?.startsWith('127.0.0.1') ? undefined : 'not this server'),
      refusalFor: () => undefined,
      admit: () => !closing,
      debugLogging: () => false,
      httpRequest: (_method, route, status) => recorded.push({ route, status }),
      delivered: () => {},
    });
    const fallback = (request: IncomingMessage, response: ServerResponse): void => {
      fallbacks.push(request.url ?? '');
      response.writeHead(418).end('fallback');
    };
    server = createHttpServer((request, response) => {
      if (!fast(request, response, fallback)) fallback(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await hub.publish('fast.t', { n: 1 });
  });
  afterAll(async () => {
    await hub.close();
    await new Promise((resolve) => server.close(resolve));
  });
  afterEach(() => {
    fallbacks.length = 0;
    recorded.length = 0;
    closing = false;
  });

  it('answers a plain short poll and a held long poll itself', async () => {
    const short = await fetch(`${base}/v1/topics/fast.t/messages?after=0`);
    expect(short.status).toBe(200);
    expect(short.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(short.headers.get('cache-control')).toBe('no-store');
    const answer = (await short.json()) as { messages: Array<{ data: unknown }>; next: number };
    expect(answer.messages.map((m) => m.data)).toEqual([{ n: 1 }]);

    const held = fetch(`${base}/v1/topics/fast.t/messages?after=${answer.next}&wait=5`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hub.heldRequests).toBe(1);
    await hub.publish('fast.t', { n: 2 });
    const woken = (await (await held).json()) as { messages: Array<{ data: unknown }> };
    expect(woken.messages.map((m) => m.data)).toEqual([{ n: 2 }]);
    expect(fallbacks).toEqual([]);
    expect(recorded).toEqual([
      { route: '/v1/topics/:topic/messages', status: 200 },
      { route: '/v1/topics/:topic/messages', status: 200 },
    ]);
  });

  it('leaves everything that is not the plain case to fastify', async () => {
    const cases: Array<[string, RequestInit?]> = [
      ['/v1/topics/fast.t/messages?after=-1'], // fastify answers the 400
      ['/v1/topics/fast.t/messages?after=1&after=2'], // repeated parameter
      ['/v1/topics/fast.t/messages?after=%31'], // escapes: fastify decodes
      ['/v1/topics/fast%2Et/messages'],
      ['/v1/topics/fast.t/messages?other=1'], // unknown parameter
      ['/v1/topics/fast.t/messages/'],
      ['/v1/topics/bad..name/messages'], // refused topic name
      ['/v1/topics/fast.t/messages', { headers: { origin: 'http://127.0.0.1' } }], // CORS
      ['/v1/topics/fast.t/messages', { headers: { authorization: 'Bearer x' } }],
      ['/v1/topics/fast.t/messages', { method: 'HEAD' }],
    ];
    for (const [path, init] of cases) {
      const response = await fetch(`${base}${path}`, init);
      expect(response.status, path).toBe(418);
    }
    expect(fallbacks).toHaveLength(cases.length);
    closing = true;
    expect((await fetch(`${base}/v1/topics/fast.t/messages`)).status).toBe(418);
  });
});

describe('long-poll fast path, in the server', () => {
  let server: SwitchboardServer;
  let base: string;

  beforeAll(async () => {
    server = await createServer({ host: '127.0.0.1', port: 0, engine: 'memory' });
    base = await server.listen();
    await fetch(`${base}/v1/topics/same.bytes/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { hello: 'world' } }),
    });
  });
  afterAll(async () => server.close());

  const headersOf = (response: Response): Record<string, string> => {
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (name !== 'date') headers[name] = value;
    });
    return headers;
  };

  it('gives the same bytes and headers as the fastify route', async () => {
    const fast = await fetch(`${base}/v1/topics/same.bytes/messages?after=0&limit=10`);
    // `&x=1` is not a poll parameter: fastify answers this one (and ignores it).
    const routed = await fetch(`${base}/v1/topics/same.bytes/messages?after=0&limit=10&x=1`);
    expect(fast.status).toBe(200);
    expect(routed.status).toBe(200);
    expect(headersOf(fast)).toEqual(headersOf(routed));
    expect(await fast.text()).toBe(await routed.text());
  });

  it('still answers errors and CORS through fastify, with the contract body', async () => {
    const bad = await fetch(`${base}/v1/topics/same.bytes/messages?wait=99`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    const cors = await fetch(`${base}/v1/topics/same.bytes/messages`, {
      headers: { origin: 'http://example.test' },
    });
    expect(cors.status).toBe(403); // not an allowed origin
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /switchboard_http_requests_total\{method="GET",route="\/v1\/topics\/:topic\/messages",status="200"\} [1-9]/,
    );
  });
});
