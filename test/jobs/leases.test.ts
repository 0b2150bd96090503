/**
 * Job leases with short timeouts on every engine: an expired lease requeues the job (and the old
 * lease is refused), a held claim is woken when a lease runs out, progress renews the lease, and the
 * last attempt's expiry fails the job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';
import { act, claim, eventually, getJob, sleep, submit } from './helpers.js';

const LEASE_MS = 300;
let queueCount = 0;
const newQueue = () => `leases${++queueCount}`;

describe.each(ENGINE_FIXTURES)('job leases on $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let url: string;
  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture);
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  it('requeues a job whose lease ran out, and refuses the old lease', async () => {
    const queue = newQueue();
    const { id } = (await submit(url, queue, { payload: 1, timeoutMs: LEASE_MS })).body;
    const first = (await claim(url, queue)).body;
    expect(first.leaseMs).toBe(LEASE_MS);
    const requeued = await eventually(
      () => getJob(url, id),
      (answer) => answer.body.status === 'queued',
    );
    expect(requeued.body).toMatchObject({
      attempts: 1,
      version: 3,
      error: expect.stringMatching(/lease expired/),
    });
    const late = await act(url, id, 'complete', { lease: first.lease });
    expect(late.status).toBe(409);
    const second = (await claim(url, queue)).body;
    expect(second.job).toMatchObject({ id, attempt: 2 });
    expect((await act(url, id, 'complete', { lease: second.lease, result: 2 })).body.status).toBe(
      'succeeded',
    );
  });

  it('wakes a held claim the moment a lease runs out', async () => {
    const queue = newQueue();
    const { id } = (await submit(url, queue, { payload: 1, timeoutMs: LEASE_MS })).body;
    await claim(url, queue);
    const started = Date.now();
    const next = await claim(url, queue, 5);
    const waited = Date.now() - started;
    expect(next.body.job).toMatchObject({ id, attempt: 2 });
    expect(waited).toBeGreaterThanOrEqual(LEASE_MS - 100);
    expect(waited).toBeLessThan(LEASE_MS + 1_000);
  });

  it('renews the lease with every progress report', async () => {
    const queue = newQueue();
    const { id } = (await submit(url, queue, { payload: 1, timeoutMs: LEASE_MS })).body;
    const { lease } = (await claim(url, queue)).body;
    for (let percent = 10; percent <= 50; percent += 10) {
      await sleep(LEASE_MS / 2);
      expect((await act(url, id, 'progress', { lease, progress: percent })).status).toBe(200);
    }
    expect((await claim(url, queue)).status).toBe(204); // nobody else got it meanwhile
    expect((await act(url, id, 'complete', { lease })).body).toMatchObject({
      status: 'succeeded',
      attempts: 1,
    });
  });

  it('fails the job when the last attempt lease runs out', async () => {
    const queue = newQueue();
    const { id } = (await submit(url, queue, { payload: 1, timeoutMs: 200, maxAttempts: 2 })).body;
    await claim(url, queue);
    const second = await claim(url, queue, 5);
    expect(second.body.job.attempt).toBe(2);
    const failed = await eventually(
      () => getJob(url, id),
      (answer) => answer.body.status === 'failed',
    );
    expect(failed.body).toMatchObject({ attempts: 2, error: expect.stringMatching(/attempt 2 of 2/) });
    expect((await claim(url, queue, 1)).status).toBe(204);
  });
});
