/**
 * Token mode on every GraphQL door: HTTP `Authorization`, graphql-ws `connectionParams.token`,
 * graphql-sse headers; the same authorize() checks as REST (403 `forbidden` outside the token's
 * topics, system topics read-only even for admins).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mint, startTokenServer } from '../security/support.js';
import type { TestServer } from '../support/server.js';
import { collect, gql, type Json, SUBSCRIBE_MESSAGES, sseClient, wsClient } from './support.js';

let server: TestServer;
let url: string;
const alice = () => mint({ sub: 'alice', publish: ['orders.*'], subscribe: ['orders.*'] });

beforeAll(async () => {
  server = await startTokenServer();
  url = server.url;
});
afterAll(() => server.close());

describe('GraphQL in token mode', () => {
  it('HTTP: 401 without a token, data with one, forbidden outside its topics', async () => {
    const none = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ topics { topic } }' }),
    });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const getNone = await fetch(`${url}/graphql?query=${encodeURIComponent('{ topics { topic } }')}`);
    expect(getNone.status).toBe(401);

    const auth = { authorization: `Bearer ${await alice()}` };
    const ok = await gql(
      url,
      'mutation { publish(topic: "orders.eu", data: 1) { offset } }',
      undefined,
      auth,
    );
    expect(ok.body).toEqual({ data: { publish: { offset: 1 } } });
    const other = await gql(
      url,
      'mutation { publish(topic: "billing", data: 1) { offset } }',
      undefined,
      auth,
    );
    expect(other.body.errors[0].extensions.code).toBe('forbidden');
    const read = await gql(url, '{ messages(topic: "billing") { next } }', undefined, auth);
    expect(read.body.errors[0].extensions.code).toBe('forbidden');
    const list = await gql(url, '{ topics { topic } }', undefined, auth);
    expect(list.body.data.topics).toEqual([{ topic: 'orders.eu' }]);
  });

  it('HTTP: even an admin cannot publish to a system topic', async () => {
    const admin = { authorization: `Bearer ${await mint({ admin: true })}` };
    const answer = await gql(
      url,
      'mutation { publish(topic: "orders.presence", data: 1) { offset } }',
      undefined,
      admin,
    );
    expect(answer.body.errors[0].extensions.code).toBe('forbidden');
  });

  it('graphql-ws: closes 4401 without a token; connectionParams.token subscribes; forbidden topics are refused', async () => {
    const anonymous = wsClient(url);
    const refused = collect((sink) =>
      anonymous.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: 'orders.eu' } }, sink),
    );
    await refused.ended();
    expect((refused.error as { code: number }).code).toBe(4401);
    expect((refused.error as { reason: string }).reason).toContain('unauthorized');
    await anonymous.dispose();

    const client = wsClient(url, { token: await alice() });
    const sub = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: 'orders.ws', after: 0 } }, sink),
    );
    const published = await gql(
      url,
      'mutation { publish(topic: "orders.ws", data: "hi") { offset } }',
      undefined,
      {
        authorization: `Bearer ${await alice()}`,
      },
    );
    expect(published.body.data.publish.offset).toBe(1);
    await sub.until(1);
    expect(sub.results[0].data.messages).toMatchObject({ offset: 1, data: 'hi' });

    const forbidden = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: 'billing' } }, sink),
    );
    await forbidden.ended();
    expect(forbidden.results[0].errors[0].extensions.code).toBe('forbidden');
    await client.dispose();
  });

  it('graphql-ws: ends a subscription when its token expires', async () => {
    // exp 28 s ago: still valid within the 30 s clock leeway, for about 2 s more.
    const client = wsClient(url, { token: await mint({ subscribe: ['orders.*'], expiresIn: -28 }) });
    const sub = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: 'orders.exp' } }, sink),
    );
    await sub.ended(8_000);
    expect(sub.results.at(-1).errors[0].extensions.code).toBe('unauthorized');
    await client.dispose();
  }, 15_000);

  it('graphql-sse: the Authorization header authenticates the stream', async () => {
    const anonymous = await fetch(`${url}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: SUBSCRIBE_MESSAGES, variables: { topic: 'orders.sse' } }),
    });
    expect(anonymous.status).toBe(401);
    const client = sseClient(url, { authorization: `Bearer ${await alice()}` });
    const sub = collect((sink) =>
      client.subscribe({ query: SUBSCRIBE_MESSAGES, variables: { topic: 'orders.sse', after: 0 } }, sink),
    );
    await gql(url, 'mutation { publish(topic: "orders.sse", data: 2) { offset } }', undefined, {
      authorization: `Bearer ${await alice()}`,
    });
    await sub.until(1);
    expect((sub.results[0] as Json).data.messages.data).toBe(2);
    sub.unsubscribe();
    client.dispose();
  });
});
