/**
 * Token auth and the publish rate limit for HTTP routes, without auth code in the route files:
 * one onRequest hook looks the route up in route-rules.ts, authenticates the caller, authorizes
 * the route's capability on its topic(s), and leaves the result on `request.principal` for
 * routes that need it (SSE streams end when it expires).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, Principal } from '../core/auth.js';
import { type RateLimiter, rateKey } from '../core/rate-limit.js';
import { badRequest, unauthorized } from '../protocol/errors.js';
import type { TopicStats } from '../protocol/message.js';
import { clientAddressKey } from './client-address.js';
import { ROUTE_RULES, type RouteRule } from './route-rules.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, set before the route runs (undefined only on `optional` routes without a token). */
    principal: Principal | undefined;
  }
}

export interface HttpAuthOptions {
  auth: Authenticator;
  publishRate: RateLimiter;
  /** Published bytes per client: a publish route's body is charged once it has arrived. */
  publishBytes?: RateLimiter;
  /** True: `GET /metrics` needs no token even in token mode. */
  metricsPublic: boolean;
  /** Most topics one `GET /v1/events` may name. */
  maxTopicsPerConnection: number;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * The token a request carries: `Authorization: Bearer …` first, else the `token` query parameter
 * (EventSource and browsers' WebSocket cannot set headers). Works on raw Node requests too, for
 * upgrade handlers. Never log its result.
 */
export function tokenFrom(headers: IncomingHttpHeaders, url: string | undefined): string | undefined {
  const header = headers.authorization;
  if (header !== undefined) {
    const match = BEARER.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <jwt>"');
    return match[1];
  }
  const query = url?.indexOf('?') ?? -1;
  if (query === -1 || url === undefined) return undefined;
  return new URLSearchParams(url.slice(query + 1)).get('token') ?? undefined;
}

/**
 * `tokenFrom` for a fastify request: its query string is parsed already, so a long poll does not
 * parse it twice.
 */
function requestToken(request: FastifyRequest): string | undefined {
  if (request.headers.authorization !== undefined) return tokenFrom(request.headers, undefined);
  const token = (request.query as Record<string, unknown> | undefined)?.token;
  if (token === undefined) return undefined;
  return Array.isArray(token) ? String(token[0]) : String(token);
}

/** The key per-address limits use for this request. */
export const requestAddress = (request: FastifyRequest): string =>
  clientAddressKey(request.raw.socket.remoteAddress);

/** The principal of a request on a route that always sets one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized('this request carries no valid token');
  return request.principal;
}

function topicsOf(request: FastifyRequest, rule: Extract<RouteRule, { kind: 'topic' }>): string[] {
  const source = (rule.from === 'param' ? request.params : request.query) as Record<string, unknown>;
  const value = source?.[rule.name];
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return values.map(String);
}

export function registerHttpAuth(app: FastifyInstance, options: HttpAuthOptions): void {
  const { auth, publishRate } = options;
  const rules: Record<string, RouteRule> = {
    ...ROUTE_RULES,
    'GET /metrics': { kind: options.metricsPublic ? 'open' : 'admin' },
  };
  const ruleOf = (method: string, url: string): RouteRule | undefined =>
    rules[`${method === 'HEAD' ? 'GET' : method} ${url}`];
  const log = app.log.child({ module: 'auth' });

  app.decorateRequest('principal', undefined);

  // Fail closed, loudly: a route nobody classified needs an admin token until it is added.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method !== 'HEAD' && !ruleOf(method, route.url)) {
        log.warn(`route ${method} ${route.url} has no rule in route-rules.ts; it needs an admin token`);
      }
    }
  });

  // Callback style, and no promise when the principal is known at once (open mode, a token seen
  // before): this hook runs on every request, long polls included.
  const check = (request: FastifyRequest, principal: Principal, rule: RouteRule): void => {
    request.principal = principal;
    if (rule.kind === 'admin') auth.authorize(principal, 'admin');
    else if (rule.kind === 'topic') {
      const topics = topicsOf(request, rule);
      if (topics.length > options.maxTopicsPerConnection) {
        throw badRequest(
          `${topics.length} topics named; at most ${options.maxTopicsPerConnection} per connection (maxTopicsPerConnection)`,
        );
      }
      for (const topic of topics) auth.authorize(principal, rule.capability, topic);
      if (rule.rateLimited) publishRate.take(rateKey(principal, requestAddress(request)));
    }
    // kind 'token' and 'optional': authenticate() has already refused invalid and expired tokens.
  };
  const refuse = (reply: FastifyReply, error: unknown, done: (error?: Error) => void): void => {
    // RFC 6750: a 401 names the scheme it wants.
    if ((error as { code?: string }).code === 'unauthorized') reply.header('www-authenticate', 'Bearer');
    done(error as Error);
  };
  app.addHook('onRequest', (request, reply, done) => {
    const url = request.routeOptions.url;
    if (url === undefined) return done(); // no such route: the 404 handler answers, in every mode
    const rule = ruleOf(request.method, url) ?? { kind: 'admin' };
    if (rule.kind === 'open') return done();
    let token: string | undefined;
    try {
      token = requestToken(request);
    } catch (error) {
      return refuse(reply, error, done);
    }
    if (rule.kind === 'optional' && token === undefined && auth.mode === 'token') return done();
    const known = auth.known(token);
    if (known) {
      try {
        check(request, known, rule);
      } catch (error) {
        return done(error as Error);
      }
      return done();
    }
    auth.authenticate(token).then(
      (principal) => {
        try {
          check(request, principal, rule);
        } catch (error) {
          return done(error as Error);
        }
        done();
      },
      (error: unknown) => refuse(reply, error, done),
    );
  });

  // The byte rate: a publish costs its body's bytes (a 1 MiB batch is not "one publish" here).
  // Charged once the body has arrived, before the route stores anything.
  const { publishBytes } = options;
  if (publishBytes?.enabled) {
    app.addHook('preHandler', async (request) => {
      const url = request.routeOptions.url;
      if (url === undefined) return;
      const rule = ruleOf(request.method, url);
      if (rule?.kind !== 'topic' || !rule.rateLimited) return;
      const text = (request.body as { text?: unknown } | undefined)?.text;
      const bytes =
        typeof text === 'string' ? Buffer.byteLength(text) : Number(request.headers['content-length'] ?? 0);
      if (bytes > 0) publishBytes.take(rateKey(request.principal, requestAddress(request)), bytes);
    });
  }

  // The topic list shows only topics the caller may publish or subscribe to.
  app.addHook('preSerialization', async (request, _reply, payload) => {
    if (auth.mode === 'open' || request.routeOptions.url !== '/v1/topics' || !request.principal) {
      return payload;
    }
    const principal = request.principal;
    const list = (payload as { topics?: TopicStats[] }).topics;
    if (!Array.isArray(list)) return payload;
    return {
      ...(payload as object),
      topics: list.filter(
        (t) => auth.allows(principal, 'subscribe', t.topic) || auth.allows(principal, 'publish', t.topic),
      ),
    };
  });
}
