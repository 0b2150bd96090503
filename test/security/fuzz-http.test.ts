/**
 * Fuzz pass over the HTTP API (issue 6): arbitrary query strings, topic segments, bodies and content
 * types must only ever produce a success or a contract 4xx, never a 5xx, a crash or a body outside
 * the contract; afterwards the server still answers. Open mode, then token mode with arbitrary tokens.
 * Issue 19 added Host headers (DNS rebinding: only real loopback literals pass) and token parameter
 * names under arbitrary percent-encodings (never logged).
 */
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';
import {
  assertContractAnswer,
  contentType,
  fetchQuery,
  hostHeader,
  isRealLoopbackHost,
  requestBody,
  tokenParamName,
  topicSegment,
} from './fuzz-support.js';
import { bearer, forge, memory, mint, startTokenServer } from './support.js';

/** Small limits, so arbitrary inputs reach the size checks too. */
const LIMITS = { maxMessageBytes: 512 };
/** A held request is a finding of its own only if it never ends; the generators avoid holding. */
const REQUEST_DEADLINE_MS = 2_000;

async function send(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) });
}

async function settleGroup(url: string): Promise<void> {
  // A group that exists and holds deliveries, so ack/nack bodies get past "no such group".
  for (let n = 0; n < 3; n++) {
    await send(`${url}/v1/topics/fuzz/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: n }),
    });
  }
  await send(`${url}/v1/topics/fuzz/groups/g/claim?member=fuzzer&max=2`, { method: 'POST' });
}

describe('HTTP fuzz, open mode', () => {
  let server: TestServer;
  let heapBefore = 0;
  beforeAll(async () => {
    server = await startServer(memory, LIMITS);
    await settleGroup(server.url);
    globalThis.gc?.();
    heapBefore = process.memoryUsage().heapUsed;
  });
  afterAll(() => server.close());

  it('GET …/messages with arbitrary topics and query strings answers 200 or a contract 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(topicSegment, fetchQuery, async (topic, query) => {
        const where = `GET /v1/topics/${topic}/messages?${query}`;
        const response = await send(`${server.url}/v1/topics/${topic}/messages?${query}`);
        await assertContractAnswer(response, [200], where);
      }),
      { numRuns: 300 },
    );
  });

  it('POST …/messages with arbitrary bodies and content types answers 201 or a contract 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(topicSegment, requestBody, contentType, async (topic, body, type) => {
        const where = `POST /v1/topics/${topic}/messages (${type}) ${String(body).slice(0, 80)}`;
        const response = await send(`${server.url}/v1/topics/${topic}/messages`, {
          method: 'POST',
          headers: type === undefined ? {} : { 'content-type': type },
          body,
        });
        await assertContractAnswer(response, [200, 201], where);
      }),
      { numRuns: 300 },
    );
  });

  it('group create, ack and nack with arbitrary bodies answer 200/201 or a contract 4xx', async () => {
    const action = fc.constantFrom('ack', 'nack', 'ack?member=fuzzer', 'nack?member=a&member=b', '');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant('fuzz'), topicSegment),
        fc.oneof(fc.constant('g'), topicSegment),
        action,
        requestBody,
        contentType,
        async (topic, group, what, body, type) => {
          const path = `/v1/topics/${topic}/groups/${group}${what === '' ? '' : `/${what}`}`;
          const method = what === '' ? 'PUT' : 'POST';
          const response = await send(`${server.url}${path}`, {
            method,
            headers: type === undefined ? {} : { 'content-type': type },
            body,
          });
          await assertContractAnswer(
            response,
            [200, 201],
            `${method} ${path} (${type}) ${String(body).slice(0, 80)}`,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('arbitrary Host headers: only real loopback literals are answered, every other one is a contract 403', async () => {
    const { hostname, port } = new URL(server.url);
    const get = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpRequest({
          host: hostname,
          port,
          path: '/v1/topics',
          setHost: false,
          headers: { host },
        });
        request.on('response', (response) => {
          let body = '';
          response.on('data', (chunk) => {
            body += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on('error', reject);
        request.end();
      });
    await fc.assert(
      fc.asyncProperty(hostHeader, async (host) => {
        const { status, body } = await get(host);
        if (isRealLoopbackHost(host)) {
          expect(status, `Host "${host}"`).toBe(200);
          return;
        }
        // Node itself answers some malformed Host headers with a 400 before routing.
        expect([400, 403], `Host "${host}" → ${status} ${body}`).toContain(status);
        if (status === 403) expect(JSON.parse(body).error.code, `Host "${host}"`).toBe('forbidden');
      }),
      { numRuns: 150 },
    );
  });

  it('is still healthy, serves a normal publish and fetch, and its heap stayed bounded', async () => {
    expect((await send(`${server.url}/healthz`)).status).toBe(200);
    const published = await send(`${server.url}/v1/topics/after-fuzz/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"data":"still here"}',
    });
    expect(published.status).toBe(201);
    const fetched = await send(`${server.url}/v1/topics/after-fuzz/messages?after=0`);
    expect(((await fetched.json()) as { messages: unknown[] }).messages).toHaveLength(1);
    if (globalThis.gc) {
      // Only meaningful after a full collection (node --expose-gc); otherwise responsiveness is the check.
      globalThis.gc();
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    }
  });
});

describe('HTTP fuzz, token mode', () => {
  let server: TestServer;
  let reader: string;
  beforeAll(async () => {
    server = await startTokenServer(LIMITS);
    reader = await mint({ publish: ['fuzz.>'], subscribe: ['fuzz', 'fuzz.*'] });
  });
  afterAll(() => server.close());

  /** Tokens: a valid one, forged ones with arbitrary header and claims, and arbitrary text. */
  const token = fc.oneof(
    fc.constant(undefined),
    fc.constant('valid'),
    fc
      .tuple(fc.jsonValue(), fc.jsonValue(), fc.string())
      .map(([header, payload, signature]) =>
        forge({ alg: 'HS256', ...(typeof header === 'object' ? header : {}) }, { payload }, signature),
      ),
    fc.constantFrom('', 'a.b.c', '..', 'Bearer', forge({ alg: 'none' }, { sub: 'x', exp: 9e9 })),
    fc.string({ maxLength: 200 }),
  );

  it('arbitrary tokens, topics and queries answer success or a contract 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        token,
        fc.boolean(),
        fc.oneof(fc.constantFrom('fuzz', 'fuzz.a', 'other'), topicSegment),
        fc.oneof(
          fetchQuery.map((query) => ({ query })),
          requestBody.map((body) => ({ body })),
        ),
        async (tokenText, inHeader, topic, input) => {
          const jwt = tokenText === 'valid' ? reader : tokenText;
          const tokenQuery = jwt !== undefined && !inHeader ? `token=${encodeURIComponent(jwt)}&` : '';
          const headers: Record<string, string> =
            jwt !== undefined && inHeader
              ? bearer(jwt, { 'content-type': 'application/json' })
              : {
                  'content-type': 'application/json',
                };
          const isPublish = 'body' in input;
          const url = `${server.url}/v1/topics/${topic}/messages?${tokenQuery}${isPublish ? '' : input.query}`;
          const response = await send(
            url,
            isPublish ? { method: 'POST', headers, body: input.body } : { headers },
          );
          await assertContractAnswer(response, [200, 201], `${isPublish ? 'POST' : 'GET'} ${url}`);
        },
      ),
      { numRuns: 300 },
    );
    expect((await send(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('HTTP fuzz, token parameter names under any encoding never reach the logs', () => {
  let server: TestServer;
  let logged = '';
  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    server = await startTokenServer({ ...LIMITS, logger: { level: 'debug', stream } });
  });
  afterAll(() => server.close());

  it('answers a contract status and logs every URL with the token value redacted', async () => {
    const reader = await mint({ subscribe: ['fuzz'] });
    const expired = await mint({ subscribe: ['fuzz'], expiresIn: -120 });
    await fc.assert(
      fc.asyncProperty(
        tokenParamName,
        fc.constantFrom(reader, expired, `${reader}x`),
        fc.constantFrom('/v1/topics/fuzz/messages', '/v1/topics/other/messages', '/v1/nowhere'),
        fc.constantFrom('', 'after=0&', 'a=%zz&'),
        async (name, jwt, path, before) => {
          const url = `${server.url}${path}?${before}${name}=${jwt}`;
          const response = await send(url);
          await assertContractAnswer(response, [200], url);
        },
      ),
      { numRuns: 100 },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(logged).toContain('[REDACTED]');
    for (const jwt of [reader, expired]) expect(logged).not.toContain(jwt.split('.')[2]!);
  });
});
