/**
 * The OpenAPI document: valid per an independent validator, the same set of routes fastify serves,
 * and real answers matching their documented schemas.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_STATUS } from '../../src/protocol/errors.js';
import { describedErrorStatuses } from '../../src/server/openapi/document.js';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

type Doc = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
  components: { schemas: Record<string, unknown> };
};

const memory = ENGINE_FIXTURES.find((f) => f.name === 'memory')!.fixture();
let server: TestServer;
let doc: Doc;

beforeAll(async () => {
  server = await startServer(memory);
  doc = (await json(await fetch(`${server.url}/openapi.json`))) as Doc;
});
afterAll(() => server.close());

const toOpenApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}').replace(/\/$/, '') || '/';

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document (swagger-parser)', async () => {
    const copy = structuredClone(doc);
    const api = (await SwaggerParser.validate(copy as never)) as { openapi: string };
    expect(api.openapi).toBe('3.1.0');
  });

  it('describes exactly the routes the server registered', () => {
    const served = new Set(
      server.server.routes
        .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && !r.url.includes('*'))
        .map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.url)}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([, operation]) => !(operation as Record<string, unknown>)['x-websocket-upgrade'])
          .map(([method]) => `${method} ${path}`),
      ),
    );
    const missing = [...served].filter((r) => !documented.has(r));
    const extra = [...documented].filter((r) => !served.has(r));
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
  });

  it('can describe every contract error code', () => {
    const statuses = new Set(describedErrorStatuses());
    for (const code of ERROR_CODES) expect(statuses.has(ERROR_STATUS[code]), code).toBe(true);
  });
});

describe('answers match their documented schemas', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const check = async (method: string, path: string, response: Response): Promise<unknown> => {
    const body = response.status === 204 ? undefined : await json(response);
    const operation = doc.paths[path]?.[method];
    expect(operation, `${method} ${path} is documented`).toBeDefined();
    const documented = operation!.responses[String(response.status)];
    expect(documented, `${method} ${path} documents status ${response.status}`).toBeDefined();
    const schema = documented!.content?.['application/json']?.schema;
    if (schema === undefined) return body;
    const validate = ajv.compile({ ...(schema as object), components: doc.components });
    const ok = validate(body);
    expect(ok, `${method} ${path} ${response.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    return body;
  };

  it('messages, topics, groups, jobs, webhooks and errors', async () => {
    const base = server.url;
    const T = '/v1/topics/{topic}';
    await check('post', `${T}/messages`, await post(`${base}/v1/topics/docs.a/messages`, { data: { n: 1 } }));
    await check(
      'post',
      `${T}/messages`,
      await post(`${base}/v1/topics/docs.a/messages`, 'plain', 'text/plain'),
    );
    await check('get', `${T}/messages`, await fetch(`${base}/v1/topics/docs.a/messages?after=0`));
    await check('get', `${T}/messages`, await fetch(`${base}/v1/topics/docs.a/messages?after=x`));
    await check('get', '/v1/topics', await fetch(`${base}/v1/topics`));
    await check('get', T, await fetch(`${base}/v1/topics/docs.a`));
    await check('get', T, await fetch(`${base}/v1/topics/docs.none`));
    await check('post', `${T}/messages`, await post(`${base}/v1/topics/jobs.x/messages`, { data: 1 }));

    const G = `${T}/groups/{group}`;
    await check('put', G, await fetch(`${base}/v1/topics/docs.a/groups/g1`, { method: 'PUT' }));
    const claimed = (await check(
      'post',
      `${G}/claim`,
      await fetch(`${base}/v1/topics/docs.a/groups/g1/claim?max=1&member=m`, { method: 'POST' }),
    )) as { messages: { offset: number }[] };
    expect(claimed.messages).toHaveLength(1);
    const offsets = claimed.messages.map((m) => m.offset);
    await check(
      'post',
      `${G}/ack`,
      await post(`${base}/v1/topics/docs.a/groups/g1/ack`, { offsets, member: 'm' }),
    );
    await check(
      'post',
      `${G}/nack`,
      await post(`${base}/v1/topics/docs.a/groups/g1/nack`, { offsets: [999] }),
    );
    await check('get', G, await fetch(`${base}/v1/topics/docs.a/groups/g1`));
    await check('get', `${T}/groups`, await fetch(`${base}/v1/topics/docs.a/groups`));

    const submitted = (await check(
      'post',
      '/v1/queues/{queue}/jobs',
      await post(`${base}/v1/queues/docs/jobs`, { payload: { x: 1 } }),
    )) as { id: string };
    await check('get', '/v1/jobs/{id}', await fetch(`${base}/v1/jobs/${submitted.id}`));
    const claim = (await check(
      'post',
      '/v1/queues/{queue}/claim',
      await fetch(`${base}/v1/queues/docs/claim`, { method: 'POST' }),
    )) as { lease: string };
    await check(
      'post',
      '/v1/jobs/{id}/progress',
      await post(`${base}/v1/jobs/${submitted.id}/progress`, { lease: claim.lease, progress: 50 }),
    );
    await check(
      'post',
      '/v1/jobs/{id}/complete',
      await post(`${base}/v1/jobs/${submitted.id}/complete`, { lease: claim.lease, result: 'ok' }),
    );
    await check(
      'post',
      '/v1/jobs/{id}/fail',
      await post(`${base}/v1/jobs/${submitted.id}/fail`, { lease: claim.lease, error: 'late' }),
    );
    await check('get', '/v1/jobs/{id}', await fetch(`${base}/v1/jobs/job_doesnotexist`));
    const { queues } = (await check('get', '/v1/queues', await fetch(`${base}/v1/queues`))) as {
      queues: { queue: string; counts: Record<string, number> }[];
    };
    expect(queues.find((q) => q.queue === 'docs')?.counts.succeeded).toBe(1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('switchboard_jobs{queue="docs",state="succeeded"} 1');

    await check('get', '/v1/webhooks', await fetch(`${base}/v1/webhooks`));
    await check(
      'post',
      `${T}/webhooks`,
      await post(`${base}/v1/topics/docs.a/webhooks`, { url: 'not a url' }),
    );
    // The second wave: delayed delivery, request-reply, presence, Web Push, GraphQL over HTTP.
    const scheduled = (await check(
      'post',
      `${T}/messages`,
      await post(`${base}/v1/topics/docs.later/messages`, { data: 1, delayMs: 600_000 }),
    )) as { scheduled: string };
    await check('get', '/v1/scheduled', await fetch(`${base}/v1/scheduled?topic=docs.later`));
    await check('get', '/v1/scheduled/{id}', await fetch(`${base}/v1/scheduled/${scheduled.scheduled}`));
    await check(
      'delete',
      '/v1/scheduled/{id}',
      await fetch(`${base}/v1/scheduled/${scheduled.scheduled}`, { method: 'DELETE' }),
    );
    await check(
      'post',
      `${T}/requests`,
      await post(`${base}/v1/topics/docs.rpc/requests?timeout=1`, { data: 1 }),
    );
    await check('post', '/v1/replies/{replyTo}', await post(`${base}/v1/replies/_inbox.nobody`, { data: 1 }));
    await check('get', `${T}/presence`, await fetch(`${base}/v1/topics/docs.a/presence`));
    await check('get', '/v1/push/vapid-public-key', await fetch(`${base}/v1/push/vapid-public-key`));
    await check(
      'post',
      `${T}/push-subscriptions`,
      await post(`${base}/v1/topics/docs.a/push-subscriptions`, { subscription: {} }),
    );
    await check('get', '/v1/push-subscriptions/{id}', await fetch(`${base}/v1/push-subscriptions/push_none`));
    await check('post', '/graphql', await post(`${base}/graphql`, { query: '{ topics { topic } }' }));
    await check('post', '/graphql', await post(`${base}/graphql`, { query: '{ nope ' }));
    await check('get', '/healthz', await fetch(`${base}/healthz`));
    await check('get', '/readyz', await fetch(`${base}/readyz`));
    await check('delete', T, await fetch(`${base}/v1/topics/docs.a`, { method: 'DELETE' }));
  });
});
