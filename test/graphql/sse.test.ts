/**
 * GraphQL subscriptions over SSE with the real graphql-sse client (distinct connections mode):
 * messages published over REST arrive, a mutation reaches the plain SSE door, and bad requests
 * get clear answers.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { collect, type Json, restPublish, SUBSCRIBE_MESSAGES, sseClient } from './support.js';

const memory = { name: 'memory', create: () => createMemoryEngine(), cleanup() {} };
let server: TestServer;
let url: string;
const topic = () => `s-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  server = await startServer(memory);
  url = server.url;
});
afterAll(() => server.close());

describe('GraphQL subscriptions over graphql-sse', () => {
  it('replays and then streams messages published over REST', async () => {
    const t = topic();
    await restPublish(url, t, { n: 1 });
    const client = sseClient(url);
    const sub = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: t, after: 0 } }, sink),
    );
    await sub.until(1);
    await restPublish(url, t, { n: 2 });
    await sub.until(2);
    expect(sub.results.map((r: Json) => r.data.messages)).toEqual([
      { __typename: 'Message', topic: t, offset: 1, event: null, data: { n: 1 } },
      { __typename: 'Message', topic: t, offset: 2, event: null, data: { n: 2 } },
    ]);
    sub.unsubscribe();
    client.dispose();
  });

  it('a mutation over graphql-sse reaches a subscriber of the plain SSE door', async () => {
    const t = topic();
    const controller = new AbortController();
    const stream = await fetch(`${url}/v1/topics/${t}/events?after=0`, { signal: controller.signal });
    const reader = stream.body!.getReader();
    let text = '';
    const client = sseClient(url);
    const answer = await new Promise<Json>((resolve, reject) => {
      let result: Json;
      client.subscribe(
        {
          query: 'mutation ($t: String!) { publish(topic: $t, data: "via sse", event: "e1") { offset } }',
          variables: { t },
        },
        { next: (value) => (result = value), error: reject, complete: () => resolve(result) },
      );
    });
    expect(answer).toEqual({ data: { publish: { offset: 1 } } });
    while (!text.includes('"offset":1')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(`id: 1\nevent: e1\ndata: {"topic":"${t}","offset":1`);
    expect(text).toContain('"data":"via sse"');
    controller.abort();
    client.dispose();
  });

  it('answers an invalid document with 400 and a coded error, and a request without the event-stream Accept with 406', async () => {
    const bad = await fetch(`${url}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { messages(topic: "x") { nope } }' }),
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).errors[0]).toMatchObject({ extensions: { code: 'bad_request' } });
    const plain = await fetch(`${url}/graphql/stream?query=${encodeURIComponent('{ topics { topic } }')}`);
    expect(plain.status).toBe(406);
    expect((await plain.json()).errors[0].message).toContain('text/event-stream');
  });

  it('counts the stream in the metrics and presence as transport="graphql"', async () => {
    const t = topic();
    const client = sseClient(url);
    const sub = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: t, after: 0 } }, sink),
    );
    await restPublish(url, t, 1);
    await sub.until(1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/transport="graphql"\} 1/);
    const presence = await (await fetch(`${url}/v1/topics/${t}/presence`)).json();
    expect(presence.clients.map((c: Json) => c.transport)).toEqual(['graphql']);
    sub.unsubscribe();
    client.dispose();
  });
});
