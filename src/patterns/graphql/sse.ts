/**
 * GraphQL subscriptions over Server-Sent Events at `/graphql/stream`: the graphql-sse library's
 * handler (its "distinct connections mode": one stream per operation, `GET ?query=…` or `POST`
 * with `Accept: text/event-stream`), written to the response by this module instead of the
 * library's fastify adapter so that a reader who stops reading is cut off at the send-buffer bound
 * rather than queued without end. The "single connection mode" (PUT reservations kept on the
 * server until a stream claims them) is not offered: nothing would bound the reservations.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { execute, type GraphQLSchema } from 'graphql';
import { createHandler, type Request as SseRequest } from 'graphql-sse';
import { JsonInputError, parseJson } from '../../protocol/json.js';
import type { TextBody } from '../shared/body.js';
import type { DeliveryCounter } from '../shared/delivery-counter.js';
import { codedError, formatErrors, formatResult } from './errors.js';
import { GRAPHQL_STREAM_PATH } from './http.js';
import type { Preparer } from './prepare.js';
import type { GraphqlContext } from './resolvers.js';
import type { SharedSubscribe } from './shared-execution.js';

export interface GraphqlSseOptions {
  schema: GraphQLSchema;
  prepare: Preparer;
  subscribe: SharedSubscribe;
  addressKey(remoteAddress: string | undefined): string;
  maxBufferedBytes: number;
  deliveries: DeliveryCounter;
  trackConnection?: (transport: 'graphql') => () => void;
}

type RequestContext = { context: GraphqlContext };

const EVENT_STREAM = 'text/event-stream';

export function registerGraphqlSse(app: FastifyInstance, options: GraphqlSseOptions): { close(): void } {
  const { schema, prepare } = options;
  const open = new Set<() => void>();
  let closing = false;

  const handler = createHandler<
    FastifyRequest,
    RequestContext,
    GraphqlContext & Record<PropertyKey, unknown>
  >({
    schema,
    // Distinct connections only: no stream token, so no reservation is ever kept.
    authenticate: () => null,
    onSubscribe(req, params) {
      const prepared = prepare(params);
      if (!prepared.ok) return jsonResponse(400, { errors: formatErrors(prepared.errors) });
      const { document, operationName, variables } = prepared.value;
      return {
        schema,
        document,
        operationName,
        variableValues: variables,
        contextValue: req.context.context as GraphqlContext & Record<PropertyKey, unknown>,
      };
    },
    validate: () => [], // prepare() validated (and cached) the document already
    execute: async (args) => formatResult(await execute(args)) as never,
    subscribe: options.subscribe as never,
    onNext() {
      options.deliveries.count++;
    },
  });

  const stream = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const accept = request.headers.accept ?? '';
    if (!accept.includes(EVENT_STREAM)) {
      return reply.code(406).send({
        errors: formatErrors([
          codedError(
            'bad_request',
            `send Accept: ${EVENT_STREAM} (graphql-sse, distinct connections mode); for queries without a stream use POST /graphql`,
          ),
        ]),
      });
    }
    if (closing) {
      return reply.code(503).send({
        errors: formatErrors([
          codedError('unavailable', 'the server is shutting down; reconnect in a moment'),
        ]),
      });
    }
    let body: unknown;
    if (request.method === 'POST') {
      const text = request.body as TextBody | undefined;
      try {
        if (text?.kind !== 'json') throw new JsonInputError('send Content-Type: application/json');
        body = parseJson(text.text);
      } catch (error) {
        if (!(error instanceof JsonInputError)) throw error;
        return reply.code(400).send({ errors: formatErrors([codedError('bad_request', error.message)]) });
      }
    }
    const principal = request.principal!; // the route's auth rule always sets one
    const sseRequest: SseRequest<FastifyRequest, RequestContext> = {
      method: request.method,
      url: request.url,
      headers: {
        get: (key: string) => {
          if (key === 'accept') return EVENT_STREAM; // the library compares the whole header
          const value = request.headers[key];
          return Array.isArray(value) ? value.join('\n') : (value ?? null);
        },
      },
      body: request.method === 'POST' ? (body as Record<string, unknown>) : null,
      raw: request,
      context: {
        context: { principal, address: options.addressKey(request.raw.socket.remoteAddress) },
      },
    };
    const [responseBody, init] = await handler(sseRequest);
    reply.hijack();
    const response = reply.raw;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    response.writeHead(init.status, init.statusText, { ...headers, ...init.headers });
    if (!responseBody || typeof responseBody === 'string') {
      response.end(responseBody ?? undefined);
      return reply;
    }
    const untrack = options.trackConnection?.('graphql');
    const end = (): void => {
      void responseBody.return(undefined);
    };
    open.add(end);
    response.once('close', end);
    try {
      for await (const chunk of responseBody) {
        if (response.destroyed || !response.writable) break;
        // A reader that stopped reading: end its stream (it resubscribes after its last offset).
        if (response.socket && response.socket.writableLength > options.maxBufferedBytes) break;
        response.write(chunk);
      }
    } finally {
      open.delete(end);
      response.off('close', end);
      untrack?.();
      await responseBody.return(undefined);
      response.end();
    }
    return reply;
  };

  app.get(GRAPHQL_STREAM_PATH, { exposeHeadRoute: false }, stream);
  app.post(GRAPHQL_STREAM_PATH, stream);

  return {
    close() {
      closing = true;
      for (const end of [...open]) end();
    },
  };
}

function jsonResponse(status: number, body: unknown) {
  return [
    JSON.stringify(body),
    {
      status,
      statusText: status === 400 ? 'Bad Request' : 'Error',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    },
  ] as const;
}
