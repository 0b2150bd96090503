/**
 * GraphQL over HTTP at `/graphql` (the GraphQL-over-HTTP spec): `POST` with a JSON body
 * `{query, variables?, operationName?}`, and `GET` with the same as query parameters (queries only:
 * a mutation over GET is a 405). The answer is `application/graphql-response+json` when the client
 * accepts it — then a document that fails to parse or validate is a 400 — else `application/json`
 * with 200 for every well-formed request, as the spec's legacy media type requires. A browser
 * asking for HTML without a query gets a page saying how to query. Subscriptions go over the
 * streams (WebSocket on this path, or SSE at /graphql/stream).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  execute,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { JsonInputError, parseJson } from '../../protocol/json.js';
import { bodyOf } from '../shared/body.js';
import { codedError, formatErrors, formatResult } from './errors.js';
import { graphqlPage } from './page.js';
import type { GraphqlRequest, Preparer } from './prepare.js';
import type { GraphqlContext } from './resolvers.js';
import { SCHEMA_SDL } from './schema-sdl.js';

export const GRAPHQL_PATH = '/graphql';
export const GRAPHQL_STREAM_PATH = '/graphql/stream';
const RESPONSE_TYPE = 'application/graphql-response+json';
const LEGACY_TYPE = 'application/json';
type MediaType = typeof RESPONSE_TYPE | typeof LEGACY_TYPE;

export interface GraphqlHttpOptions {
  schema: GraphQLSchema;
  prepare: Preparer;
  addressKey(remoteAddress: string | undefined): string;
  /** The contract's 401 for a request without a principal (token mode, no token). */
  unauthenticated(): Error;
}

export function registerGraphqlHttp(app: FastifyInstance, options: GraphqlHttpOptions): void {
  const { schema, prepare } = options;

  const answer = async (
    request: FastifyRequest,
    reply: FastifyReply,
    params: GraphqlRequest,
    mediaType: MediaType,
  ): Promise<FastifyReply> => {
    const send = (status: number, body: FormattedExecutionResult | { errors: GraphQLFormattedError[] }) =>
      reply.code(status).type(`${mediaType}; charset=utf-8`).header('cache-control', 'no-store').send(body);
    const prepared = prepare(params);
    if (!prepared.ok) {
      return send(mediaType === RESPONSE_TYPE ? 400 : 200, { errors: formatErrors(prepared.errors) });
    }
    const { document, operation, operationName, variables } = prepared.value;
    if (operation === 'subscription') {
      const error = codedError(
        'bad_request',
        `subscriptions stream: use WebSocket (graphql-transport-ws) at ${GRAPHQL_PATH} or SSE (graphql-sse) at ${GRAPHQL_STREAM_PATH}`,
      );
      return send(mediaType === RESPONSE_TYPE ? 400 : 200, { errors: formatErrors([error]) });
    }
    if (operation === 'mutation' && request.method === 'GET') {
      reply.header('allow', 'POST');
      return send(405, {
        errors: formatErrors([codedError('bad_request', 'mutations need POST: GET runs queries only')]),
      });
    }
    const principal = request.principal;
    if (principal === undefined) {
      reply.header('www-authenticate', 'Bearer'); // RFC 6750, as the other routes' 401s
      throw options.unauthenticated();
    }
    const contextValue: GraphqlContext = {
      principal,
      address: options.addressKey(request.raw.socket.remoteAddress),
    };
    const result = formatResult(
      await execute({ schema, document, variableValues: variables, operationName, contextValue }),
    );
    const retryAfterMs = Math.max(
      0,
      ...(result.errors ?? []).map((e) => Number(e.extensions?.retryAfterMs ?? 0)),
    );
    if (retryAfterMs > 0) reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
    // Variables that do not fit their types leave no data at all: a request error.
    const status = result.data === undefined && mediaType === RESPONSE_TYPE ? 400 : 200;
    return send(status, result);
  };

  app.post(GRAPHQL_PATH, async (request, reply) => {
    const mediaType = negotiate(request, reply);
    if (mediaType === undefined) return reply;
    const text = bodyOf(request.body);
    let body: unknown;
    try {
      if (text.kind !== 'json') throw new JsonInputError('send Content-Type: application/json');
      body = parseJson(text.text);
    } catch (error) {
      if (!(error instanceof JsonInputError)) throw error;
      return requestError(reply, mediaType, 'bad_request', error.message);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return requestError(
        reply,
        mediaType,
        'bad_request',
        'the body must be a JSON object {"query", "variables"?, "operationName"?}',
      );
    }
    return answer(request, reply, body as GraphqlRequest, mediaType);
  });

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>(
    GRAPHQL_PATH,
    { exposeHeadRoute: false },
    async (request, reply) => {
      const query = request.query;
      if (query.query === undefined && wantsHtml(request)) {
        return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(graphqlPage());
      }
      const mediaType = negotiate(request, reply);
      if (mediaType === undefined) return reply;
      for (const name of ['query', 'variables', 'operationName', 'extensions']) {
        if (Array.isArray(query[name])) {
          return requestError(
            reply,
            mediaType,
            'bad_request',
            `${name} was given more than once; send it once`,
          );
        }
      }
      // Each parameter is a single string from here on.
      const single = (name: string): string | undefined => query[name] as string | undefined;
      let variables: unknown;
      try {
        const text = single('variables');
        variables = text === undefined || text === '' ? undefined : parseJson(text);
      } catch (error) {
        if (!(error instanceof JsonInputError)) throw error;
        return requestError(reply, mediaType, 'bad_request', `variables: ${error.message}`);
      }
      return answer(
        request,
        reply,
        { query: single('query'), variables, operationName: single('operationName') },
        mediaType,
      );
    },
  );

  app.get(`${GRAPHQL_PATH}/schema.graphql`, async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(SCHEMA_SDL),
  );
}

function requestError(reply: FastifyReply, mediaType: MediaType, code: 'bad_request', message: string) {
  return reply
    .code(400)
    .type(`${mediaType}; charset=utf-8`)
    .header('cache-control', 'no-store')
    .send({ errors: formatErrors([codedError(code, message)]) });
}

function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

/**
 * The answer's media type from `Accept`: the spec's own type when listed, else the legacy
 * application/json (also for no Accept and for wildcards); anything else is a 406.
 */
function negotiate(request: FastifyRequest, reply: FastifyReply): MediaType | undefined {
  const accept = request.headers.accept;
  if (accept === undefined || accept.trim() === '') return LEGACY_TYPE;
  const types = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  if (types.includes(RESPONSE_TYPE)) return RESPONSE_TYPE;
  if (types.some((type) => type === LEGACY_TYPE || type === 'application/*' || type === '*/*')) {
    return LEGACY_TYPE;
  }
  reply
    .code(406)
    .type('application/json; charset=utf-8')
    .send({
      errors: formatErrors([
        codedError(
          'bad_request',
          `Accept ${RESPONSE_TYPE} or ${LEGACY_TYPE}; ${accept.slice(0, 100)} cannot be answered`,
        ),
      ]),
    });
  return undefined;
}
