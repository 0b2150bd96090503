/**
 * What each HTTP route needs in token mode, in one table (docs/security.md lists it for users).
 * The hook in http-auth.ts looks a request up by method and route pattern
 * (`request.routeOptions.url`), so route files stay free of auth code.
 *
 * A route missing from this table needs an admin token (fail closed) and is named in a startup
 * warning: add a line here when you add a route.
 */
import type { Capability } from '../core/auth.js';

export type RouteRule =
  /** No token needed, in any mode (health, readiness, the console, the browser SDK). */
  | { kind: 'open' }
  /** Any valid token. */
  | { kind: 'token' }
  /** A valid token with `admin: true`. */
  | { kind: 'admin' }
  /**
   * A valid token with `capability` on the topic(s) named by the route parameter or query
   * parameter `name`; `rateLimited` routes also take from the caller's publish rate bucket.
   */
  | {
      kind: 'topic';
      capability: Exclude<Capability, 'admin'>;
      from: 'param' | 'query';
      name: string;
      rateLimited?: boolean;
    }
  /**
   * A token is checked when one is sent (401 if invalid), else the request goes on without a
   * principal: the WebSocket upgrade, whose `auth` op may bring the token later.
   */
  | { kind: 'optional' };

const open: RouteRule = { kind: 'open' };
const token: RouteRule = { kind: 'token' };
const admin: RouteRule = { kind: 'admin' };
const subscribeTopic: RouteRule = { kind: 'topic', capability: 'subscribe', from: 'param', name: 'topic' };
const publishTopic: RouteRule = {
  kind: 'topic',
  capability: 'publish',
  from: 'param',
  name: 'topic',
  rateLimited: true,
};
const GROUP = '/v1/topics/:topic/groups/:group';

/** Keyed by `METHOD /route/:pattern`; HEAD uses its GET rule. */
export const ROUTE_RULES: Readonly<Record<string, RouteRule>> = {
  'GET /healthz': open,
  'GET /readyz': open,
  'GET /': open,
  'GET /client.js': open,
  'GET /openapi.json': open,
  'GET /asyncapi.json': open,
  // GET /metrics is added by http-auth.ts: open or admin, per the `metricsPublic` setting.

  // Request-response and polling.
  'POST /v1/topics/:topic/messages': publishTopic,
  'GET /v1/topics/:topic/messages': subscribeTopic,
  // Any valid token; the answer lists only topics the token may publish or subscribe to.
  'GET /v1/topics': token,
  'GET /v1/topics/:topic': subscribeTopic,
  'DELETE /v1/topics/:topic': admin,
  // Delayed delivery (docs/delayed.md): listing reads the topic; routes named by a schedule id have
  // no topic in the URL, so the plugin checks its topic (subscribe to read, publish to cancel).
  'GET /v1/scheduled': { kind: 'topic', capability: 'subscribe', from: 'query', name: 'topic' },
  'GET /v1/scheduled/:id': token,
  'DELETE /v1/scheduled/:id': token,

  // Request-reply (docs/request-reply.md): a request publishes to the topic; a reply needs any valid
  // token, because the unguessable inbox id in the URL is itself the capability to answer.
  'POST /v1/topics/:topic/requests': publishTopic,
  'POST /v1/replies/:replyTo': token,
  // Presence (docs/presence.md): who subscribes to a topic is part of reading it.
  'GET /v1/topics/:topic/presence': subscribeTopic,

  // Server push. The WebSocket endpoint is a raw upgrade (no fastify route); it calls the
  // authenticator itself, see docs/security.md "For transport authors".
  'GET /v1/topics/:topic/events': subscribeTopic,
  'GET /v1/events': { kind: 'topic', capability: 'subscribe', from: 'query', name: 'topic' },
  'GET /v1/ws': { kind: 'optional' },

  // Competing consumers: consuming is reading, so members need `subscribe` on the topic.
  [`PUT ${GROUP}`]: subscribeTopic,
  [`POST ${GROUP}/claim`]: subscribeTopic,
  [`POST ${GROUP}/ack`]: subscribeTopic,
  [`POST ${GROUP}/nack`]: subscribeTopic,
  [`GET ${GROUP}`]: subscribeTopic,
  'GET /v1/topics/:topic/groups': subscribeTopic,
  [`DELETE ${GROUP}`]: admin,

  // Jobs (docs/jobs.md): submitting publishes to the queue, working on it consumes it (subscribe).
  // Routes named by a job id have no queue in the URL: any valid token here, then the jobs plugin
  // checks the job's queue (subscribe to read or work on it, publish to cancel it).
  // Any valid token; the answer lists only queues the token may subscribe to.
  'GET /v1/queues': token,
  'POST /v1/queues/:queue/jobs': { ...publishTopic, name: 'queue' } as RouteRule,
  'POST /v1/queues/:queue/claim': { ...subscribeTopic, name: 'queue' } as RouteRule,
  'GET /v1/jobs/:id': token,
  'GET /v1/jobs/:id/events': token,
  'DELETE /v1/jobs/:id': token,
  'POST /v1/jobs/:id/progress': token,
  'POST /v1/jobs/:id/complete': token,
  'POST /v1/jobs/:id/fail': token,
  // Webhooks (docs/webhooks.md): admin only — a webhook pushes a topic to a third party for as long
  // as it exists, past the registering token's expiry, and only admins can list or delete them.
  'POST /v1/topics/:topic/webhooks': admin,
  'GET /v1/webhooks': admin,
  'GET /v1/webhooks/:id': admin,
  'DELETE /v1/webhooks/:id': admin,
  // Web Push (docs/push.md): the VAPID key is public by nature; a push subscription reads its
  // topic, so it needs `subscribe` there. Routes named by a subscription id: any valid token, then
  // the push plugin checks `subscribe` on the subscription's topic.
  'GET /v1/push/vapid-public-key': open,
  'POST /v1/topics/:topic/push-subscriptions': subscribeTopic,
  'GET /v1/push-subscriptions/:id': token,
  'DELETE /v1/push-subscriptions/:id': token,
  // GraphQL (docs/graphql.md): any valid token, then each field calls authorize() on its topic or
  // queue. GET /graphql also serves the how-to page to browsers, so a token is checked only when
  // sent (a GET query without one is a 401 from the door); the WebSocket on the same path takes
  // its token from connectionParams.
  'POST /graphql': token,
  'GET /graphql': { kind: 'optional' },
  'GET /graphql/schema.graphql': open,
  'GET /graphql/stream': token,
  'POST /graphql/stream': token,
};

export function ruleFor(method: string, url: string): RouteRule | undefined {
  return ROUTE_RULES[`${method === 'HEAD' ? 'GET' : method} ${url}`];
}
