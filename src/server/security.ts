/**
 * Wires security and operations into the HTTP server: connection limits, token auth and the
 * publish rate limit (http-auth.ts), the request log, and `GET /metrics`. Transports that bypass
 * fastify's routing (WebSocket upgrades) reach the same pieces through `app.security`.
 */
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../core/auth.js';
import { createRateLimiter, type RateLimiter } from '../core/rate-limit.js';
import type { ServerConfig } from './config.js';
import { type ConnectionGuard, installConnectionLimits } from './connection-limits.js';
import { registerHttpAuth, tokenFrom } from './http-auth.js';
import { registerRequestLog } from './logging.js';
import type { ServerMetrics } from './metrics.js';

/** What transports use to authenticate, authorize and limit; `app.security` on the fastify app. */
export interface SecurityContext {
  readonly auth: Authenticator;
  /** Publish rate per token `sub` (or address): `publishRate.take(rateKey(principal, address))`. */
  readonly publishRate: RateLimiter;
  /**
   * Published bytes per `sub` (or address), beside the publish rate: a door charges what it
   * received, `publishBytes.take(rateKey(principal, address), bytes)`, before publishing it.
   */
  readonly publishBytes: RateLimiter;
  readonly connections: ConnectionGuard;
  /** Bearer header or `?token=` of a request (raw Node requests too). */
  readonly tokenFrom: typeof tokenFrom;
  readonly maxTopicsPerConnection: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    security: SecurityContext;
    metrics: ServerMetrics;
  }
}

export type SecuritySettings = Pick<
  ServerConfig,
  | 'maxConnections'
  | 'maxConnectionsPerIp'
  | 'publishRate'
  | 'publishBurst'
  | 'publishBytesPerSecond'
  | 'publishBytesBurst'
  | 'metricsPublic'
  | 'maxTopicsPerConnection'
>;

export function registerSecurity(
  app: FastifyInstance,
  options: { config: SecuritySettings; auth: Authenticator; metrics: ServerMetrics },
): SecurityContext {
  const { config, auth, metrics } = options;
  const connections = installConnectionLimits(app.server, {
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    onRefused: (limit) => metrics.rejected(limit),
  });
  metrics.attachConnections(() => connections.open);
  const publishRate = createRateLimiter({
    ratePerSecond: config.publishRate,
    burst: config.publishBurst,
  });
  const publishBytes = createRateLimiter({
    ratePerSecond: config.publishBytesPerSecond,
    burst: config.publishBytesBurst,
    unit: 'bytes',
  });
  const security: SecurityContext = {
    auth,
    publishRate,
    publishBytes,
    connections,
    tokenFrom,
    maxTopicsPerConnection: config.maxTopicsPerConnection,
  };
  app.decorate('security', security);
  app.decorate('metrics', metrics);

  // A connection over a limit gets one JSON answer and is closed (see connection-limits.ts).
  app.addHook('onRequest', (request, reply, done) => {
    const refusal = connections.refusalFor(request.raw.socket);
    if (refusal) {
      reply.header('connection', 'close');
      return done(refusal);
    }
    done();
  });
  registerHttpAuth(app, {
    auth,
    publishRate,
    publishBytes,
    metricsPublic: config.metricsPublic,
    maxTopicsPerConnection: config.maxTopicsPerConnection,
  });
  registerRequestLog(app, metrics);

  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await metrics.render();
    return reply.type(contentType).header('cache-control', 'no-store').send(text);
  });
  return security;
}
