/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the HTTP answers and bodies. Kept loose where
 * the contract lets answers grow (`additionalProperties` allowed) and strict where a client relies on
 * a field (`required`). A test validates real answers against them.
 */
import { ERROR_CODES } from '../../protocol/errors.js';

type Schema = Record<string, unknown>;

const int = { type: 'integer', minimum: 0 } as const;
const ms = { type: 'integer', minimum: 0, description: 'milliseconds since the Unix epoch' } as const;
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const obj = (properties: Record<string, unknown>, required: string[] = []): Schema => ({
  type: 'object',
  properties,
  required,
});
const arrayOf = (items: unknown): Schema => ({ type: 'array', items });

export const TOPIC_PATTERN =
  '^[A-Za-z0-9_-]{1,64}(\\.[A-Za-z0-9_-]{1,64}){0,7}(\\.dead-letter|\\.presence)?$';

export const SCHEMAS: Record<string, Schema> = {
  Error: obj(
    {
      error: obj(
        {
          code: { type: 'string', enum: ERROR_CODES },
          message: str,
        },
        ['code', 'message'],
      ),
    },
    ['error'],
  ),
  JsonValue: { description: 'any JSON value, kept byte for byte as the publisher sent it' },
  Message: obj(
    {
      topic: str,
      offset: { type: 'integer', minimum: 1 },
      time: ms,
      event: str,
      data: ref('JsonValue'),
      replyTo: {
        type: 'string',
        description: 'a request-reply inbox: answer with POST /v1/replies/{replyTo}',
      },
    },
    ['topic', 'offset', 'time', 'data'],
  ),
  GroupMessage: {
    allOf: [ref('Message'), obj({ group: str, attempt: { type: 'integer', minimum: 1 } }, ['attempt'])],
  },
  Envelope: obj(
    {
      data: ref('JsonValue'),
      event: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
      idempotencyKey: { type: 'string', minLength: 1, maxLength: 200 },
      delayMs: { type: 'integer', minimum: 0, description: 'deliver later (delayed delivery)' },
      deliverAt: { ...ms, description: 'deliver at this time (delayed delivery)' },
    },
    ['data'],
  ),
  PublishAnswer: obj({ topic: str, offset: int, time: ms, duplicate: bool }, [
    'topic',
    'offset',
    'duplicate',
  ]),
  BatchAnswer: obj({ topic: str, offsets: arrayOf(int), time: ms, duplicates: arrayOf(bool) }, [
    'topic',
    'offsets',
  ]),
  ScheduledAnswer: obj({ topic: str, scheduled: str, deliverAt: ms, duplicate: bool }, [
    'topic',
    'scheduled',
    'deliverAt',
  ]),
  ScheduledMessage: obj(
    {
      id: str,
      topic: str,
      deliverAt: ms,
      createdAt: ms,
      event: str,
      data: ref('JsonValue'),
    },
    ['id', 'topic', 'deliverAt', 'createdAt', 'data'],
  ),
  ScheduledList: obj({ topic: str, scheduled: arrayOf(ref('ScheduledMessage')) }, ['topic', 'scheduled']),
  RequestAnswer: obj({ topic: str, offset: int, replyTo: str, reply: ref('JsonValue') }, [
    'topic',
    'offset',
    'replyTo',
    'reply',
  ]),
  ReplyBody: obj({ data: ref('JsonValue') }, ['data']),
  PresenceList: obj(
    {
      topic: str,
      count: int,
      clients: arrayOf(
        obj({ client: str, sub: str, transport: str, since: ms, info: { type: 'object' } }, [
          'client',
          'transport',
          'since',
        ]),
      ),
    },
    ['topic', 'count', 'clients'],
  ),
  FetchAnswer: obj(
    {
      topic: str,
      epoch: { type: ['string', 'null'] },
      messages: arrayOf(ref('Message')),
      next: int,
      first: int,
      last: int,
      gap: bool,
      reset: bool,
    },
    ['topic', 'messages', 'next', 'first', 'last', 'gap'],
  ),
  TopicStats: obj(
    {
      topic: str,
      epoch: str,
      first: int,
      last: int,
      count: int,
      subscribers: { type: 'object', additionalProperties: int },
    },
    ['topic', 'first', 'last', 'count', 'subscribers'],
  ),
  TopicList: obj({ topics: arrayOf(ref('TopicStats')) }, ['topics']),
  GroupSettings: obj({
    start: { type: 'string', enum: ['earliest', 'latest'] },
    maxAttempts: { type: 'integer', minimum: 1 },
  }),
  GroupState: obj(
    {
      topic: str,
      group: str,
      start: str,
      maxAttempts: int,
      createdAt: ms,
      committed: int,
      delivered: int,
      pending: int,
      ready: int,
      last: int,
      lag: int,
      deadLettered: int,
      members: arrayOf(obj({ member: str, lastSeen: ms, pending: int }, ['member'])),
    },
    ['topic', 'group', 'committed', 'pending', 'lag'],
  ),
  GroupList: obj({ topic: str, groups: arrayOf(ref('GroupState')) }, ['topic', 'groups']),
  ClaimAnswer: obj(
    { topic: str, group: str, member: str, leaseMs: int, messages: arrayOf(ref('GroupMessage')) },
    ['messages', 'leaseMs'],
  ),
  Offsets: obj(
    {
      offsets: arrayOf({ type: 'integer', minimum: 1 }),
      member: str,
      delayMs: int,
      error: str,
    },
    ['offsets'],
  ),
  AckAnswer: obj({ acked: arrayOf(int), committed: int }, ['acked', 'committed']),
  NackAnswer: obj({ nacked: arrayOf(int), committed: int }, ['nacked', 'committed']),
  Job: obj(
    {
      id: str,
      queue: str,
      status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'canceled'] },
      progress: { type: 'number', minimum: 0, maximum: 100 },
      note: str,
      result: ref('JsonValue'),
      error: str,
      attempts: int,
      maxAttempts: int,
      version: int,
      createdAt: ms,
      updatedAt: ms,
      runAt: ms,
    },
    ['id', 'queue', 'status', 'progress', 'attempts', 'version', 'createdAt', 'updatedAt'],
  ),
  QueueList: obj(
    {
      queues: arrayOf(
        obj(
          {
            queue: str,
            total: int,
            counts: obj({ queued: int, running: int, succeeded: int, failed: int, canceled: int }, [
              'queued',
              'running',
              'succeeded',
              'failed',
              'canceled',
            ]),
          },
          ['queue', 'total', 'counts'],
        ),
      ),
    },
    ['queues'],
  ),
  JobSubmission: obj({
    payload: ref('JsonValue'),
    callbackUrl: { type: 'string', format: 'uri' },
    callbackSecret: str,
    idempotencyKey: str,
    maxAttempts: { type: 'integer', minimum: 1 },
    timeoutMs: { type: 'integer', minimum: 1 },
    delayMs: int,
    runAt: ms,
  }),
  JobSubmitted: obj(
    {
      id: str,
      queue: str,
      status: str,
      duplicate: bool,
      links: obj({ self: str, events: str, topic: str }, ['self', 'events']),
    },
    ['id', 'queue', 'status', 'links'],
  ),
  JobClaim: obj(
    {
      job: obj({ id: str, payload: ref('JsonValue'), attempt: int }, ['id', 'attempt']),
      lease: str,
      leaseMs: int,
    },
    ['job', 'lease', 'leaseMs'],
  ),
  JobProgress: obj({ lease: str, progress: { type: 'number', minimum: 0, maximum: 100 }, note: str }, [
    'lease',
    'progress',
  ]),
  JobComplete: obj({ lease: str, result: ref('JsonValue') }, ['lease']),
  JobFail: obj({ lease: str, error: str, retry: bool }, ['lease', 'error']),
  WebhookRequest: obj({ url: { type: 'string', format: 'uri' }, secret: str }, ['url']),
  WebhookCreated: obj({ id: str, url: str, topic: str, secret: str }, ['id', 'url', 'topic', 'secret']),
  WebhookState: obj(
    {
      id: str,
      topic: str,
      url: str,
      state: { type: 'string', enum: ['active', 'failing'] },
      createdAt: ms,
      delivered: int,
      failed: int,
      failedAttempts: int,
      backlog: int,
      cursor: int,
      attempt: int,
      nextAttemptAt: { type: ['integer', 'null'] },
      lastError: { type: ['string', 'null'] },
      lastErrorAt: { type: ['integer', 'null'] },
      lastDeliveredAt: { type: ['integer', 'null'] },
    },
    ['id', 'topic', 'url', 'state', 'delivered', 'failed', 'backlog'],
  ),
  WebhookList: obj({ webhooks: arrayOf(ref('WebhookState')) }, ['webhooks']),
  VapidPublicKey: obj({ publicKey: str }, ['publicKey']),
  PushSubscriptionRequest: {
    ...obj(
      {
        subscription: {
          ...obj(
            {
              endpoint: { type: 'string', format: 'uri' },
              expirationTime: { type: ['integer', 'null'] },
              keys: { ...obj({ p256dh: str, auth: str }, ['p256dh', 'auth']), additionalProperties: false },
            },
            ['endpoint', 'keys'],
          ),
          additionalProperties: false,
        },
        ttl: { type: 'integer', minimum: 0, maximum: 2_419_200 },
        urgency: { type: 'string', enum: ['very-low', 'low', 'normal', 'high'] },
      },
      ['subscription'],
    ),
    additionalProperties: false,
  },
  PushSubscriptionCreated: obj({ id: str }, ['id']),
  PushSubscriptionState: obj(
    {
      id: str,
      topic: str,
      pushService: str,
      ttl: int,
      urgency: str,
      state: { type: 'string', enum: ['active', 'failing'] },
      createdAt: ms,
      delivered: int,
      failed: int,
      failedAttempts: int,
      backlog: int,
      cursor: int,
      attempt: int,
      nextAttemptAt: { type: ['integer', 'null'] },
      lastError: { type: ['string', 'null'] },
      lastErrorAt: { type: ['integer', 'null'] },
      lastDeliveredAt: { type: ['integer', 'null'] },
    },
    ['id', 'topic', 'pushService', 'state', 'delivered', 'failed', 'backlog'],
  ),
  GraphqlRequest: obj(
    {
      query: str,
      variables: { type: ['object', 'null'] },
      operationName: { type: ['string', 'null'] },
      extensions: { type: 'object' },
    },
    ['query'],
  ),
  GraphqlResponse: obj({
    data: { type: ['object', 'null'] },
    errors: arrayOf(obj({ message: str, extensions: { type: 'object' } }, ['message'])),
  }),
  Health: obj({ status: str, engine: str }, ['status']),
};
