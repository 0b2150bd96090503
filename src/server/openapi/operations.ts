/**
 * Every HTTP route as one line of data, turned into OpenAPI 3.1 by `document.ts`. A test checks that
 * this table and the routes fastify registered are the same set, and validates real answers against
 * the schemas: add a line here when you add a route.
 */
export interface QueryParam {
  name: string;
  description: string;
  schema: Record<string, unknown>;
  /** A repeated parameter (`?topic=a&topic=b`). */
  repeated?: boolean;
  required?: boolean;
}

export interface Answer {
  description: string;
  /** A schema name in schemas.ts (JSON), or a media type with a plain string body. */
  schema?: string;
  mediaType?: string;
  headers?: string[];
}

export interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  /** OpenAPI path: `/v1/topics/{topic}/messages`. */
  path: string;
  summary: string;
  tag: string;
  query?: QueryParam[];
  /** A JSON body schema name; `text` also accepts text/plain (published as a string). */
  body?: { schema: string; required?: boolean; text?: boolean; arrayOf?: boolean };
  answers: Record<number, Answer>;
  /** Error statuses besides the ones every route may answer (401/403 in token mode, 429, 503). */
  errors: number[];
  /** No token needed, in any mode. */
  open?: boolean;
  /** A WebSocket upgrade served by the upgrade router, not a fastify route. */
  upgrade?: boolean;
}

const integer = (minimum: number, maximum?: number) => ({ type: 'integer', minimum, maximum });
const after: QueryParam = {
  name: 'after',
  description: 'cursor: messages with offset > after',
  schema: integer(0),
};
const epoch: QueryParam = {
  name: 'epoch',
  description: 'the epoch the cursor came from; another one answers reset',
  schema: { type: 'string' },
};
const wait = (max: number): QueryParam => ({
  name: 'wait',
  description: 'seconds to hold the request while nothing is there (long polling); 0 answers at once',
  schema: integer(0, max),
});
const GROUP = '/v1/topics/{topic}/groups/{group}';
const JOB = '/v1/jobs/{id}';
const sse: Answer = { description: 'a Server-Sent Events stream', mediaType: 'text/event-stream' };
const job: Answer = { description: 'the job', schema: 'Job' };

export const OPERATIONS: Operation[] = [
  // Operations
  {
    method: 'get',
    path: '/healthz',
    summary: 'Process is up',
    tag: 'operations',
    open: true,
    errors: [],
    answers: { 200: { description: 'up', schema: 'Health' } },
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Engine reachable',
    tag: 'operations',
    open: true,
    errors: [],
    answers: { 200: { description: 'ready', schema: 'Health' } },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    tag: 'operations',
    errors: [],
    answers: { 200: { description: 'Prometheus text exposition', mediaType: 'text/plain' } },
  },
  {
    method: 'get',
    path: '/',
    summary: 'The web console',
    tag: 'operations',
    open: true,
    errors: [],
    answers: { 200: { description: 'HTML page', mediaType: 'text/html' } },
  },
  {
    method: 'get',
    path: '/client.js',
    summary: 'The browser build of the client SDK (ES module)',
    tag: 'operations',
    open: true,
    errors: [],
    answers: { 200: { description: 'JavaScript', mediaType: 'text/javascript' } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'operations',
    open: true,
    errors: [],
    answers: { 200: { description: 'OpenAPI 3.1 document', mediaType: 'application/json' } },
  },
  {
    method: 'get',
    path: '/asyncapi.json',
    summary: 'The push channels (WebSocket, SSE, MQTT) as AsyncAPI 3',
    tag: 'operations',
    open: true,
    errors: [],
    answers: { 200: { description: 'AsyncAPI 3 document', mediaType: 'application/json' } },
  },

  // Request-response and polling
  {
    method: 'post',
    path: '/v1/topics/{topic}/messages',
    summary: 'Publish one message or an atomic batch',
    tag: 'messages',
    body: { schema: 'Envelope', required: true, text: true, arrayOf: true },
    answers: {
      200: {
        description: 'a duplicate (idempotency key already used): the original offset',
        schema: 'PublishAnswer',
      },
      201: { description: 'stored (a batch answers BatchAnswer)', schema: 'PublishAnswer' },
      202: { description: 'scheduled for later (delayMs / deliverAt)', schema: 'ScheduledAnswer' },
    },
    errors: [400, 413, 415, 507],
  },
  {
    method: 'get',
    path: '/v1/topics/{topic}/messages',
    summary: 'Fetch: request-response, short polling (wait=0) and long polling (wait>0)',
    tag: 'messages',
    query: [
      after,
      { name: 'limit', description: 'at most this many messages', schema: integer(1, 1000) },
      wait(60),
      epoch,
    ],
    answers: { 200: { description: 'a page of messages', schema: 'FetchAnswer' } },
    errors: [400],
  },
  // Delayed delivery (docs/delayed.md): scheduling is a publish with delayMs/deliverAt (above).
  {
    method: 'get',
    path: '/v1/scheduled',
    summary: "A topic's pending scheduled messages, in due order",
    tag: 'messages',
    query: [
      { name: 'topic', description: 'the topic (required)', schema: { type: 'string' }, required: true },
      { name: 'limit', description: 'at most this many (default 100)', schema: integer(1, 1000) },
    ],
    answers: { 200: { description: 'pending schedules', schema: 'ScheduledList' } },
    errors: [400],
  },
  {
    method: 'get',
    path: '/v1/scheduled/{id}',
    summary: 'One pending scheduled message (subscribe on its topic in token mode)',
    tag: 'messages',
    answers: { 200: { description: 'the schedule', schema: 'ScheduledMessage' } },
    errors: [404],
  },
  {
    method: 'delete',
    path: '/v1/scheduled/{id}',
    summary: 'Cancel a scheduled message before it is due (publish on its topic in token mode)',
    tag: 'messages',
    answers: { 204: { description: 'canceled: it will not be appended' } },
    errors: [404],
  },
  // Request-reply (docs/request-reply.md) and presence (docs/presence.md)
  {
    method: 'post',
    path: '/v1/topics/{topic}/requests',
    summary: 'Request-reply: append a request with a fresh replyTo and wait for the first reply',
    tag: 'messages',
    query: [
      {
        name: 'timeout',
        description: 'seconds to wait for the reply (default 30); then 504 timeout',
        schema: integer(1, 60),
      },
    ],
    body: { schema: 'Envelope', required: true, text: true },
    answers: { 200: { description: 'the first reply', schema: 'RequestAnswer' } },
    errors: [400, 409, 413, 415, 504],
  },
  {
    method: 'post',
    path: '/v1/replies/{replyTo}',
    summary: 'Answer a request (first reply wins; a second or late one is 409)',
    tag: 'messages',
    body: { schema: 'ReplyBody', required: true, text: true },
    answers: { 204: { description: 'delivered to the waiting caller' } },
    errors: [400, 404, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/topics/{topic}/presence',
    summary: 'Presence: every live push subscriber of the topic, on every node',
    tag: 'topics',
    errors: [400],
    answers: { 200: { description: 'the present clients', schema: 'PresenceList' } },
  },
  {
    method: 'get',
    path: '/v1/topics',
    summary: 'Topics this caller may see',
    tag: 'topics',
    errors: [],
    answers: { 200: { description: 'topic list', schema: 'TopicList' } },
  },
  {
    method: 'get',
    path: '/v1/topics/{topic}',
    summary: 'Topic stats',
    tag: 'topics',
    errors: [400, 404],
    answers: { 200: { description: 'stats', schema: 'TopicStats' } },
  },
  {
    method: 'delete',
    path: '/v1/topics/{topic}',
    summary: 'Delete a topic (admin)',
    tag: 'topics',
    errors: [400, 404],
    answers: { 204: { description: 'deleted' } },
  },

  // Server push
  {
    method: 'get',
    path: '/v1/topics/{topic}/events',
    summary: 'Server-Sent Events: replay from a cursor, then live',
    tag: 'push',
    query: [
      after,
      epoch,
      {
        name: 'info',
        description: 'presence info: a JSON object of at most 1 KiB',
        schema: { type: 'string' },
      },
    ],
    answers: { 200: sse },
    errors: [400],
  },
  {
    method: 'get',
    path: '/v1/events',
    summary: 'Server-Sent Events over several topics (one cursor for all)',
    tag: 'push',
    query: [
      {
        name: 'topic',
        description: 'a topic to stream',
        schema: { type: 'string' },
        repeated: true,
        required: true,
      },
    ],
    answers: { 200: sse },
    errors: [400],
  },
  // GraphQL (docs/graphql.md): the GraphQL-over-HTTP answers are GraphQL's own, not this API's JSON.
  {
    method: 'post',
    path: '/graphql',
    summary:
      'GraphQL over HTTP: queries and mutations (application/graphql-response+json or application/json)',
    tag: 'graphql',
    body: { schema: 'GraphqlRequest', required: true },
    answers: {
      200: { description: 'a GraphQL response (data and/or errors)', schema: 'GraphqlResponse' },
      400: {
        description: 'a document or variables error (graphql-response+json)',
        schema: 'GraphqlResponse',
      },
    },
    errors: [406, 413, 415],
  },
  {
    method: 'get',
    path: '/graphql',
    summary:
      'GraphQL over HTTP for queries (?query=&variables=); browsers get a how-to page; a WebSocket upgrade with the graphql-transport-ws subprotocol here carries subscriptions (graphql-ws)',
    tag: 'graphql',
    query: [
      { name: 'query', description: 'the GraphQL document', schema: { type: 'string' } },
      { name: 'variables', description: 'JSON object of variables', schema: { type: 'string' } },
      { name: 'operationName', description: 'which operation to run', schema: { type: 'string' } },
    ],
    answers: {
      200: { description: 'a GraphQL response, or the HTML page', schema: 'GraphqlResponse' },
      400: { description: 'a document or variables error', schema: 'GraphqlResponse' },
    },
    errors: [405, 406],
  },
  {
    method: 'get',
    path: '/graphql/schema.graphql',
    summary: 'The schema as SDL',
    tag: 'graphql',
    open: true,
    errors: [],
    answers: { 200: { description: 'GraphQL SDL', mediaType: 'text/plain' } },
  },
  {
    method: 'get',
    path: '/graphql/stream',
    summary: 'GraphQL subscriptions over SSE (graphql-sse distinct-connections mode)',
    tag: 'graphql',
    query: [{ name: 'query', description: 'the subscription document', schema: { type: 'string' } }],
    answers: {
      200: { description: 'a text/event-stream of next/complete events', mediaType: 'text/event-stream' },
    },
    errors: [400],
  },
  {
    method: 'post',
    path: '/graphql/stream',
    summary: 'GraphQL subscriptions over SSE (graphql-sse), the document in the body',
    tag: 'graphql',
    body: { schema: 'GraphqlRequest', required: true },
    answers: {
      200: { description: 'a text/event-stream of next/complete events', mediaType: 'text/event-stream' },
    },
    errors: [400, 413, 415],
  },
  {
    method: 'get',
    path: '/mqtt',
    summary: 'MQTT 3.1.1 over WebSocket (subprotocol mqtt); see docs/mqtt.md and the AsyncAPI document',
    tag: 'mqtt',
    upgrade: true,
    answers: { 101: { description: 'switching protocols' } },
    errors: [400],
  },
  {
    method: 'get',
    path: '/v1/ws',
    summary: 'WebSocket upgrade (JSON ops; see the AsyncAPI document)',
    tag: 'push',
    upgrade: true,
    answers: { 101: { description: 'switching protocols' } },
    errors: [400, 404],
  },

  // Consumer groups
  {
    method: 'get',
    path: '/v1/topics/{topic}/groups',
    summary: 'Consumer groups of a topic',
    tag: 'groups',
    errors: [400],
    answers: { 200: { description: 'groups', schema: 'GroupList' } },
  },
  {
    method: 'put',
    path: GROUP,
    summary: 'Create a group (or update maxAttempts)',
    tag: 'groups',
    errors: [400],
    body: { schema: 'GroupSettings' },
    answers: {
      200: { description: 'existed', schema: 'GroupState' },
      201: { description: 'created', schema: 'GroupState' },
    },
  },
  {
    method: 'get',
    path: GROUP,
    summary: 'Group state: committed, pending, lag, members',
    tag: 'groups',
    errors: [400, 404],
    answers: { 200: { description: 'state', schema: 'GroupState' } },
  },
  {
    method: 'delete',
    path: GROUP,
    summary: 'Delete a group (admin)',
    tag: 'groups',
    errors: [400, 404],
    answers: { 204: { description: 'deleted' } },
  },
  {
    method: 'post',
    path: `${GROUP}/claim`,
    summary: 'Claim messages with a lease (long-poll with wait)',
    tag: 'groups',
    query: [
      { name: 'max', description: 'at most this many messages', schema: integer(1, 1000) },
      wait(60),
      { name: 'leaseMs', description: 'lease length', schema: integer(1) },
      { name: 'member', description: 'who claims', schema: { type: 'string' } },
      {
        name: 'start',
        description: 'where a new group starts',
        schema: { type: 'string', enum: ['earliest', 'latest'] },
      },
      { name: 'maxAttempts', description: 'deliveries before the dead letter', schema: integer(1) },
    ],
    answers: { 200: { description: 'claimed (messages: [] after an empty wait)', schema: 'ClaimAnswer' } },
    errors: [400],
  },
  {
    method: 'post',
    path: `${GROUP}/ack`,
    summary: 'Acknowledge offsets',
    tag: 'groups',
    body: { schema: 'Offsets', required: true },
    errors: [400, 404, 409],
    answers: { 200: { description: 'acked', schema: 'AckAnswer' } },
  },
  {
    method: 'post',
    path: `${GROUP}/nack`,
    summary: 'Give offsets back (optionally after delayMs)',
    tag: 'groups',
    body: { schema: 'Offsets', required: true },
    errors: [400, 404, 409],
    answers: { 200: { description: 'nacked', schema: 'NackAnswer' } },
  },

  // Jobs
  {
    method: 'get',
    path: '/v1/queues',
    summary: 'Job queues with their jobs counted by status',
    tag: 'jobs',
    errors: [],
    answers: { 200: { description: 'queues', schema: 'QueueList' } },
  },
  {
    method: 'post',
    path: '/v1/queues/{queue}/jobs',
    summary: 'Submit a job',
    tag: 'jobs',
    body: { schema: 'JobSubmission' },
    answers: { 202: { description: 'accepted', schema: 'JobSubmitted', headers: ['Location'] } },
    errors: [400, 413],
  },
  {
    method: 'post',
    path: '/v1/queues/{queue}/claim',
    summary: 'Worker: claim the next job (long-poll with wait)',
    tag: 'jobs',
    query: [wait(60)],
    answers: {
      200: { description: 'a job and its lease', schema: 'JobClaim' },
      204: { description: 'nothing to do after the wait' },
    },
    errors: [400],
  },
  {
    method: 'get',
    path: JOB,
    summary: 'Job state (long-poll for a new version with wait and version)',
    tag: 'jobs',
    query: [
      wait(60),
      { name: 'version', description: 'answer when the version differs from this', schema: integer(0) },
    ],
    answers: { 200: job },
    errors: [400, 404],
  },
  {
    method: 'delete',
    path: JOB,
    summary: 'Cancel a job',
    tag: 'jobs',
    errors: [404, 409],
    answers: { 200: job },
  },
  {
    method: 'get',
    path: `${JOB}/events`,
    summary: 'Job changes as Server-Sent Events, until its end',
    tag: 'jobs',
    query: [after],
    errors: [404],
    answers: { 200: sse },
  },
  {
    method: 'post',
    path: `${JOB}/progress`,
    summary: 'Worker: report progress (renews the lease)',
    tag: 'jobs',
    body: { schema: 'JobProgress', required: true },
    errors: [400, 404, 409],
    answers: { 200: job },
  },
  {
    method: 'post',
    path: `${JOB}/complete`,
    summary: 'Worker: complete with a result',
    tag: 'jobs',
    body: { schema: 'JobComplete', required: true },
    errors: [400, 404, 409],
    answers: { 200: job },
  },
  {
    method: 'post',
    path: `${JOB}/fail`,
    summary: 'Worker: fail (optionally retry)',
    tag: 'jobs',
    body: { schema: 'JobFail', required: true },
    errors: [400, 404, 409],
    answers: { 200: job },
  },

  // Webhooks
  {
    method: 'post',
    path: '/v1/topics/{topic}/webhooks',
    summary: 'Register a webhook (admin)',
    tag: 'webhooks',
    body: { schema: 'WebhookRequest', required: true },
    errors: [400],
    answers: {
      201: {
        description: 'registered; the secret is shown only here',
        schema: 'WebhookCreated',
        headers: ['Location'],
      },
    },
  },
  {
    method: 'get',
    path: '/v1/webhooks',
    summary: 'Webhooks and their delivery state (admin)',
    tag: 'webhooks',
    errors: [],
    answers: { 200: { description: 'list', schema: 'WebhookList' } },
  },
  {
    method: 'get',
    path: '/v1/webhooks/{id}',
    summary: 'One webhook (admin)',
    tag: 'webhooks',
    errors: [404],
    answers: { 200: { description: 'state', schema: 'WebhookState' } },
  },
  {
    method: 'delete',
    path: '/v1/webhooks/{id}',
    summary: 'Delete a webhook (admin)',
    tag: 'webhooks',
    errors: [404],
    answers: { 204: { description: 'deleted' } },
  },

  // Web Push (docs/push.md)
  {
    method: 'get',
    path: '/v1/push/vapid-public-key',
    summary: 'The VAPID public key for pushManager.subscribe',
    tag: 'push',
    errors: [],
    open: true,
    answers: { 200: { description: 'base64url P-256 public key', schema: 'VapidPublicKey' } },
  },
  {
    method: 'post',
    path: '/v1/topics/{topic}/push-subscriptions',
    summary: "Register a browser's push subscription on a topic",
    tag: 'push',
    body: { schema: 'PushSubscriptionRequest', required: true },
    errors: [400, 413],
    answers: {
      201: {
        description: 'registered (the same endpoint again keeps its id)',
        schema: 'PushSubscriptionCreated',
        headers: ['Location'],
      },
    },
  },
  {
    method: 'get',
    path: '/v1/push-subscriptions/{id}',
    summary: 'One push subscription and its delivery state',
    tag: 'push',
    errors: [404],
    answers: { 200: { description: 'state', schema: 'PushSubscriptionState' } },
  },
  {
    method: 'delete',
    path: '/v1/push-subscriptions/{id}',
    summary: 'Delete a push subscription',
    tag: 'push',
    errors: [404],
    answers: { 204: { description: 'deleted' } },
  },
];
