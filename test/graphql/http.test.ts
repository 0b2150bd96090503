/**
 * GraphQL over HTTP with plain fetch: queries and mutations on the same log as REST, the spec's
 * media types and status codes, and bad input answered with GraphQL errors carrying contract codes.
 */
import { randomUUID } from 'node:crypto';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { gql, RESPONSE_TYPE, restPublish } from './support.js';

const memory = { name: 'memory', create: () => createMemoryEngine(), cleanup() {} };
let server: TestServer;
let url: string;
const topic = () => `g-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  server = await startServer(memory);
  url = server.url;
});
afterAll(() => server.close());

describe('GraphQL over HTTP', () => {
  it('publishes with a mutation and reads the same log over REST and GraphQL', async () => {
    const t = topic();
    const published = await gql(
      url,
      'mutation ($t: String!) { publish(topic: $t, data: {n: 1, s: "x"}, event: "made") { topic offset duplicate } }',
      { t },
    );
    expect(published.status).toBe(200);
    expect(published.type).toContain(RESPONSE_TYPE);
    expect(published.body).toEqual({ data: { publish: { topic: t, offset: 1, duplicate: false } } });
    await restPublish(url, t, [1, 2]);

    const rest = await (await fetch(`${url}/v1/topics/${t}/messages`)).json();
    expect(rest.messages.map((m: { data: unknown }) => m.data)).toEqual([{ n: 1, s: 'x' }, [1, 2]]);

    const read = await gql(
      url,
      'query ($t: String!) { messages(topic: $t, after: 0) { messages { offset event data } next last gap } }',
      { t },
    );
    expect(read.body.data.messages).toEqual({
      messages: [
        { offset: 1, event: 'made', data: { n: 1, s: 'x' } },
        { offset: 2, event: null, data: [1, 2] },
      ],
      next: 2,
      last: 2,
      gap: false,
    });
  });

  it('answers a repeated idempotencyKey with the original offset and duplicate: true', async () => {
    const t = topic();
    const q =
      'mutation ($t: String!) { publish(topic: $t, data: 1, idempotencyKey: "k1") { offset duplicate } }';
    expect((await gql(url, q, { t })).body.data.publish).toEqual({ offset: 1, duplicate: false });
    expect((await gql(url, q, { t })).body.data.publish).toEqual({ offset: 1, duplicate: true });
  });

  it('runs queries over GET and refuses mutations there with 405', async () => {
    const t = topic();
    await restPublish(url, t, 'hello');
    const query = encodeURIComponent(`{ topic(topic: "${t}") { topic last count } }`);
    const response = await fetch(`${url}/graphql?query=${query}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual({ data: { topic: { topic: t, last: 1, count: 1 } } });

    const mutation = encodeURIComponent('mutation { publish(topic: "x", data: 1) { offset } }');
    const refused = await fetch(`${url}/graphql?query=${mutation}`);
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('POST');
    expect((await refused.json()).errors[0].extensions.code).toBe('bad_request');
  });

  it('refuses a publish to a system topic with forbidden', async () => {
    const answer = await gql(url, 'mutation { publish(topic: "orders.dead-letter", data: 1) { offset } }');
    expect(answer.status).toBe(200);
    expect(answer.body.data).toBeNull();
    expect(answer.body.errors[0].extensions).toMatchObject({ code: 'forbidden', status: 403 });
    expect(answer.body.errors[0].message).toContain('system topics');
    expect(answer.body.errors[0].path).toEqual(['publish']);
  });

  it('submits a job and reads it back', async () => {
    const submitted = await gql(
      url,
      'mutation { submitJob(queue: "mail", payload: {to: "a"}) { id queue status created } }',
    );
    expect(submitted.body.data.submitJob).toMatchObject({ queue: 'mail', status: 'queued', created: true });
    const id = submitted.body.data.submitJob.id;
    const job = await gql(url, 'query ($id: ID!) { job(id: $id) { id status progress attempts result } }', {
      id,
    });
    expect(job.body.data.job).toEqual({ id, status: 'queued', progress: 0, attempts: 0, result: null });
    const missing = await gql(url, '{ job(id: "job_AAAAAAAAAAAAAAAAAAAAAA") { id } }');
    expect(missing.body).toEqual({ data: { job: null } });
  });

  it('lists topics and answers null for a missing one', async () => {
    const t = topic();
    await restPublish(url, t, 1);
    const answer = await gql(url, `{ topics { topic last } missing: topic(topic: "${topic()}") { topic } }`);
    expect(answer.body.data.topics).toContainEqual({ topic: t, last: 1 });
    expect(answer.body.data.missing).toBeNull();
  });

  it('serves the standard introspection query', async () => {
    const answer = await gql(url, getIntrospectionQuery());
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    const names = answer.body.data.__schema.types.map((t: { name: string }) => t.name);
    expect(names).toEqual(expect.arrayContaining(['Message', 'Gap', 'Reset', 'MessageEvent', 'JSON', 'Job']));
  });

  it('shows browsers a page that says how to query, and the SDL', async () => {
    const page = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('graphql-transport-ws');
    const sdl = await fetch(`${url}/graphql/schema.graphql`);
    expect(await sdl.text()).toContain('union MessageEvent = Message | Gap | Reset');
  });
});

describe('GraphQL over HTTP - bad input', () => {
  it('a syntax error is a 400 with application/graphql-response+json, a 200 with application/json', async () => {
    const strict = await gql(url, '{ topics { topic ');
    expect(strict.status).toBe(400);
    expect(strict.body.errors[0].message).toMatch(/^Syntax Error/);
    expect(strict.body.errors[0].extensions.code).toBe('bad_request');
    expect(strict.body.errors[0].locations).toEqual([{ line: 1, column: 18 }]);
    const legacy = await gql(url, '{ topics { topic ', undefined, { accept: 'application/json' });
    expect(legacy.status).toBe(200);
    expect(legacy.type).toContain('application/json');
    expect(legacy.body.errors[0].extensions.code).toBe('bad_request');
  });

  it('unknown fields and wrong variable types are validation errors with bad_request', async () => {
    const unknown = await gql(url, '{ topics { nope } }');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].message).toBe('Cannot query field "nope" on type "Topic".');
    expect(unknown.body.errors[0].extensions.code).toBe('bad_request');
    const wrongType = await gql(url, 'query ($t: String!) { topic(topic: $t) { topic } }', { t: 42 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.data).toBeUndefined();
    expect(wrongType.body.errors[0].message).toContain('String cannot represent a non string value');
    expect(wrongType.body.errors[0].extensions.code).toBe('bad_request');
  });

  it('a bad topic name or limit is a field error naming the rule', async () => {
    const answer = await gql(url, '{ messages(topic: "no spaces", limit: 5000) { next } }');
    expect(answer.body.errors[0].extensions.code).toBe('bad_request');
    expect(answer.body.errors[0].message).toMatch(/topic/);
    const limit = await gql(url, '{ messages(topic: "ok", limit: 5000) { next } }');
    expect(limit.body.errors[0].message).toBe('limit must be a whole number from 1 to 1000');
  });

  it('refuses 1,000 aliases, over-deep queries and too many fields', async () => {
    const aliases = `{ ${Array.from({ length: 1_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const wide = await gql(url, aliases);
    expect(wide.status).toBe(400);
    expect(wide.body.errors).toEqual([
      {
        message: 'the document has 1000 aliases; at most 30 are allowed: send several requests instead',
        extensions: { code: 'bad_request', status: 400 },
      },
    ]);
    let deep = 'name';
    for (let i = 0; i < 20; i++) deep = `ofType { ${deep} }`;
    const over = await gql(url, `{ __schema { types { fields { type { ${deep} } } } } }`);
    expect(over.status).toBe(400);
    expect(over.body.errors[0].message).toBe(
      'the query is nested deeper than 15 levels; ask for less at once',
    );
    const fragments = `{ ...A } fragment A on Query { ${Array.from({ length: 9 }, () => '...B').join(' ')} topics { topic } }
      fragment B on Query { ${Array.from({ length: 9 }, () => '...C').join(' ')} }
      fragment C on Query { ${Array.from({ length: 9 }, () => '...D').join(' ')} }
      fragment D on Query { topics { topic count last first epoch } }`;
    const bomb = await gql(url, fragments);
    expect(bomb.status).toBe(400);
    expect(bomb.body.errors[0].message).toContain('more than 1000 fields');
  });

  it('stops parsing documents with too many tokens', async () => {
    const long = `{ ${'topics { topic } '.repeat(2_000)} }`;
    const answer = await gql(url, long);
    expect(answer.status).toBe(400);
    expect(answer.body.errors[0].message).toMatch(
      /^Syntax Error: Document contains more tha[nt] 5000 tokens/,
    );
  });

  it('answers request-shape errors with 400 and a GraphQL error', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const notJson = await post('{"query": ');
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).errors[0].extensions.code).toBe('bad_request');
    const noQuery = await post('{"variables": {}}');
    expect(noQuery.status).toBe(200); // application/json (no Accept): document errors are 200
    expect((await noQuery.json()).errors[0].message).toBe(
      'send the GraphQL document as a non-empty string in "query"',
    );
    const arrayVariables = await post('{"query": "{ topics { topic } }", "variables": [1]}', {
      accept: RESPONSE_TYPE,
    });
    expect(arrayVariables.status).toBe(400);
    const unacceptable = await post('{"query": "{ topics { topic } }"}', { accept: 'text/csv' });
    expect(unacceptable.status).toBe(406);
    const wrongType = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<q/>',
    });
    expect(wrongType.status).toBe(415);
  });

  it('refuses huge variables with 413 and data nested too deep with bad_request', async () => {
    const huge = await gql(url, 'mutation ($d: JSON) { publish(topic: "big", data: $d) { offset } }', {
      d: 'x'.repeat(2_000_000),
    });
    expect(huge.status).toBe(413);
    let nested: unknown = 1;
    for (let i = 0; i < 70; i++) nested = [nested];
    const deep = await gql(url, 'mutation ($d: JSON) { publish(topic: "deep", data: $d) { offset } }', {
      d: nested,
    });
    expect(deep.status).toBe(400);
    expect(deep.body.errors[0].extensions.code).toBe('bad_request');
    const tooBig = await gql(url, 'mutation ($d: JSON) { publish(topic: "big", data: $d) { offset } }', {
      d: 'x'.repeat(70_000),
    });
    expect(tooBig.body.errors[0].extensions.code).toBe('payload_too_large');
  });
});
