/**
 * Delayed jobs: `delayMs`/`runAt` on a submission keep the job `queued` with its `runAt`, and no
 * worker can claim it before then; afterwards it is claimed like any job. Bad delays are 400s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

describe.each(ENGINE_FIXTURES.filter((f) => f.name !== 'redis'))('delayed jobs: $name', ({ fixture }) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fixture());
  });
  afterAll(() => server.close());

  it('is queued with runAt and not claimable before it; claimable after', async () => {
    const queue = `later-${Math.random().toString(36).slice(2, 8)}`;
    const before = Date.now();
    const submitted = await post(`${server.url}/v1/queues/${queue}/jobs`, {
      payload: { n: 1 },
      delayMs: 1_500,
    });
    expect(submitted.status).toBe(202);
    const { id } = await json(submitted);
    const job = await json(await fetch(`${server.url}/v1/jobs/${id}`));
    expect(job).toMatchObject({ id, status: 'queued', runAt: expect.any(Number) });
    expect(job.runAt).toBeGreaterThanOrEqual(before + 1_500);

    const early = await fetch(`${server.url}/v1/queues/${queue}/claim?wait=0`, { method: 'POST' });
    expect(early.status).toBe(204);
    // A worker long-polling from before runAt gets the job once it is due, not earlier.
    const claimed = await fetch(`${server.url}/v1/queues/${queue}/claim?wait=10`, { method: 'POST' });
    const claimedAt = Date.now();
    expect(claimed.status).toBe(200);
    expect((await json(claimed)).job).toMatchObject({ id, payload: { n: 1 }, attempt: 1 });
    expect(claimedAt).toBeGreaterThanOrEqual(job.runAt);
    expect(await json(await fetch(`${server.url}/v1/jobs/${id}`))).toMatchObject({
      status: 'running',
      attempts: 1,
    });
  }, 30_000);

  it('accepts runAt, and refuses bad delays with the contract JSON', async () => {
    const queue = `later-${Math.random().toString(36).slice(2, 8)}`;
    const ok = await post(`${server.url}/v1/queues/${queue}/jobs`, {
      payload: 1,
      runAt: Date.now() + 60_000,
    });
    expect(ok.status).toBe(202);
    for (const [body, rule] of [
      [{ payload: 1, delayMs: -1 }, /delayMs/],
      [{ payload: 1, runAt: 'noon' }, /runAt "noon" is invalid/],
      [{ payload: 1, delayMs: 5, runAt: Date.now() }, /either delayMs or runAt/],
    ] as const) {
      const response = await post(`${server.url}/v1/queues/${queue}/jobs`, body);
      expect(response.status).toBe(400);
      expect(await json(response)).toEqual({
        error: { code: 'bad_request', message: expect.stringMatching(rule) },
      });
    }
  });
});
