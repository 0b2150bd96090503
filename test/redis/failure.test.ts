/**
 * Redis failures seen from three nodes: a killed and restarted Redis (AOF) fails readiness and
 * publishes (503, never a false acknowledgement), then recovers with nothing acknowledged lost and
 * held requests and streams resuming; a wiped Redis is reported as `reset`; weak persistence is
 * warned about at startup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisEngine } from '../../src/engines/redis/index.js';
import { createServer } from '../../src/server/app.js';
import { openSse } from '../push/support/sse-client.js';
import { type RedisServer, redisServerAvailable, startRedisServer } from '../support/redis-server.js';
import { eventually, fetchJson, type Node, publish, startNodes, stopNodes } from './nodes.js';

const ready = async (node: Node): Promise<number> => (await fetch(`${node.url}/readyz`)).status;

describe.skipIf(!redisServerAvailable())('Redis failures, three nodes', () => {
  let redis: RedisServer;
  let nodes: Node[];

  beforeAll(async () => {
    redis = await startRedisServer();
    nodes = await startNodes(redis, 3);
  });
  afterAll(async () => {
    await stopNodes(nodes ?? []);
    await redis?.destroy();
  });

  it('survives a Redis kill -9 and restart: 503 meanwhile, nothing acknowledged lost', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    await publish(a, 'outage', 'before');
    const epoch = (await fetchJson(`${a.url}/v1/topics/outage/messages`)).epoch;
    const sse = await openSse(`${b.url}/v1/topics/outage/events?after=0`);
    const heldPoll = fetchJson(`${c.url}/v1/topics/held/messages?after=0&wait=30`);

    // Publishers on every node, one request at a time each, until told to stop.
    const acknowledged: Array<{ offset: number; data: string }> = [];
    const refused: Array<{ status: number; code: string }> = [];
    let running = true;
    const publishers = nodes.map(async (node, n) => {
      for (let i = 0; running; i++) {
        const data = `${n}-${i}`;
        const response = await publish(node, 'outage', data).catch(() => undefined);
        if (!response) continue;
        const body = await response.json();
        if (response.status === 201) acknowledged.push({ offset: body.offset, data });
        else refused.push({ status: response.status, code: body.error?.code });
        if (response.status !== 201) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    await eventually(async () => acknowledged.length >= 60);

    await redis.stop('SIGKILL');
    const ackedBeforeKill = acknowledged.length;
    // Every node notices at once: readiness fails and publishes are refused with 503.
    await eventually(async () => (await Promise.all(nodes.map(ready))).every((s) => s === 503), 5_000);
    const during = await publish(a, 'outage', 'during');
    expect(during.status).toBe(503);
    expect((await during.json()).error.code).toBe('unavailable');
    await new Promise((resolve) => setTimeout(resolve, 300));

    await redis.start(); // same port and directory: Redis reloads its AOF
    await eventually(async () => (await Promise.all(nodes.map(ready))).every((s) => s === 200), 10_000);
    await eventually(async () => acknowledged.length >= ackedBeforeKill + 60);
    running = false;
    await Promise.all(publishers);

    expect(refused.length).toBeGreaterThan(0);
    for (const refusal of refused) expect(refusal).toEqual({ status: 503, code: 'unavailable' });
    const log = await fetchJson(`${c.url}/v1/topics/outage/messages?after=0&limit=1000`);
    expect(log.epoch).toBe(epoch); // the same log, not a new one
    const offsets = log.messages.map((m) => m.offset);
    expect(offsets).toEqual(Array.from({ length: log.last }, (_, i) => i + 1));
    const stored = new Map(log.messages.map((m) => [m.offset, m.data]));
    for (const ack of acknowledged) expect(stored.get(ack.offset)).toBe(ack.data);

    // A long poll held on node C through the outage is answered by a publish after it.
    expect((await publish(a, 'held', 'after the outage')).status).toBe(201);
    const answered = await heldPoll;
    expect(answered.messages.map((m) => m.data)).toEqual(['after the outage']);

    // The SSE stream on node B stayed open through the outage: every offset, once, in order.
    await eventually(async () => sse.messages().length >= log.last, 5_000);
    expect(sse.messages().map((m) => m.offset)).toEqual(offsets);
    sse.close();
  });

  it('answers reset to cursors from a Redis that was wiped (FLUSHALL)', async () => {
    const [a, b] = nodes as [Node, Node];
    for (let i = 1; i <= 5; i++) await publish(a, 'wiped', i);
    const before = await fetchJson(`${b.url}/v1/topics/wiped/messages?after=0`);
    expect(before.last).toBe(5);

    expect(await redis.command('FLUSHALL')).toBe('+OK\r\n');
    const pastTheEnd = await fetchJson(`${b.url}/v1/topics/wiped/messages?after=5`);
    expect(pastTheEnd).toMatchObject({ reset: true, messages: [], next: 0 });

    await publish(a, 'wiped', 'new life');
    const otherEpoch = await fetchJson(`${b.url}/v1/topics/wiped/messages?after=0`);
    expect(otherEpoch.epoch).not.toBe(before.epoch);
    expect(otherEpoch.messages.map((m) => m.offset)).toEqual([1]);
    const oldCursor = await fetchJson(`${b.url}/v1/topics/wiped/messages?after=1&epoch=${before.epoch}`);
    expect(oldCursor.reset).toBe(true);
  });
});

describe.skipIf(!redisServerAvailable())('Redis engine startup', () => {
  it('warns when Redis persistence is off, and not when AOF is on', async () => {
    const volatile = await startRedisServer({ args: ['--appendonly', 'no'] });
    const durable = await startRedisServer();
    try {
      const heard: string[] = [];
      const weak = createRedisEngine({ url: volatile.url, warn: (message) => heard.push(message) });
      await weak.open();
      expect(weak.warnings()).toEqual(heard);
      expect(heard.join('\n')).toMatch(/persistence is off .*appendonly no, save ""/);
      await weak.close();

      const sound = createRedisEngine({ url: durable.url, warn: (message) => heard.push(message) });
      await sound.open();
      expect(sound.warnings()).toEqual([]);
      await sound.close();
    } finally {
      await volatile.destroy();
      await durable.destroy();
    }
  });

  it('refuses to start, quickly and clearly, when Redis is unreachable', async () => {
    const gone = await startRedisServer();
    await gone.destroy(); // a port where nothing listens any more
    const started = Date.now();
    await expect(createServer({ port: 0, engine: 'redis', redisUrl: gone.url })).rejects.toThrow(
      /Redis at redis:\/\/127\.0\.0\.1:\d+ is not reachable/,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
