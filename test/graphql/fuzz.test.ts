/**
 * Fuzz pass over the GraphQL door (fast-check): random documents, variables and bodies over HTTP
 * and random frames over graphql-ws. Every answer is JSON with GraphQL errors that carry a contract
 * code (or a 2xx with data), every socket close uses a documented code, and the server stays up.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { ERROR_CODES } from '../../src/protocol/errors.js';
import { startServer, type TestServer } from '../support/server.js';
import { type Json, wsUrl } from './support.js';

const memory = { name: 'memory', create: () => createMemoryEngine(), cleanup() {} };
let server: TestServer;
let url: string;

beforeAll(async () => {
  server = await startServer(memory);
  url = server.url;
});
afterAll(() => server.close());

const pieces = [
  '{',
  '}',
  '(',
  ')',
  ':',
  '...',
  '$v',
  'query',
  'mutation',
  'subscription',
  'fragment F on Query',
  'topics',
  'topic',
  'messages',
  'publish',
  'job',
  '__schema',
  '__typename',
  'types',
  'fields',
  'ofType',
  'topic: "a"',
  'data: {x: [1, 2]}',
  'after: -1',
  'limit: 99999',
  'a: ',
  '"str"',
  '1e999',
  '@skip(if: true)',
];
const documents = fc.oneof(
  fc.string(),
  fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((parts) => parts.join(' ')),
);
const codes = new Set<string>(ERROR_CODES);

function assertGraphqlAnswer(status: number, body: Json, where: string): void {
  if (![200, 400, 405, 406, 413, 415].includes(status)) throw new Error(`${where}: status ${status}`);
  if (body.error) {
    if (!codes.has(body.error.code)) throw new Error(`${where}: ${JSON.stringify(body)}`);
    return;
  }
  for (const error of body.errors ?? []) {
    if (typeof error.message !== 'string' || !codes.has(error.extensions?.code)) {
      throw new Error(`${where}: error without a contract code: ${JSON.stringify(error)}`);
    }
  }
  if (status === 200 && body.errors === undefined && body.data === undefined)
    throw new Error(`${where}: empty answer`);
}

describe('GraphQL fuzz', () => {
  it('answers random documents and variables over HTTP with coded GraphQL errors', async () => {
    await fc.assert(
      fc.asyncProperty(
        documents,
        fc.option(fc.jsonValue({ maxDepth: 3 })),
        fc.boolean(),
        async (query, variables, strict) => {
          const response = await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              accept: strict ? 'application/graphql-response+json' : '*/*',
            },
            body: JSON.stringify({ query, variables }),
          });
          assertGraphqlAnswer(response.status, await response.json(), `POST ${JSON.stringify(query)}`);
        },
      ),
      { numRuns: 150 },
    );
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('answers random bodies with contract errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (body) => {
        const response = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        assertGraphqlAnswer(response.status, await response.json(), `body ${JSON.stringify(body)}`);
      }),
      { numRuns: 100 },
    );
  });

  it('closes graphql-ws sockets fed random frames with documented codes only', async () => {
    const documented = new Set([1000, 1005, 4400, 4401, 4403, 4406, 4408, 4409, 4429, 4500]);
    const frames = fc.oneof(
      fc.string({ maxLength: 100 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record({
          type: fc.constantFrom('connection_init', 'ping', 'pong', 'subscribe', 'complete', 'next'),
          id: fc.option(fc.string()),
          payload: fc.option(fc.record({ query: documents })),
        })
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frames, { minLength: 1, maxLength: 6 }), async (sent) => {
        const socket = new WebSocket(wsUrl(url), 'graphql-transport-ws');
        const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('open', resolve));
        socket.send(JSON.stringify({ type: 'connection_init' }));
        for (const frame of sent) socket.send(frame);
        const timer = setTimeout(() => socket.close(1000), 300);
        const code = await closed;
        clearTimeout(timer);
        if (!documented.has(code)) throw new Error(`close ${code} after ${JSON.stringify(sent)}`);
      }),
      { numRuns: 30 },
    );
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  }, 30_000);
});
