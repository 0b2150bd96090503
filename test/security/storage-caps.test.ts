/**
 * Issue 19: stored bytes are capped per topic and overall (maxTopicBytes, maxStoredBytes): a publish
 * that would pass a cap answers 507 `insufficient_storage` before memory or disk runs out; retention
 * and deletes give the room back; a hub that starts on a filled store estimates what is there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub } from '../../src/core/hub.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { connectWs } from '../push/support/ws-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { memory } from './support.js';

const KB = 'x'.repeat(998); // data "xxx…" is 1,000 bytes of JSON text

const publish = (url: string, topic: string, body: unknown = { data: KB }) =>
  fetch(`${url}/v1/topics/${topic}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('storage caps over HTTP and WebSocket', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(memory, {
      maxTopicBytes: 2_500,
      maxStoredBytes: 6_500,
      retention: { maxCount: 10_000, maxAgeMs: 3_600_000, rules: [{ pattern: 'short.>', maxCount: 2 }] },
    });
  });
  afterAll(() => server.close());

  it('answers 507 insufficient_storage once a topic would pass maxTopicBytes', async () => {
    expect((await publish(server.url, 'capped')).status).toBe(201);
    expect((await publish(server.url, 'capped')).status).toBe(201);
    const refused = await publish(server.url, 'capped');
    expect(refused.status).toBe(507);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('insufficient_storage');
    expect(body.error.message).toMatch(/maxTopicBytes/);
    // A batch is all or nothing.
    const batch = await publish(server.url, 'capped.batch', [{ data: KB }, { data: KB }, { data: KB }]);
    expect(batch.status).toBe(507);
    const ws = await connectWs(server.url);
    const reply = await ws.request({ op: 'publish', topic: 'capped', data: KB });
    expect(reply).toMatchObject({ ok: false, error: { code: 'insufficient_storage' } });
    ws.close();
  });

  it('counts what retention removed: a short topic never fills up', async () => {
    for (let i = 0; i < 10; i++)
      expect((await publish(server.url, 'short.t')).status, `publish ${i}`).toBe(201);
  });

  it('answers 507 once all topics together would pass maxStoredBytes, and a delete gives room back', async () => {
    // capped (2,000) + short.t (2,000) are stored: 2 more KB fit, the third does not.
    expect((await publish(server.url, 'other.a')).status).toBe(201);
    expect((await publish(server.url, 'other.b')).status).toBe(201);
    const refused = await publish(server.url, 'other.c');
    expect(refused.status).toBe(507);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /maxStoredBytes/,
    );
    expect((await fetch(`${server.url}/v1/topics/capped`, { method: 'DELETE' })).status).toBe(204);
    expect((await publish(server.url, 'other.c')).status).toBe(201);
  });
});

describe('a hub started on a store that already holds messages', () => {
  it('estimates the stored bytes of topics it did not write', async () => {
    const engine = createMemoryEngine();
    await engine.open();
    const first = createHub({ engine });
    for (let i = 0; i < 3; i++) await first.publish('old', KB);
    first.drain();
    const second = createHub({ engine, limits: { maxTopicBytes: 3_500 } });
    try {
      await expect(second.publish('old', KB)).rejects.toMatchObject({ code: 'insufficient_storage' });
      await expect(second.publish('fresh', KB)).resolves.toMatchObject({ offset: 1 });
    } finally {
      await second.close();
    }
  });
});
