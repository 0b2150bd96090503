/** Request-reply over gRPC (Request held until a responder answers with Respond, or over HTTP), and presence. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { memory } from '../security/support.js';
import { json, post, startServer, type TestServer } from '../support/server.js';
import { collect, failure, type GrpcTestClient, grpc, grpcClient, messagesOf } from './support.js';

let server: TestServer;
let client: GrpcTestClient;

beforeAll(async () => {
  server = await startServer(memory);
  client = grpcClient(server.url);
});
afterAll(async () => {
  client.close();
  await server.close();
});

it('answers a Request with the first reply; a second reply is FAILED_PRECONDITION', async () => {
  const responder = client.stream('Subscribe', { topic: 'rpc.add' });
  const received = collect(responder, (events) => messagesOf(events).length === 1);
  await new Promise((r) => setTimeout(r, 100));
  const answer = client.call('Request', { topic: 'rpc.add', data: '{"a":1,"b":2}', timeout_ms: 5_000 });
  const [request] = messagesOf((await received).events);
  expect(request.data).toBe('{"a":1,"b":2}');
  expect(request.reply_to).toMatch(/^_inbox\./);
  await client.call('Respond', { reply_to: request.reply_to, data: '{"sum": 3.0}' });
  expect(await answer).toMatchObject({ topic: 'rpc.add', offset: request.offset, reply: '{"sum": 3.0}' });
  const again = await failure(client.call('Respond', { reply_to: request.reply_to, data: '4' }));
  expect(again).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, errorCode: 'conflict' });
  responder.cancel();
});

it('a responder over HTTP answers a gRPC caller', async () => {
  const responder = client.stream('Subscribe', { topic: 'rpc.http' });
  const received = collect(responder, (events) => messagesOf(events).length === 1);
  await new Promise((r) => setTimeout(r, 100));
  const answer = client.call('Request', { topic: 'rpc.http', data: '"ping"' });
  const [request] = messagesOf((await received).events);
  expect((await post(`${server.url}/v1/replies/${request.reply_to}`, { data: 'pong' })).status).toBe(204);
  expect((await answer).reply).toBe('"pong"');
  responder.cancel();
});

it('times out with DEADLINE_EXCEEDED and the timeout code; a gRPC deadline closes the inbox', async () => {
  const timedOut = await failure(client.call('Request', { topic: 'rpc.none', data: '1', timeout_ms: 1_000 }));
  expect(timedOut).toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED, errorCode: 'timeout' });
  const deadline = await failure(
    client.call('Request', { topic: 'rpc.none', data: '1' }, { deadlineMs: 200 }),
  );
  expect(deadline.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  await new Promise((r) => setTimeout(r, 100));
  expect(server.server.hub.requests.pending).toBe(0);
  const unknown = await failure(client.call('Respond', { reply_to: '_inbox.nothing-here', data: '1' }));
  expect([grpc.status.NOT_FOUND, grpc.status.INVALID_ARGUMENT]).toContain(unknown.code);
  const system = await failure(client.call('Request', { topic: 'orders.dead-letter', data: '1' }));
  expect(system).toMatchObject({ code: grpc.status.PERMISSION_DENIED, errorCode: 'forbidden' });
});

it('lists a Subscribe stream in the topic presence with its info', async () => {
  const stream = client.stream('Subscribe', { topic: 'rpc.presence', info: '{"name":"Ada"}' });
  const ready = collect(stream, (events) => events.length === 1);
  await ready;
  const presence = await json(await fetch(`${server.url}/v1/topics/rpc.presence/presence`));
  expect(presence.count).toBe(1);
  expect(presence.clients[0]).toMatchObject({ transport: 'grpc', info: { name: 'Ada' } });
  stream.cancel();
  const badInfo = await collect(
    client.stream('Subscribe', { topic: 'rpc.presence', info: '[1]' }),
    () => false,
  );
  expect(badInfo.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
});
