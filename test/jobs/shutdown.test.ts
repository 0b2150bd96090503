/** Shutdown does not wait on jobs: held job long polls answer, job event streams end with `close`. */
import { describe, expect, it } from 'vitest';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { startServer } from '../support/server.js';
import { claim, sleep, submit } from './helpers.js';

describe('jobs at shutdown', () => {
  it('answers held long polls and held claims, and ends job streams at once', async () => {
    const server = await startServer({ name: 'memory', create: createMemoryEngine, cleanup() {} });
    const { url } = server;
    const { id } = (await submit(url, 'shutdown', { payload: 1 })).body;
    const longPoll = fetch(`${url}/v1/jobs/${id}?version=1&wait=30`).then((r) => r.status);
    const heldClaim = claim(url, 'empty', 30).then((r) => r.status);
    const stream = fetch(`${url}/v1/jobs/${id}/events`).then((r) => r.text());
    await sleep(100);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await longPoll).toBe(200);
    expect(await heldClaim).toBe(204);
    const text = await stream;
    expect(text).toMatch(/event: queued/);
    expect(text).toMatch(/event: close\ndata: \{"reason":"server restarting/);
  });
});
