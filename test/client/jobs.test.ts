/**
 * Jobs through the SDK: submit returns a handle whose progress events follow a worker's reports
 * and whose `result()` resolves with the result (or rejects with JobFailedError). The worker here
 * is plain HTTP (claim, progress, complete/fail), as any language would do it.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { JobFailedError } from '../../src/client/index.js';
import type { TestServer } from '../support/server.js';
import { memoryServer, recordedClient, uniqueTopic } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await memoryServer();
});
afterAll(() => server.close());

// biome-ignore lint/suspicious/noExplicitAny: worker answers of several shapes
async function call(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, json: response.status === 204 ? undefined : await response.json() };
}

async function claim(queue: string): Promise<{ job: { id: string; payload: unknown }; lease: string }> {
  const { status, json } = await call(`/v1/queues/${queue}/claim?wait=5`);
  expect(status).toBe(200);
  return json;
}

test('submit → progress events → result', async () => {
  const { client } = recordedClient(server.url, { transports: 'poll' });
  const queue = uniqueTopic('q');
  const handle = await client.jobs.submit(queue, { resize: 'cat.png' });
  const progress: number[] = [];
  handle.on('progress', (event) => progress.push(event.progress));
  const result = handle.result();

  const { job, lease } = await claim(queue);
  expect(job).toMatchObject({ id: handle.id, payload: { resize: 'cat.png' } });
  for (const step of [30, 60]) {
    expect((await call(`/v1/jobs/${job.id}/progress`, { lease, progress: step })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 60)); // each step is its own version
  }
  expect(
    (await call(`/v1/jobs/${job.id}/complete`, { lease, result: { url: 'cat-small.png' } })).status,
  ).toBe(200);

  expect(await result).toEqual({ url: 'cat-small.png' });
  expect(progress).toContain(60);
  expect(handle.state).toMatchObject({ status: 'succeeded' });
  client.close();
});

test('a failed job rejects result() with JobFailedError carrying the job', async () => {
  const { client } = recordedClient(server.url, { transports: 'poll' });
  const queue = uniqueTopic('q');
  const handle = await client.jobs.submit(queue, 1, { maxAttempts: 1 });
  const { job, lease } = await claim(queue);
  await call(`/v1/jobs/${job.id}/fail`, { lease, error: 'out of memory', retry: false });
  const error = (await handle.result().catch((e: unknown) => e)) as JobFailedError;
  expect(error).toBeInstanceOf(JobFailedError);
  expect(error.message).toContain(`job ${handle.id} failed`);
  expect(error.job).toMatchObject({ status: 'failed' });
  client.close();
});

test('a retried submit with the same idempotency key does not create a second job', async () => {
  const { client } = recordedClient(server.url, { transports: 'poll' });
  const queue = uniqueTopic('q');
  const first = await client.jobs.submit(queue, 'x', { idempotencyKey: 'order-7' });
  const again = await client.jobs.submit(queue, 'x', { idempotencyKey: 'order-7' });
  expect(again.id).toBe(first.id);
  client.close();
});
