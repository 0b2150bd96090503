/**
 * gRPC beside the other doors on one log: gRPC publishes reach SSE and WebSocket subscribers, HTTP
 * publishes reach gRPC streams, and a gRPC reader that stops reading is cut off with
 * RESOURCE_EXHAUSTED and a resume hint, then resumes with nothing lost.
 */
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { memory } from '../security/support.js';
import { post, startServer, type TestServer } from '../support/server.js';
import { type Answer, collect, type GrpcTestClient, grpc, grpcClient, messagesOf } from './support.js';

const BOUND = 128 * 1024;
let server: TestServer;
let client: GrpcTestClient;

beforeAll(async () => {
  server = await startServer(memory, { pushMaxBufferedBytes: BOUND });
  client = grpcClient(server.url);
});
afterAll(async () => {
  client.close();
  await server.close();
});

it('a gRPC publish reaches an SSE EventSource and a WebSocket subscriber in the same shape', async () => {
  const source = new EventSource(`${server.url}/v1/topics/cross.a/events?after=0`);
  const sse = new Promise<string>((resolve) => {
    source.addEventListener('e', (event) => resolve(event.data)); // named events skip onmessage
  });
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`);
  await new Promise((resolve) => ws.once('open', resolve));
  const wsMessage = new Promise<Answer>((resolve) => {
    ws.on('message', (frame) => {
      const parsed = JSON.parse(String(frame));
      if (parsed.op === 'message') resolve(parsed);
    });
  });
  ws.send(JSON.stringify({ op: 'subscribe', id: 1, topic: 'cross.a', after: 0 }));
  await new Promise((r) => setTimeout(r, 100));
  const published = await client.call('Publish', { topic: 'cross.a', data: '{"v": 1e3}', event: 'e' });
  const fromSse = JSON.parse(await sse);
  expect(fromSse).toEqual({
    topic: 'cross.a',
    offset: published.offset,
    time: published.time,
    event: 'e',
    data: { v: 1000 },
  });
  expect(await sse).toContain('"data":{"v": 1e3}'); // the publisher's own text, byte for byte
  const fromWs = await wsMessage;
  expect(fromWs).toMatchObject({ topic: 'cross.a', offset: published.offset, event: 'e', data: { v: 1000 } });
  source.close();
  ws.close();
});

it('an HTTP publish reaches a gRPC Subscribe stream', async () => {
  const stream = client.stream('Subscribe', { topic: 'cross.b', after: 0 });
  const got = collect(stream, (events) => messagesOf(events).length === 2);
  await post(`${server.url}/v1/topics/cross.b/messages`, [{ data: { n: 1 } }, { data: 'two', event: 'x' }]);
  const messages = messagesOf((await got).events);
  expect(messages.map((m) => [m.offset, m.data, m.event])).toEqual([
    [1, '{"n":1}', ''],
    [2, '"two"', 'x'],
  ]);
  stream.cancel();
});

it('ends a stream that stops reading with RESOURCE_EXHAUSTED and a resume hint; resuming loses nothing', async () => {
  const topic = 'cross.slow';
  const total = 400;
  const data = JSON.stringify('x'.repeat(8_000)); // 400 × 8 KB = 3.2 MB in batches of 80 KB, far past the bound
  const stream = client.stream('Subscribe', { topic, after: 0 });
  const received: number[] = [];
  let epoch = '';
  stream.on('data', (event: Answer) => {
    if (event.event === 'ready') epoch = event.ready.epoch;
    if (event.event === 'message') received.push(event.message.offset);
  });
  const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
  await new Promise((r) => setTimeout(r, 100));
  stream.pause(); // stop reading: HTTP/2 flow control fills, the server's buffer grows
  for (let i = 0; i < total; i += 10) {
    await post(
      `${server.url}/v1/topics/${topic}/messages`,
      `[${Array.from({ length: 10 }, () => `{"data":${data}}`).join(',')}]`,
    );
  }
  await new Promise((r) => setTimeout(r, 300));
  stream.resume();
  const error = await ended;
  expect(error.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect(error.details).toMatch(/slow consumer/);
  expect(error.metadata.get('switchboard-error-code')).toEqual(['rate_limited']);
  const hint = Number(error.metadata.get('switchboard-resume-after')[0]);
  expect(hint).toBeGreaterThan(0);
  expect(hint).toBeLessThan(total);
  expect(error.metadata.get('switchboard-resume-epoch')).toEqual([epoch]);
  const last = received.at(-1) ?? 0;
  expect(received).toEqual(Array.from({ length: last }, (_, i) => i + 1));

  // Resume after the last offset received: every remaining offset arrives exactly once.
  const resumed = client.stream('Subscribe', { topic, after: last, epoch });
  const rest = await collect(resumed, (events) => messagesOf(events).at(-1)?.offset === total, 15_000);
  expect(messagesOf(rest.events).map((m) => m.offset)).toEqual(
    Array.from({ length: total - last }, (_, i) => last + i + 1),
  );
  resumed.cancel();
});

it('ends streams with UNAVAILABLE and a resume hint when the server shuts down', async () => {
  const own = await startServer(memory);
  const ownClient = grpcClient(own.url);
  await ownClient.call('Publish', { topic: 'cross.stop', data: '1' });
  const stream = ownClient.stream('Subscribe', { topic: 'cross.stop', after: 0 });
  const got = await collect(stream, (events) => messagesOf(events).length === 1);
  const ended = collect(stream, () => false);
  const started = Date.now();
  await own.close();
  const { error } = await ended;
  expect(error?.code).toBe(grpc.status.UNAVAILABLE);
  expect(error?.metadata.get('switchboard-resume-after')).toEqual(['1']);
  expect(error?.metadata.get('switchboard-resume-epoch')).toEqual([got.events[0].ready.epoch]);
  expect(Date.now() - started).toBeLessThan(4_000);
  ownClient.close();
});
