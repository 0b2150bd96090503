/**
 * GraphQL over WebSocket with the real graphql-ws client (and `ws` as its WebSocket): the same log
 * as REST and the /v1/ws door, resume by `after` with Gap and Reset, jobs followed to their end,
 * and the protocol's failure closes (no connection_init, floods, wrong subprotocol).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { collect, type Json, restPublish, SUBSCRIBE_MESSAGES, wsClient, wsUrl } from './support.js';

const memory = { name: 'memory', create: () => createMemoryEngine(), cleanup() {} };
let server: TestServer;
let url: string;
const topic = (prefix = 'w') => `${prefix}-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  server = await startServer(memory, {
    wsControlOpsPerSecond: 20,
    retention: { maxCount: 10_000, maxAgeMs: 3_600_000, rules: [{ pattern: 'short.>', maxCount: 3 }] },
  });
  url = server.url;
});
afterAll(() => server.close());

const payloads = (results: Json[]) => results.map((r) => r.data.messages);

describe('GraphQL subscriptions over graphql-ws', () => {
  it('replays from after, then delivers live messages published over REST', async () => {
    const t = topic();
    await restPublish(url, t, 'one');
    await restPublish(url, t, 'two');
    const client = wsClient(url);
    const sub = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: t, after: 0 } }, sink),
    );
    await sub.until(2);
    await restPublish(url, t, { three: 3 });
    await sub.until(3);
    expect(payloads(sub.results)).toEqual([
      { __typename: 'Message', topic: t, offset: 1, event: null, data: 'one' },
      { __typename: 'Message', topic: t, offset: 2, event: null, data: 'two' },
      { __typename: 'Message', topic: t, offset: 3, event: null, data: { three: 3 } },
    ]);
    sub.unsubscribe();
    await client.dispose();
  });

  it('resumes after the last offset received, with no gap and no duplicate', async () => {
    const t = topic();
    for (let i = 1; i <= 5; i++) await restPublish(url, t, i);
    const client = wsClient(url);
    const sub = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: t, after: 3 } }, sink),
    );
    await sub.until(2);
    expect(payloads(sub.results).map((m) => m.offset)).toEqual([4, 5]);
    await client.dispose();
  });

  it('without after, starts live', async () => {
    const t = topic();
    await restPublish(url, t, 'old');
    const client = wsClient(url);
    const sub = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: t } }, sink),
    );
    await new Promise((r) => setTimeout(r, 200)); // the subscription is registered
    await restPublish(url, t, 'new');
    await sub.until(1);
    expect(payloads(sub.results)).toEqual([
      { __typename: 'Message', topic: t, offset: 2, event: null, data: 'new' },
    ]);
    await client.dispose();
  });

  it('says Gap when retention removed unread messages, and Reset for a cursor past the log', async () => {
    const t = `short.${randomUUID().slice(0, 8)}`;
    for (let i = 1; i <= 6; i++) await restPublish(url, t, i);
    const client = wsClient(url);
    const gap = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: t, after: 1 } }, sink),
    );
    await gap.until(4);
    await new Promise((r) => setTimeout(r, 100)); // nothing more comes
    expect(payloads(gap.results)).toEqual([
      { __typename: 'Gap', after: 1, next: 3 },
      { __typename: 'Message', topic: t, offset: 4, event: null, data: 4 },
      { __typename: 'Message', topic: t, offset: 5, event: null, data: 5 },
      { __typename: 'Message', topic: t, offset: 6, event: null, data: 6 },
    ]);
    const reset = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: t, after: 99 } }, sink),
    );
    await reset.until(1);
    expect(payloads(reset.results)[0]).toMatchObject({ __typename: 'Reset', last: 6 });
    await client.dispose();
  });

  it('a mutation over graphql-ws reaches a subscriber of the /v1/ws door', async () => {
    const t = topic();
    const plain = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`);
    const frames: Json[] = [];
    plain.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise((resolve) => plain.once('open', resolve));
    plain.send(JSON.stringify({ op: 'subscribe', id: 1, topic: t }));
    await expect.poll(() => frames.some((f) => f.op === 'reply' && f.id === 1)).toBe(true);

    const client = wsClient(url);
    const answer = await new Promise<Json>((resolve, reject) => {
      let result: Json;
      client.subscribe(
        {
          query:
            'mutation ($t: String!) { publish(topic: $t, data: {via: "graphql"}, event: "gql") { offset } }',
          variables: { t },
        },
        { next: (value) => (result = value), error: reject, complete: () => resolve(result) },
      );
    });
    expect(answer).toEqual({ data: { publish: { offset: 1 } } });
    await expect
      .poll(() => frames.find((f) => f.op === 'message'))
      .toMatchObject({
        op: 'message',
        topic: t,
        offset: 1,
        event: 'gql',
        data: { via: 'graphql' },
      });
    plain.close();
    await client.dispose();
  });

  it('follows a job to its terminal state, then completes', async () => {
    const client = wsClient(url);
    const queue = topic('q');
    const submit = await fetch(`${url}/v1/queues/${queue}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: { n: 1 } }),
    });
    const { id } = (await submit.json()) as { id: string };
    const sub = collect((sink) =>
      client.subscribe(
        {
          query: 'subscription ($id: ID!) { job(id: $id) { id status progress result } }',
          variables: { id },
        },
        sink,
      ),
    );
    await sub.until(1);
    const claim = await (await fetch(`${url}/v1/queues/${queue}/claim?wait=1`, { method: 'POST' })).json();
    const lease = (claim as { lease: string }).lease;
    await fetch(`${url}/v1/jobs/${id}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lease, result: { ok: true } }),
    });
    await sub.ended();
    expect(sub.completed).toBe(true);
    const statuses = sub.results.map((r: Json) => r.data.job.status);
    expect(statuses[0]).toBe('queued');
    expect(statuses.at(-1)).toBe('succeeded');
    expect(statuses).toContain('running');
    expect(sub.results.at(-1).data.job.result).toEqual({ ok: true });
    await client.dispose();
  });

  it('reports validation errors and forbidden publishes with contract codes', async () => {
    const client = wsClient(url);
    const bad = collect((sink) =>
      client.subscribe({ query: 'subscription { messages(topic: "x") { nope } }' }, sink),
    );
    await bad.ended();
    expect((bad.error as Json[])[0]).toMatchObject({ extensions: { code: 'bad_request' } });
    const forbidden = collect((sink) =>
      client.subscribe({ query: 'mutation { publish(topic: "jobs.mail", data: 1) { offset } }' }, sink),
    );
    await forbidden.ended();
    expect(forbidden.results[0].errors[0].extensions).toMatchObject({ code: 'forbidden', status: 403 });
    await client.dispose();
  });
});

describe('graphql-ws protocol failures', () => {
  const open = async (protocol: string | null = 'graphql-transport-ws') => {
    const socket = new WebSocket(wsUrl(url), protocol === null ? [] : [protocol]);
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return { socket, closed };
  };

  it('closes 4408 when connection_init never comes', async () => {
    const { closed } = await open();
    expect(await closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
  });

  it('closes 4400 on a malformed message, and 4406 without the graphql-transport-ws subprotocol', async () => {
    const first = await open();
    first.socket.send('{not json');
    expect((await first.closed).code).toBe(4400);
    const other = await open(null);
    expect((await other.closed).code).toBe(4406);
  });

  it('closes 4429 on a message flood, and the server stays up', async () => {
    const { socket, closed } = await open();
    socket.send(JSON.stringify({ type: 'connection_init' }));
    for (let i = 0; i < 200; i++) socket.send(JSON.stringify({ type: 'ping' }));
    const result = await closed;
    expect(result.code).toBe(4429);
    expect(result.reason).toContain('too many messages');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('refuses more operations than maxTopicsPerConnection on one socket', async () => {
    const client = wsClient(url);
    const t = topic();
    const limit = server.server.config.maxTopicsPerConnection;
    const subs = [];
    for (let i = 0; i <= limit; i++) {
      subs.push(
        collect((sink) => client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: t } }, sink)),
      );
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 600)); // within the 20/s message rate
    }
    await subs[limit]!.ended();
    expect((subs[limit]!.error as Json[])[0].message).toContain(`at most ${limit} operations`);
    await client.dispose();
  }, 20_000);
});
