/**
 * Turns anything thrown while serving HTTP into the contract's error JSON, including the errors
 * Node and fastify raise before a route runs (bad bodies, oversized heads, timeouts).
 */

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type ErrorBody,
  type ErrorCode,
  isSwitchboardError,
  type SwitchboardError,
} from '../protocol/errors.js';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
  504: 'timeout',
};

const FASTIFY_HINTS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request body is larger than the server accepts (maxBodyBytes); send less',
  FST_ERR_CTP_INVALID_MEDIA_TYPE:
    'unsupported Content-Type; send application/json (an envelope or an array of them) or text/plain',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'Content-Type is application/json but the body is empty; send a JSON document',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body that was sent',
  FST_ERR_BAD_URL: 'the URL is malformed; percent-encode it correctly',
  FST_ERR_MAX_PARAM_LENGTH: 'a path segment is too long; topic and group names have length limits',
};

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Maps any error to [status, body]; unknown errors hide their details (they are logged instead). */
export function toHttpError(error: unknown): { status: number; body: ErrorBody; retryAfterMs?: number } {
  if (isSwitchboardError(error)) {
    const e = error as SwitchboardError;
    return {
      status: e.status,
      body: e.toJSON(),
      ...(e.retryAfterMs ? { retryAfterMs: e.retryAfterMs } : {}),
    };
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    const code = CODE_BY_STATUS[status] ?? 'bad_request';
    const hint =
      (fastifyError.code && FASTIFY_HINTS[fastifyError.code]) ?? fastifyError.message ?? 'bad request';
    return { status: CODE_BY_STATUS[status] ? status : 400, body: errorBody(code, hint) };
  }
  return {
    status: 503,
    body: errorBody('unavailable', 'the server failed to handle this request; retry shortly'),
  };
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, retryAfterMs } = toHttpError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    if (retryAfterMs) reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        errorBody(
          'not_found',
          `no route ${request.method} ${request.url.split('?')[0]}; the API lives under /v1 (see docs/http-api.md)`,
        ),
      ),
  );
}

/**
 * Fastify answers a malformed URL (e.g. `/v1/topics/%zz/messages`) and an over-long path parameter
 * before routing, with its own body and without the error handler; this option routes them to the
 * contract's JSON instead (found by the fuzz pass, test/security/fuzz-http.test.ts).
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toHttpError(error);
  void reply.code(status).send(body);
}

/**
 * Node answers malformed HTTP itself, with bodyless 400/431s. This sends the contract's JSON instead.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let code: ErrorCode = 'bad_request';
  let message = 'malformed HTTP request; send a valid HTTP/1.1 request';
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    message = 'request headers are too large (maxHeaderBytes); send smaller headers or cookies';
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    code = 'timeout';
    message = 'the request was not received in time (headersTimeoutMs/requestTimeoutMs); send it faster';
  } else if (error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    status = 413;
    code = 'payload_too_large';
    message = 'chunk extensions are too large';
  }
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
