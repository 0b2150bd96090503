/** Every call of the gRPC door, over the main port, with @grpc/grpc-js and the shipped proto. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('gRPC door', () => {
  it('publishes and fetches the same message shape as HTTP', async () => {
    const published = await client.call('Publish', { topic: 'calls.a', data: '{"n": 1.50}', event: 'made' });
    expect(published).toMatchObject({ topic: 'calls.a', offset: 1, duplicate: false });
    expect(published.time).toBeGreaterThan(0);
    const again = await client.call('Publish', { topic: 'calls.a', data: '2', idempotency_key: 'k1' });
    const duplicate = await client.call('Publish', { topic: 'calls.a', data: '2', idempotency_key: 'k1' });
    expect(duplicate).toMatchObject({ offset: again.offset, duplicate: true });

    const fetched = await client.call('Fetch', { topic: 'calls.a', after: 0 });
    expect(fetched.messages).toHaveLength(2);
    expect(fetched.messages[0]).toMatchObject({
      topic: 'calls.a',
      offset: 1,
      event: 'made',
      data: '{"n": 1.50}',
    });
    expect(fetched).toMatchObject({ next: 2, first: 1, last: 2, gap: false, reset: false });
    expect(fetched.epoch).toMatch(/.+/);
    // The HTTP API sees the same data, numbers kept as sent.
    const text = await (await fetch(`${server.url}/v1/topics/calls.a/messages`)).text();
    expect(text).toContain('"data":{"n": 1.50}');
  });

  it('long-polls with wait_ms and answers within milliseconds of a publish', async () => {
    const held = client.call('Fetch', { topic: 'calls.lp', after: 0, wait_ms: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    expect(server.server.hub.heldRequests).toBe(1);
    await post(`${server.url}/v1/topics/calls.lp/messages`, { data: 'hi' });
    const answer = await held;
    expect(answer.messages.map((m: { data: string }) => m.data)).toEqual(['"hi"']);
  });

  it('releases a held fetch and a held claim when the deadline passes', async () => {
    const fetchFailure = await failure(
      client.call('Fetch', { topic: 'calls.dl', wait_ms: 30_000 }, { deadlineMs: 300 }),
    );
    expect(fetchFailure.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const claimFailure = await failure(
      client.call('Claim', { topic: 'calls.dl', group: 'g', wait_ms: 30_000 }, { deadlineMs: 300 }),
    );
    expect(claimFailure.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.server.hub.heldRequests).toBe(0);
    expect(server.server.hub.groups.heldClaims).toBe(0);
  });

  it('releases a held fetch when the client cancels', async () => {
    const call = client.raw.makeUnaryRequest(
      '/switchboard.v1.Switchboard/Fetch',
      (x: Buffer) => x,
      (x: Buffer) => x,
      // FetchRequest{topic:"calls.cancel", wait_ms:30000}
      Buffer.from([0x0a, 12, ...Buffer.from('calls.cancel'), 0x20, 0xb0, 0xea, 0x01]),
      () => {},
    );
    await new Promise((r) => setTimeout(r, 150));
    expect(server.server.hub.heldRequests).toBe(1);
    call.cancel();
    await new Promise((r) => setTimeout(r, 150));
    expect(server.server.hub.heldRequests).toBe(0);
  });

  it('claims, acks and nacks through a consumer group', async () => {
    for (const n of [1, 2, 3]) await client.call('Publish', { topic: 'calls.g', data: String(n) });
    const claimed = await client.call('Claim', { topic: 'calls.g', group: 'workers', member: 'm1', max: 2 });
    expect(claimed).toMatchObject({ topic: 'calls.g', group: 'workers', member: 'm1' });
    expect(claimed.lease_ms).toBeGreaterThan(0);
    expect(
      claimed.messages.map((d: { message: { offset: number }; attempt: number }) => [
        d.message.offset,
        d.attempt,
      ]),
    ).toEqual([
      [1, 1],
      [2, 1],
    ]);
    const acked = await client.call('Ack', {
      topic: 'calls.g',
      group: 'workers',
      offsets: [1],
      member: 'm1',
    });
    expect(acked).toMatchObject({ offsets: [1], committed: 1 });
    const nacked = await client.call('Nack', {
      topic: 'calls.g',
      group: 'workers',
      offsets: [2],
      member: 'm1',
    });
    expect(nacked.offsets).toEqual([2]);
    const again = await client.call('Claim', { topic: 'calls.g', group: 'workers', member: 'm2', max: 5 });
    expect(
      again.messages.map((d: { message: { offset: number }; attempt: number }) => [
        d.message.offset,
        d.attempt,
      ]),
    ).toEqual([
      [2, 2],
      [3, 1],
    ]);
    const stale = await failure(
      client.call('Ack', { topic: 'calls.g', group: 'workers', offsets: [3], member: 'm1' }),
    );
    expect(stale.errorCode).toBe('conflict');
    expect(stale.code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it('subscribes replay-then-live and resumes after an offset', async () => {
    for (const n of [1, 2]) await client.call('Publish', { topic: 'calls.s', data: String(n) });
    const stream = client.stream('Subscribe', { topic: 'calls.s', after: 0 });
    const live = collect(stream, (events) => messagesOf(events).length === 3);
    await new Promise((r) => setTimeout(r, 100));
    await post(`${server.url}/v1/topics/calls.s/messages`, { data: 3 });
    const { events } = await live;
    expect(events[0].event).toBe('ready');
    expect(events[0].ready).toMatchObject({ topic: 'calls.s', after: 0, last: 2 });
    expect(messagesOf(events).map((m) => m.offset)).toEqual([1, 2, 3]);
    stream.cancel();

    const resumed = client.stream('Subscribe', { topic: 'calls.s', after: 2, epoch: events[0].ready.epoch });
    const got = await collect(resumed, (e) => messagesOf(e).length === 1);
    expect(messagesOf(got.events).map((m) => m.data)).toEqual(['3']);
    resumed.cancel();

    const reset = client.stream('Subscribe', { topic: 'calls.s', after: 2, epoch: 'another-epoch' });
    const afterReset = await collect(reset, (e) => messagesOf(e).length === 3);
    expect(afterReset.events.map((e) => e.event)).toEqual([
      'ready',
      'reset',
      'message',
      'message',
      'message',
    ]);
    reset.cancel();
  });

  it('a subscription without `after` starts live', async () => {
    await client.call('Publish', { topic: 'calls.live', data: '"old"' });
    const stream = client.stream('Subscribe', { topic: 'calls.live' });
    const got = collect(stream, (e) => messagesOf(e).length === 1);
    await new Promise((r) => setTimeout(r, 100));
    await client.call('Publish', { topic: 'calls.live', data: '"new"' });
    expect(messagesOf((await got).events).map((m) => m.data)).toEqual(['"new"']);
    stream.cancel();
    await new Promise((r) => setTimeout(r, 50));
    const stats = await json(await fetch(`${server.url}/v1/topics/calls.live`));
    expect(stats.subscribers.grpc ?? 0).toBe(0);
  });

  it('submits, reads, long-polls and watches a job', async () => {
    const submitted = await client.call('SubmitJob', { queue: 'calls-q', payload: '{"x":1}' });
    expect(submitted.job).toMatchObject({ queue: 'calls-q', status: 'JOB_STATUS_QUEUED', version: 1 });
    expect(submitted.status_topic).toBe(`jobs.calls-q.${submitted.job.id}`);
    const id = submitted.job.id;
    expect((await client.call('GetJob', { id })).job.status).toBe('JOB_STATUS_QUEUED');

    const watch = client.stream('WatchJob', { id });
    const watched = collect(watch, () => false, 10_000);
    const waited = client.call('GetJob', { id, version: 1, wait_ms: 10_000 });
    const claim = await json(await fetch(`${server.url}/v1/queues/calls-q/claim`, { method: 'POST' }));
    expect(claim.job.id).toBe(id);
    expect((await waited).job.status).toBe('JOB_STATUS_RUNNING');
    await post(`${server.url}/v1/jobs/${id}/complete`, `{"lease":"${claim.lease}","result":{"ok":1.0}}`);
    const { events, ended } = await watched;
    expect(ended).toBe(true);
    expect(events.map((e) => e.event)).toEqual(['queued', 'running', 'succeeded']);
    expect(events.at(-1).job).toMatchObject({ status: 'JOB_STATUS_SUCCEEDED', result: '{"ok":1.0}' });
    expect(events.map((e) => e.offset)).toEqual([1, 2, 3]);

    const missing = await failure(client.call('GetJob', { id: 'job_AAAAAAAAAAAAAAAAAAAAAA' }));
    expect(missing).toMatchObject({ code: grpc.status.NOT_FOUND, errorCode: 'not_found' });
  });

  it('refuses bad input with the status and the contract code trailer', async () => {
    const badTopic = await failure(client.call('Publish', { topic: 'bad topic!', data: '1' }));
    expect(badTopic).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, errorCode: 'bad_request' });
    expect(badTopic.details).toMatch(/topic/);
    const notJson = await failure(client.call('Publish', { topic: 'calls.bad', data: 'hello' }));
    expect(notJson).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, errorCode: 'bad_request' });
    const noData = await failure(client.call('Publish', { topic: 'calls.bad' }));
    expect(noData.errorCode).toBe('bad_request');
    const tooBig = await failure(
      client.call('Publish', { topic: 'calls.bad', data: `"${'x'.repeat(70_000)}"` }),
    );
    expect(tooBig).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, errorCode: 'payload_too_large' });
    const wayTooBig = await failure(
      client.call('Publish', { topic: 'calls.bad', data: `"${'x'.repeat(200_000)}"` }),
    );
    expect(wayTooBig.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const badWait = await failure(client.call('Fetch', { topic: 'calls.bad', wait_ms: 61_000 }));
    expect(badWait.errorCode).toBe('bad_request');
    // The server is still up.
    expect((await client.call('Publish', { topic: 'calls.bad', data: '1' })).offset).toBe(1);
  });

  it('refuses publishing to a system topic with PERMISSION_DENIED', async () => {
    for (const topic of ['orders.dead-letter', 'jobs.q', 'orders.presence']) {
      const refused = await failure(client.call('Publish', { topic, data: '1' }));
      expect(refused).toMatchObject({ code: grpc.status.PERMISSION_DENIED, errorCode: 'forbidden' });
    }
    const claim = await failure(client.call('Claim', { topic: 'jobs.q', group: 'workers' }));
    expect(claim.errorCode).toBe('forbidden');
  });

  it('lists the service through server reflection', async () => {
    const { loadSync } = await import('@grpc/proto-loader');
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const reflectionProto = require.resolve(
      '@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto',
    );
    const definition = loadSync(reflectionProto, {
      keepCase: true,
      longs: Number,
      defaults: true,
      oneofs: true,
    });
    // biome-ignore lint/suspicious/noExplicitAny: generated client
    const Reflection = (grpc.loadPackageDefinition(definition) as any).grpc.reflection.v1.ServerReflection;
    const reflection = new Reflection(new URL(server.url).host, grpc.credentials.createInsecure());
    const call = reflection.ServerReflectionInfo();
    const answer = await new Promise<{ list_services_response: { service: { name: string }[] } }>(
      (resolve, reject) => {
        call.on('data', resolve);
        call.on('error', reject);
        call.write({ list_services: '*' });
      },
    );
    call.end();
    reflection.close();
    expect(answer.list_services_response.service.map((s) => s.name)).toContain('switchboard.v1.Switchboard');
  });

  it('keeps HTTP/1.1 on the same port working, and counts gRPC in the metrics', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_messages_delivered_total\{transport="grpc"\} [1-9]/);
    expect(metrics).toMatch(/transport="grpc"/);
  });
});
