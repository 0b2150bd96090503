/**
 * Structured logs: pino (fastify's logger) with secrets redacted, one line per answered request,
 * and a child logger per module (`moduleLogger(app, 'auth')` → every line carries "module").
 *
 * Tokens must never reach a log: the Authorization header and cookies are redacted wherever they
 * appear, and the `token` query parameter is cut out of every URL that is logged.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ServerMetrics } from './metrics.js';

const REDACTED = '[REDACTED]';
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'token',
  '*.token',
];
const TOKEN_PARAM = /([?&]token=)[^&#]*/gi;

/** The URL with the value of any `token` query parameter replaced. */
export const redactUrl = (url: string): string => url.replace(TOKEN_PARAM, `$1${REDACTED}`);

/** Options for fastify's `logger`: the caller's (or just the level), plus redaction. */
export function loggerOptions(logger: boolean | object, level: string): false | Record<string, unknown> {
  if (logger === false) return false;
  const base: Record<string, unknown> = logger === true ? { level } : { level, ...logger };
  return {
    ...base,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: {
      ...(base.serializers as object | undefined),
      // fastify's default `req` serializer logs the raw URL, query string (and token) included.
      req: (request: { method?: string; url?: string; ip?: string }) => ({
        method: request.method,
        url: redactUrl(request.url ?? ''),
        remoteAddress: request.ip,
      }),
    },
  };
}

export function moduleLogger(app: FastifyInstance, module: string): FastifyBaseLogger {
  return app.log.child({ module });
}

const REJECTED_BY_STATUS: Record<number, string> = {
  401: 'unauthorized',
  403: 'forbidden',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/**
 * One log line and one metrics sample per answered request. Successes log at debug (a busy hub
 * answers thousands of publishes a second), client errors at info, server errors at warn.
 */
export function registerRequestLog(app: FastifyInstance, metrics: ServerMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    metrics.httpRequest(request.method, route, status, ms / 1000);
    const rejected = REJECTED_BY_STATUS[status];
    if (rejected) metrics.rejected(rejected);
    const level = status >= 500 ? 'warn' : status >= 400 ? 'info' : 'debug';
    // Skip building the line when the level is off (pino has isLevelEnabled; the silent logger does not).
    const log = request.log as { isLevelEnabled?: (level: string) => boolean };
    if (!log.isLevelEnabled?.(level)) return;
    request.log[level](
      {
        module: 'http',
        method: request.method,
        route,
        url: redactUrl(request.url),
        status,
        durationMs: Math.round(ms * 10) / 10,
        sub: request.principal?.anonymous === false ? request.principal.sub : undefined,
      },
      `${request.method} ${route} ${status}`,
    );
  });
}
