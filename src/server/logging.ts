/**
 * Structured logs: pino (fastify's logger) with secrets redacted, one line per answered request,
 * and a child logger per module (`moduleLogger(app, 'auth')` → every line carries "module").
 *
 * Tokens must never reach a log: the Authorization header and cookies are redacted wherever they
 * appear, and the `token` query parameter is cut out of every URL that is logged — found by its
 * parsed, decoded name (`?t%6Fken=` is the same parameter to URLSearchParams, which reads it).
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
/** Query parameters whose values are secrets, by decoded, lowercased name. */
const SECRET_PARAMS = new Set(['token', 'access_token', 'jwt', 'password', 'secret']);

/** A query parameter name as a server decodes it (`+` is a space); lenient with broken escapes. */
function decodedName(raw: string): string {
  const name = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name);
  } catch {
    // One bad escape must not hide a good one (`%zz&t%6Fken=`): decode the valid ones alone.
    return name.replace(/%[0-9a-f]{2}/gi, (match) =>
      String.fromCharCode(Number.parseInt(match.slice(1), 16)),
    );
  }
}

/**
 * The URL with the value of every secret query parameter (`token` and friends, however their name
 * is spelled or percent-encoded) replaced. A value runs to the next `&`, as URLSearchParams reads it
 * (a `#` does not end it).
 */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const pairs = url.slice(query + 1).split('&');
  let changed = false;
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const equals = pair.indexOf('=');
    const name = equals === -1 ? pair : pair.slice(0, equals);
    if (!SECRET_PARAMS.has(decodedName(name).trim().toLowerCase())) continue;
    pairs[i] = `${name}=${REDACTED}`;
    changed = true;
  }
  return changed ? `${url.slice(0, query + 1)}${pairs.join('&')}` : url;
}

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
  const logResponse = (request: FastifyRequest, reply: FastifyReply): void => {
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
  };
  // Callback style: it runs on every request (a promise each showed in the long-poll profile).
  app.addHook('onResponse', (request, reply, done) => {
    logResponse(request, reply);
    done();
  });
}
