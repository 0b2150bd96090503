/**
 * The GraphQL door (docs/graphql.md): one schema over the hub, served as GraphQL over HTTP at
 * `/graphql` (http.ts), over WebSocket with graphql-ws on the same path (ws.ts) and over SSE with
 * graphql-sse at `/graphql/stream` (sse.ts). The three share one preparer (parse, cost limits,
 * validation, cached per query text) and one subscription executor (one execution per event for
 * all subscribers with the same document and variables).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../../core/auth.js';
import type { Hub } from '../../core/hub.js';
import type { Jobs } from '../../core/jobs/jobs.js';
import type { RateLimiter } from '../../core/rate-limit.js';
import { unauthorized } from '../../protocol/errors.js';
import { DeliveryCounter } from '../shared/delivery-counter.js';
import type { UpgradeRouter } from '../shared/upgrade-router.js';
import { registerGraphqlHttp } from './http.js';
import { DEFAULT_GRAPHQL_LIMITS, type GraphqlLimits } from './limits.js';
import { createPreparer } from './prepare.js';
import { createGraphqlSchema } from './schema.js';
import { createSharedSubscribe } from './shared-execution.js';
import { registerGraphqlSse } from './sse.js';
import { registerGraphqlWs } from './ws.js';

export { GRAPHQL_PATH, GRAPHQL_STREAM_PATH } from './http.js';

export interface GraphqlOptions {
  /** The server's jobs (registerJobs' answer): Query.job, Mutation.submitJob, Subscription.job. */
  jobs: Jobs;
  security: {
    auth: Authenticator;
    publishRate: RateLimiter;
    tokenFrom(headers: IncomingHttpHeaders, url: string | undefined): string | undefined;
    addressKey(remoteAddress: string | undefined): string;
    rejected?: (reason: string) => void;
  };
  /** Origin/Host check shared with the HTTP routes (WebSocket upgrades bypass fastify's hooks). */
  browserCheck(host: string | undefined, origin: string | undefined): string | undefined;
  upgrades: UpgradeRouter;
  limits?: Partial<GraphqlLimits>;
  /** Largest WebSocket frame read. */
  maxFrameBytes: number;
  /** Send-buffer bound of an SSE stream. */
  maxBufferedBytes: number;
  /** Operations open at once on one WebSocket. */
  maxOperations: number;
  /** WebSocket messages per second per socket. */
  messagesPerSecond: number;
  pingIntervalMs: number;
  /** Events a subscription may hold unread before it ends as a slow consumer. @default 1_000 */
  maxQueuedEvents?: number;
  trackConnection?: (transport: 'graphql') => () => void;
  delivered?: (transport: 'graphql', count: number) => void;
}

export interface GraphqlEndpoint {
  /** Ends every stream and socket (1012 on WebSocket: reconnect and resubscribe after your offsets). */
  close(graceMs?: number): Promise<void>;
}

const UNAUTHENTICATED = 'this request carries no token: send Authorization: Bearer <jwt>';

export function registerGraphql(app: FastifyInstance, hub: Hub, options: GraphqlOptions): GraphqlEndpoint {
  const { security } = options;
  const schema = createGraphqlSchema({
    hub,
    jobs: options.jobs,
    auth: security.auth,
    publishRate: security.publishRate,
    maxQueuedEvents: options.maxQueuedEvents ?? 1_000,
  });
  const prepare = createPreparer(schema, { ...DEFAULT_GRAPHQL_LIMITS, ...options.limits });
  const subscribe = createSharedSubscribe();
  const deliveries = new DeliveryCounter(
    options.delivered && ((count) => options.delivered?.('graphql', count)),
  );

  registerGraphqlHttp(app, {
    schema,
    prepare,
    addressKey: security.addressKey,
    unauthenticated: () => unauthorized(UNAUTHENTICATED),
  });
  const sse = registerGraphqlSse(app, {
    schema,
    prepare,
    subscribe,
    addressKey: security.addressKey,
    maxBufferedBytes: options.maxBufferedBytes,
    deliveries,
    ...(options.trackConnection ? { trackConnection: options.trackConnection } : {}),
  });
  const ws = registerGraphqlWs({
    schema,
    prepare,
    subscribe,
    auth: security.auth,
    upgrades: options.upgrades,
    tokenFrom: security.tokenFrom,
    addressKey: security.addressKey,
    browserCheck: options.browserCheck,
    maxFrameBytes: options.maxFrameBytes,
    messagesPerSecond: options.messagesPerSecond,
    maxOperations: options.maxOperations,
    connectionInitWaitMs: 3_000,
    pingIntervalMs: options.pingIntervalMs,
    deliveries,
    ...(options.trackConnection ? { trackConnection: options.trackConnection } : {}),
    ...(security.rejected ? { rejected: security.rejected } : {}),
  });

  return {
    async close(graceMs) {
      sse.close();
      await ws.close(graceMs);
      deliveries.stop();
    },
  };
}
