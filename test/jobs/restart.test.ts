/**
 * SQLite keeps jobs across a restart: queued jobs are still claimable, a running job's lease still
 * works, finished jobs keep their result, idempotency keys still hold, a lease that ran out while
 * the server was down is expired at startup, and the generated callback secret stays the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';
import { act, claim, eventually, getJob, sleep, submit } from './helpers.js';

describe('jobs survive a restart (sqlite)', () => {
  let fixture: EngineFixture;
  let server: TestServer;
  beforeAll(() => {
    fixture = ENGINE_FIXTURES.find((f) => f.name === 'sqlite')!.fixture();
  });
  afterAll(async () => {
    await server?.close();
    fixture.cleanup();
  });

  it('loses no job and honours leases, results and keys after a restart', async () => {
    server = await startServer(fixture);
    let url = server.url;
    const secret = server.server.app.webhooks.callbackSecret;
    expect(secret.generated).toBe(true);
    const done = (await submit(url, 'work', { payload: 'done', idempotencyKey: 'k-done' })).body.id;
    const running = (await submit(url, 'work', { payload: 'running' })).body.id;
    const expiring = (await submit(url, 'work', { payload: 'expiring', timeoutMs: 300 })).body.id;
    const waiting = (await submit(url, 'work', { payload: 'waiting' })).body.id;
    const first = (await claim(url, 'work')).body;
    await act(url, done, 'complete', { lease: first.lease, result: { size: 3 } });
    const held = (await claim(url, 'work')).body;
    expect(held.job.id).toBe(running);
    await act(url, running, 'progress', { lease: held.lease, progress: 60 });
    const short = (await claim(url, 'work')).body;
    expect(short.job.id).toBe(expiring);
    await server.close();
    await sleep(400); // the short lease runs out while the server is down

    server = await startServer(fixture);
    url = server.url;
    expect(server.server.app.webhooks.callbackSecret).toEqual({ value: secret.value, generated: false });
    expect((await getJob(url, done)).body).toMatchObject({ status: 'succeeded', result: { size: 3 } });
    expect((await getJob(url, running)).body).toMatchObject({ status: 'running', progress: 60 });
    const expired = await eventually(
      () => getJob(url, expiring),
      (answer) => answer.body.status === 'queued',
    );
    expect(expired.body.error).toMatch(/lease expired/);
    // The running job's worker carries on with its lease; the others are handed out again.
    expect((await act(url, running, 'complete', { lease: held.lease })).body.status).toBe('succeeded');
    const handedOut = new Set<string>();
    for (let i = 0; i < 2; i++) handedOut.add((await claim(url, 'work', 2)).body.job.id);
    expect(handedOut).toEqual(new Set([expiring, waiting]));
    expect((await claim(url, 'work')).status).toBe(204);
    const repeat = await submit(url, 'work', { payload: 'done', idempotencyKey: 'k-done' });
    expect(repeat.body).toMatchObject({ id: done, status: 'succeeded', duplicate: true });
  });
});
