/** Token mode over gRPC: `authorization: Bearer` metadata, the same authorize point as HTTP. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mint, startTokenServer } from '../security/support.js';
import type { TestServer } from '../support/server.js';
import { collect, failure, type GrpcTestClient, grpc, grpcClient, messagesOf } from './support.js';

let server: TestServer;
let client: GrpcTestClient;

beforeAll(async () => {
  server = await startTokenServer({
    publishRate: 5,
    publishBurst: 5,
    publishBytesPerSecond: 10_000,
    publishBytesBurst: 10_000,
  });
  client = grpcClient(server.url);
});
afterAll(async () => {
  client.close();
  await server.close();
});

it('refuses calls without a valid token with UNAUTHENTICATED', async () => {
  const none = await failure(client.call('Publish', { topic: 'auth.a', data: '1' }));
  expect(none).toMatchObject({ code: grpc.status.UNAUTHENTICATED, errorCode: 'unauthorized' });
  const garbage = await failure(client.call('Fetch', { topic: 'auth.a' }, { token: 'not-a-jwt' }));
  expect(garbage.code).toBe(grpc.status.UNAUTHENTICATED);
  const expired = await failure(
    client.call('Fetch', { topic: 'auth.a' }, { token: await mint({ subscribe: ['>'], expiresIn: -120 }) }),
  );
  expect(expired.errorCode).toBe('unauthorized');
  const stream = client.stream('Subscribe', { topic: 'auth.a' });
  const { error } = await collect(stream, () => false);
  expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
});

it('allows exactly the token topics, per capability (PERMISSION_DENIED outside them)', async () => {
  const token = await mint({ publish: ['auth.pub.*'], subscribe: ['auth.sub'] });
  expect((await client.call('Publish', { topic: 'auth.pub.x', data: '1' }, { token })).offset).toBe(1);
  const outside = await failure(client.call('Publish', { topic: 'auth.other', data: '1' }, { token }));
  expect(outside).toMatchObject({ code: grpc.status.PERMISSION_DENIED, errorCode: 'forbidden' });
  const noRead = await failure(client.call('Fetch', { topic: 'auth.pub.x' }, { token }));
  expect(noRead.code).toBe(grpc.status.PERMISSION_DENIED);
  const noClaim = await failure(client.call('Claim', { topic: 'auth.pub.x', group: 'g' }, { token }));
  expect(noClaim.code).toBe(grpc.status.PERMISSION_DENIED);
  const noStream = await collect(client.stream('Subscribe', { topic: 'auth.pub.x' }, { token }), () => false);
  expect(noStream.error?.code).toBe(grpc.status.PERMISSION_DENIED);
  expect((await client.call('Fetch', { topic: 'auth.sub' }, { token })).messages).toEqual([]);
  // A dead-letter topic is readable with subscribe on the topic it derives from, never writable.
  expect((await client.call('Fetch', { topic: 'auth.sub.dead-letter' }, { token })).messages).toEqual([]);
  const admin = await mint({ admin: true });
  const systemWrite = await failure(
    client.call('Publish', { topic: 'auth.sub.dead-letter', data: '1' }, { token: admin }),
  );
  expect(systemWrite).toMatchObject({ code: grpc.status.PERMISSION_DENIED, errorCode: 'forbidden' });
});

it('streams with a token, and jobs check the queue', async () => {
  const token = await mint({ publish: ['auth.s', 'auth-q'], subscribe: ['auth.s'] });
  const stream = client.stream('Subscribe', { topic: 'auth.s', after: 0 }, { token });
  const got = collect(stream, (events) => messagesOf(events).length === 1);
  await client.call('Publish', { topic: 'auth.s', data: '"hi"' }, { token });
  expect(messagesOf((await got).events)[0].data).toBe('"hi"');
  stream.cancel();
  const job = await client.call('SubmitJob', { queue: 'auth-q', payload: '1' }, { token });
  const read = await failure(client.call('GetJob', { id: job.job.id }, { token }));
  expect(read.code).toBe(grpc.status.PERMISSION_DENIED); // subscribe on auth-q is missing
  const reader = await mint({ subscribe: ['auth-q'] });
  expect((await client.call('GetJob', { id: job.job.id }, { token: reader })).job.id).toBe(job.job.id);
});

it('applies the publish rate limit with RESOURCE_EXHAUSTED and a retry trailer', async () => {
  const token = await mint({ sub: 'rate', publish: ['auth.rate'] });
  let limited: Awaited<ReturnType<typeof failure>> | undefined;
  for (let i = 0; i < 20 && !limited; i++) {
    limited = await failure(client.call('Publish', { topic: 'auth.rate', data: '1' }, { token })).catch(
      () => undefined,
    );
  }
  expect(limited).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, errorCode: 'rate_limited' });
  expect(Number(limited!.metadata.get('switchboard-retry-after-ms')[0])).toBeGreaterThan(0);
});

it('applies the publish byte rate to what a call carries', async () => {
  const token = await mint({ sub: 'bytes', publish: ['auth.bytes'] });
  const data = JSON.stringify('x'.repeat(6_000));
  expect((await client.call('Publish', { topic: 'auth.bytes', data }, { token })).offset).toBe(1);
  const limited = await failure(client.call('Publish', { topic: 'auth.bytes', data }, { token }));
  expect(limited).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, errorCode: 'rate_limited' });
});
