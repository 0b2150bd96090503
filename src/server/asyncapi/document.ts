/**
 * The AsyncAPI 3 document (`GET /asyncapi.json`): the push channels — WebSocket `/v1/ws` (JSON ops),
 * Server-Sent Events per topic, and MQTT topics — with their messages. Validated by @asyncapi/parser
 * in the test suite. The message shape is the contract's, the same on every channel.
 */
import { ERROR_CODES } from '../../protocol/errors.js';

type Schema = Record<string, unknown>;
const str = { type: 'string' } as const;
const int = { type: 'integer', minimum: 0 } as const;
const obj = (properties: Record<string, unknown>, required: string[] = []): Schema => ({
  type: 'object',
  properties,
  required,
});
const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const op = (name: string, fields: Record<string, unknown>, required: string[] = []): Schema =>
  obj({ op: { const: name }, id: int, ...fields }, ['op', 'id', ...required]);

const SCHEMAS: Record<string, Schema> = {
  Message: obj(
    {
      topic: str,
      offset: { type: 'integer', minimum: 1 },
      time: { type: 'integer', description: 'server time, ms since the Unix epoch' },
      event: str,
      data: { description: 'any JSON value, byte for byte as published' },
      replyTo: { type: 'string', description: 'request-reply inbox' },
    },
    ['topic', 'offset', 'time', 'data'],
  ),
  Error: obj({ code: { type: 'string', enum: ERROR_CODES }, message: str }, ['code', 'message']),
};

interface MessageSpec {
  name: string;
  summary: string;
  payload: Schema;
}

const WS_CLIENT: MessageSpec[] = [
  {
    name: 'subscribe',
    summary: 'Subscribe from a cursor (or live), optionally as a consumer-group member',
    payload: op(
      'subscribe',
      { topic: str, after: int, epoch: str, group: str, window: int, info: { type: 'object' } },
      ['topic'],
    ),
  },
  {
    name: 'unsubscribe',
    summary: 'Stop a subscription',
    payload: op('unsubscribe', { topic: str, group: str }, ['topic']),
  },
  {
    name: 'publish',
    summary: 'Publish a message',
    payload: op(
      'publish',
      { topic: str, data: {}, event: str, idempotencyKey: str, delayMs: int, deliverAt: int },
      ['topic', 'data'],
    ),
  },
  {
    name: 'ack',
    summary: 'Acknowledge group deliveries',
    payload: op('ack', { topic: str, group: str, offsets: { type: 'array', items: int } }, [
      'topic',
      'group',
      'offsets',
    ]),
  },
  {
    name: 'nack',
    summary: 'Give group deliveries back',
    payload: op(
      'nack',
      { topic: str, group: str, offsets: { type: 'array', items: int }, delayMs: int, error: str },
      ['topic', 'group', 'offsets'],
    ),
  },
  { name: 'auth', summary: 'Authenticate (token mode)', payload: op('auth', { token: str }, ['token']) },
  {
    name: 'request',
    summary: 'Request-reply: publish a request and wait for its reply',
    payload: op('request', { topic: str, data: {}, timeoutMs: int }, ['topic', 'data']),
  },
  {
    name: 'respond',
    summary: 'Answer a request by its replyTo inbox',
    payload: op('respond', { replyTo: str, data: {} }, ['replyTo', 'data']),
  },
];

const WS_SERVER: MessageSpec[] = [
  {
    name: 'reply',
    summary: 'The answer to an op: ok with its fields, or an error',
    payload: obj({ op: { const: 'reply' }, id: int, ok: { type: 'boolean' }, error: schemaRef('Error') }, [
      'op',
      'id',
      'ok',
    ]),
  },
  {
    name: 'message',
    summary: 'A delivered message (plus group and attempt for group deliveries)',
    payload: {
      allOf: [schemaRef('Message'), obj({ op: { const: 'message' }, group: str, attempt: int }, ['op'])],
    },
  },
  {
    name: 'gap',
    summary: 'Messages between after and next were removed by retention',
    payload: obj({ op: { const: 'gap' }, topic: str, after: int, next: int }, ['op', 'topic']),
  },
  {
    name: 'reset',
    summary: 'The cursor belongs to another log (epoch changed): start again',
    payload: obj({ op: { const: 'reset' }, topic: str, epoch: { type: ['string', 'null'] }, last: int }, [
      'op',
      'topic',
    ]),
  },
];

const SSE_EVENTS: MessageSpec[] = [
  {
    name: 'sseMessage',
    summary: 'id: <offset>, event: <event> when the message has one, data: the message JSON',
    payload: schemaRef('Message'),
  },
  {
    name: 'sseReady',
    summary: 'event: ready, the starting cursor',
    payload: obj({ topic: str, after: int, epoch: str }),
  },
  { name: 'sseGap', summary: 'event: gap', payload: obj({ topic: str, after: int, next: int }) },
  {
    name: 'sseReset',
    summary: 'event: reset',
    payload: obj({ topic: str, epoch: { type: ['string', 'null'] }, last: int }),
  },
  {
    name: 'sseClose',
    summary: 'event: close with a code (4001 slow consumer, 4401 token expired)',
    payload: obj({ code: int }),
  },
];

const MQTT_MESSAGES: MessageSpec[] = [
  {
    name: 'mqttPayload',
    summary: 'The message data as JSON text; a string goes out as its raw text',
    payload: { description: 'any JSON value, or raw UTF-8 text for strings' },
  },
];

const messageMap = (specs: MessageSpec[]) =>
  Object.fromEntries(specs.map((spec) => [spec.name, { $ref: `#/components/messages/${spec.name}` }]));

export function asyncApiDocument(version: string): Record<string, unknown> {
  const all = [...WS_CLIENT, ...WS_SERVER, ...SSE_EVENTS, ...MQTT_MESSAGES];
  const channelMessages = (channel: string, specs: MessageSpec[]) =>
    specs.map((spec) => ({ $ref: `#/channels/${channel}/messages/${spec.name}` }));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Switchboard push channels',
      version,
      description:
        'Every push transport delivers the same message shape from the same per-topic log: WebSocket JSON ops, Server-Sent Events and MQTT. The HTTP routes are in /openapi.json.',
    },
    defaultContentType: 'application/json',
    servers: {
      http: { host: 'localhost:8080', protocol: 'ws', description: 'the main port (WebSocket and SSE)' },
      mqtt: {
        host: 'localhost:1883',
        protocol: 'mqtt',
        description: 'MQTT 3.1.1 over TCP on --mqtt-port (also WebSocket /mqtt on the main port)',
      },
    },
    channels: {
      websocket: {
        address: '/v1/ws',
        title: 'WebSocket',
        servers: [{ $ref: '#/servers/http' }],
        messages: messageMap([...WS_CLIENT, ...WS_SERVER]),
      },
      sse: {
        address: '/v1/topics/{topic}/events',
        title: 'Server-Sent Events',
        servers: [{ $ref: '#/servers/http' }],
        parameters: { topic: { description: 'the topic name' } },
        messages: messageMap(SSE_EVENTS),
      },
      mqtt: {
        address: '{mqttTopic}',
        title: 'MQTT topic a/b/c (the Switchboard topic a.b.c)',
        servers: [{ $ref: '#/servers/mqtt' }],
        parameters: { mqttTopic: { description: 'the topic with "/" for "."; + and # are * and >' } },
        messages: messageMap(MQTT_MESSAGES),
      },
    },
    operations: {
      sendOps: {
        action: 'send',
        channel: { $ref: '#/channels/websocket' },
        summary: 'Client ops, each with a numeric id',
        messages: channelMessages('websocket', WS_CLIENT),
      },
      receiveFrames: {
        action: 'receive',
        channel: { $ref: '#/channels/websocket' },
        summary: 'Replies, messages and control frames',
        messages: channelMessages('websocket', WS_SERVER),
      },
      receiveEvents: {
        action: 'receive',
        channel: { $ref: '#/channels/sse' },
        messages: channelMessages('sse', SSE_EVENTS),
      },
      publishMqtt: {
        action: 'send',
        channel: { $ref: '#/channels/mqtt' },
        messages: channelMessages('mqtt', MQTT_MESSAGES),
      },
      receiveMqtt: {
        action: 'receive',
        channel: { $ref: '#/channels/mqtt' },
        messages: channelMessages('mqtt', MQTT_MESSAGES),
      },
    },
    components: {
      schemas: SCHEMAS,
      messages: Object.fromEntries(
        all.map((spec) => [spec.name, { name: spec.name, summary: spec.summary, payload: spec.payload }]),
      ),
    },
  };
}

let cached: string | undefined;

export function asyncApiJson(version: string): string {
  cached ??= JSON.stringify(asyncApiDocument(version));
  return cached;
}
