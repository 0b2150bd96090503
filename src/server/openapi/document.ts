/**
 * The OpenAPI 3.1 document (`GET /openapi.json`), built once from `operations.ts` and `schemas.ts`.
 */
import { OPERATIONS, type Operation } from './operations.js';
import { SCHEMAS, TOPIC_PATTERN } from './schemas.js';

const ALWAYS_POSSIBLE = [401, 403, 429, 503];
const STATUS_TEXT: Record<number, string> = {
  400: 'bad request: the message says which field and rule',
  401: 'no valid token (token mode)',
  403: 'outside the token’s topics, an admin route, a foreign Origin, or a system topic',
  404: 'not found',
  405: 'method not allowed (a mutation over GET)',
  406: 'none of the accepted media types can be answered',
  408: 'the request body did not arrive in time',
  409: 'conflict: a stale lease, a second reply, an offset not held',
  413: 'too large: message, batch or body',
  415: 'unsupported content type',
  429: 'rate limited: retry after Retry-After seconds',
  503: 'unavailable: the engine cannot serve, or the server is shutting down',
  504: 'timeout',
  507: 'storage cap reached',
};

const pathParamSchema = (name: string): Record<string, unknown> =>
  name === 'topic' || name === 'queue'
    ? { type: 'string', pattern: TOPIC_PATTERN }
    : { type: 'string', minLength: 1, maxLength: 600 };

function parameters(operation: Operation): unknown[] {
  const fromPath = [...operation.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: pathParamSchema(name!),
  }));
  const fromQuery = (operation.query ?? []).map((q) => ({
    name: q.name,
    in: 'query',
    description: q.description,
    required: q.required ?? false,
    schema: q.repeated ? { type: 'array', items: q.schema } : q.schema,
    ...(q.repeated ? { style: 'form', explode: true } : {}),
  }));
  return [...fromPath, ...fromQuery];
}

function requestBody(operation: Operation): unknown {
  const body = operation.body;
  if (!body) return undefined;
  const single = { $ref: `#/components/schemas/${body.schema}` };
  const json = body.arrayOf ? { oneOf: [single, { type: 'array', items: single, maxItems: 1000 }] } : single;
  return {
    required: body.required ?? false,
    content: {
      'application/json': { schema: json },
      ...(body.text ? { 'text/plain': { schema: { type: 'string' } } } : {}),
    },
  };
}

function responses(operation: Operation): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(operation.answers)) {
    const content = answer.schema
      ? { 'application/json': { schema: { $ref: `#/components/schemas/${answer.schema}` } } }
      : answer.mediaType
        ? { [answer.mediaType]: { schema: { type: 'string' } } }
        : undefined;
    out[status] = {
      description: answer.description,
      ...(content ? { content } : {}),
      ...(answer.headers
        ? { headers: Object.fromEntries(answer.headers.map((h) => [h, { schema: { type: 'string' } }])) }
        : {}),
    };
  }
  const errors = new Set([...operation.errors, ...(operation.open ? [] : ALWAYS_POSSIBLE)]);
  for (const status of [...errors].sort()) {
    out[String(status)] = {
      description: STATUS_TEXT[status] ?? 'error',
      ...(status === 429 ? { headers: { 'Retry-After': { schema: { type: 'integer' } } } } : {}),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return out;
}

export function operationId(operation: Operation): string {
  const words = operation.path
    .split('/')
    .filter((part) => part && part !== 'v1')
    .map((part) => part.replace(/[{}.]/g, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase()));
  const name = words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('');
  return `${operation.method}${name.charAt(0).toUpperCase()}${name.slice(1)}` || operation.method;
}

let cached: string | undefined;

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of OPERATIONS) {
    paths[operation.path] ??= {};
    const item = paths[operation.path]!;
    item[operation.method] = {
      operationId: operationId(operation),
      summary: operation.summary,
      tags: [operation.tag],
      parameters: parameters(operation),
      ...(operation.body ? { requestBody: requestBody(operation) } : {}),
      responses: responses(operation),
      ...(operation.open ? { security: [] } : {}),
      ...(operation.upgrade ? { 'x-websocket-upgrade': true } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchboard HTTP API',
      version,
      description:
        'One durable, ordered log per topic, reached through request-response, polling, long polling, Server-Sent Events, WebSocket, consumer groups, jobs, webhooks and more. Errors are {"error":{"code","message"}} with the codes listed in the Error schema.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, {}],
    tags: [...new Set(OPERATIONS.map((o) => o.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'token mode only; open mode needs none. EventSource/WebSocket may send ?token=.',
        },
      },
    },
  };
}

/** The document as JSON text, built once. */
export function openApiJson(version: string): string {
  cached ??= JSON.stringify(openApiDocument(version));
  return cached;
}

/** The statuses this document can describe (a test compares them with the contract's codes). */
export const describedErrorStatuses = (): number[] => Object.keys(STATUS_TEXT).map(Number);
