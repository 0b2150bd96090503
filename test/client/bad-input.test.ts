/**
 * Servers that answer errors, send malformed frames or vanish: the SDK reports typed errors (naming
 * URL and transport), reconnects with backoff, resumes from its cursor, and never delivers an
 * offset twice. The server here is a scripted fake (fake-server.ts) so each misbehaviour is exact.
 */
import { afterEach, expect, test } from 'vitest';
import type { WebSocket } from 'ws';
import { type Message, SwitchboardError, TransportError } from '../../src/client/index.js';
import { type FakeServer, fakeMessage, sseEvent, startFakeServer } from './fake-server.js';
import { offsets, range, recordedClient, waitFor } from './support.js';

const TOPIC = 'orders';
let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

test.each([
  ['a frame that is not JSON', 'garbage{'],
  [
    'a message frame with a bad offset',
    JSON.stringify({ op: 'message', topic: TOPIC, offset: 'x', time: 1, data: 1 }),
  ],
])(
  'websocket: %s → TransportError, reconnect, resume from the cursor without duplicates',
  async (_name, badFrame) => {
    const subscribes: Array<Record<string, unknown>> = [];
    fake = await startFakeServer({
      websocket(socket: WebSocket, index) {
        socket.on('message', (data) => {
          const op = JSON.parse(String(data));
          if (op.op !== 'subscribe') return;
          subscribes.push(op);
          socket.send(
            JSON.stringify({
              op: 'reply',
              id: op.id,
              ok: true,
              topic: TOPIC,
              epoch: 'e1',
              last: 5,
              after: op.after,
            }),
          );
          if (index === 0) {
            for (const n of [1, 2]) socket.send(JSON.stringify({ op: 'message', ...fakeMessage(TOPIC, n) }));
            socket.send(badFrame);
            socket.send(JSON.stringify({ op: 'message', ...fakeMessage(TOPIC, 3) })); // after the bad frame: ignored
          } else {
            for (const n of [2, 3, 4, 5])
              socket.send(JSON.stringify({ op: 'message', ...fakeMessage(TOPIC, n) })); // 2 again
          }
        });
      },
    });
    const { client, errors, states } = recordedClient(fake.url, { transports: 'websocket' });
    const got: Message[] = [];
    client.subscribe(TOPIC, { after: 0, onMessage: (m) => got.push(m) });
    await waitFor('5 messages', () => got.length >= 5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(offsets(got)).toEqual(range(1, 5));
    expect(subscribes.map((op) => [op.after, op.epoch])).toEqual([
      [0, undefined],
      [2, 'e1'],
    ]);
    const error = errors.find((e) => e instanceof TransportError)!;
    expect(error.message).toMatch(/^websocket to ws:\/\/127\.0\.0\.1:\d+\/v1\/ws sent a/);
    expect(error).toMatchObject({ transport: 'websocket' });
    expect(states.some((s) => s.state === 'reconnecting' && (s.delayMs ?? 0) > 0)).toBe(true);
    client.close();
  },
);

test('sse: a 503, then a malformed event, then a good stream resumed from the cursor', async () => {
  const afters: Array<string | null> = [];
  fake = await startFakeServer({
    http(request, response, index) {
      afters.push(new URL(request.url!, 'http://x').searchParams.get('after'));
      if (index === 0) {
        response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
        response.end(JSON.stringify({ error: { code: 'unavailable', message: 'store is down' } }));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const after = Number(afters.at(-1)?.split(':')[1] ?? 0);
      response.write(
        sseEvent(
          { topics: [{ topic: TOPIC, epoch: 'e1', last: 5, after }] },
          { event: 'ready', id: `${TOPIC}:${after}` },
        ),
      );
      if (index === 1) {
        for (const n of [1, 2]) response.write(sseEvent(fakeMessage(TOPIC, n), { id: `${TOPIC}:${n}` }));
        response.write(sseEvent('{not json', { id: `${TOPIC}:3` }));
        return;
      }
      for (const n of range(after + 1, 5))
        response.write(sseEvent(fakeMessage(TOPIC, n), { id: `${TOPIC}:${n}` }));
    },
  });
  const { client, errors } = recordedClient(fake.url, { transports: 'sse' });
  const got: Message[] = [];
  client.subscribe(TOPIC, { after: 0, onMessage: (m) => got.push(m) });
  await waitFor('5 messages', () => got.length >= 5);
  expect(offsets(got)).toEqual(range(1, 5));
  expect(afters).toEqual([`${TOPIC}:0`, `${TOPIC}:0`, `${TOPIC}:2`]);
  const unavailable = errors[0] as SwitchboardError;
  expect(unavailable).toBeInstanceOf(SwitchboardError);
  expect(unavailable).toMatchObject({ code: 'unavailable', retryAfterMs: 1000 });
  expect(unavailable.message).toMatch(
    /^store is down \(GET http:\/\/127\.0\.0\.1:\d+\/v1\/events\?topic=orders&after=orders%3A0 → 503\)$/,
  );
  expect(errors[1]).toBeInstanceOf(TransportError);
  expect(errors[1]!.message).toMatch(/^sse to http:\/\/\S+ sent an event whose data is not JSON/);
  client.close();
});

test('polling: a non-contract 500 and a malformed answer are typed errors; the cursor survives', async () => {
  const afters: string[] = [];
  fake = await startFakeServer({
    http(request, response, index) {
      const after = new URL(request.url!, 'http://x').searchParams.get('after')!;
      afters.push(after);
      if (index === 0) {
        response.writeHead(500, { 'content-type': 'text/html' }).end('<html>oops</html>');
        return;
      }
      const json = (body: unknown) =>
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (index === 2) return json({ topic: TOPIC, messages: 'nope' });
      const from = Number(after) + 1;
      const to = index === 1 ? 2 : 5;
      const messages = range(from, to).map((n) => fakeMessage(TOPIC, n));
      return json({
        topic: TOPIC,
        epoch: 'e1',
        messages,
        next: to,
        first: 1,
        last: 5,
        gap: false,
        reset: false,
      });
    },
  });
  const { client, errors } = recordedClient(fake.url, { transports: 'longpoll' });
  const got: Message[] = [];
  client.subscribe(TOPIC, { after: 0, onMessage: (m) => got.push(m) });
  await waitFor('5 messages', () => got.length >= 5);
  expect(offsets(got)).toEqual(range(1, 5));
  expect(afters.slice(0, 4)).toEqual(['0', '0', '2', '2']);
  expect(errors.map((e) => e.constructor.name)).toEqual(['TransportError', 'TransportError']);
  expect(errors[0]!.message).toMatch(
    /^longpoll to http:\/\/\S+\?after=0&limit=1000&wait=5: GET answered 500 with a body that is not JSON \("<html>oops<\/html>"\)/,
  );
  expect(errors[1]!.message).toMatch(
    /^longpoll to http:\/\/\S+: malformed answer: 'messages' is not an array/,
  );
  client.close();
});

test('a server that is gone: every transport is tried, errors name URL and transport, delays grow', async () => {
  const gone = await startFakeServer({});
  const url = gone.url;
  await gone.close();
  const { client, errors, states } = recordedClient(url, { reconnect: { minDelayMs: 20, maxDelayMs: 160 } });
  client.subscribe(TOPIC, { after: 0 });
  await waitFor('four failed rounds', () => states.filter((s) => s.state === 'reconnecting').length >= 4);
  client.close();
  const tried = new Set(states.filter((s) => s.state === 'connecting').map((s) => s.transport));
  expect(tried).toEqual(new Set(['websocket', 'sse', 'longpoll', 'poll', undefined]));
  const transports = new Set(errors.map((e) => (e as TransportError).transport));
  expect(transports).toEqual(new Set(['websocket', 'sse', 'longpoll', 'poll']));
  expect(
    errors.every((e) => e instanceof TransportError && e.message.includes(url.replace('http://', ''))),
  ).toBe(true);
  const delays = states.filter((s) => s.state === 'reconnecting').map((s) => s.delayMs!);
  expect(delays[3]!).toBeGreaterThan(delays[0]!);
  expect(states.at(-1)).toEqual({ state: 'closed', transport: undefined });
});
