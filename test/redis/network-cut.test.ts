/**
 * A network cut between a node and Redis, through a TCP proxy that drops every byte without closing
 * anything (a half-open link, the hardest kind: no RST, only timeouts tell). While it lasts, every
 * request is answered — 503 `unavailable` within the command timeout, never a hang; after it, the
 * node finds its way back by itself, and nothing acknowledged is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type SwitchboardServer } from '../../src/server/app.js';
import { fetchJson, publish } from '../redis/nodes.js';
import { type RedisServer, redisServerAvailable, startRedisServer } from '../support/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

describe.skipIf(!redisServerAvailable())('a network cut between a node and Redis', () => {
  let redis: RedisServer;
  let proxy: TcpProxy;
  let server: SwitchboardServer;
  let url: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.port });
    server = await createServer({
      host: '127.0.0.1',
      port: 0,
      engine: 'redis',
      redisUrl: proxy.url,
    });
    url = await server.listen();
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    await redis?.destroy();
  });

  it('answers 503 quickly while the link is cut, recovers after, and loses nothing acknowledged', async () => {
    const acknowledged: string[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await publish({ server, url }, 'cut.topic', `before-${i}`);
      expect(response.status).toBe(201);
      acknowledged.push(`before-${i}`);
    }

    proxy.blackhole();
    const during: Array<{ status: number; ms: number; code?: string }> = [];
    const cutEnds = Date.now() + 2_500;
    let n = 0;
    while (Date.now() < cutEnds) {
      const started = performance.now();
      const response = await publish({ server, url }, 'cut.topic', `during-${n}`);
      const body = (await response.json()) as { error?: { code: string } };
      during.push({ status: response.status, ms: performance.now() - started, code: body.error?.code });
      if (response.status === 201) acknowledged.push(`during-${n}`);
      n++;
    }
    const ready = await fetch(`${url}/readyz`);
    proxy.restore();

    expect(during.length).toBeGreaterThan(0);
    for (const answer of during) {
      expect(answer.status).toBe(503);
      expect(answer.code).toBe('unavailable');
      // the engine's 5 s command timeout plus slack for a loaded machine: an answer, never a hang
      expect(answer.ms).toBeLessThan(8_000);
    }
    expect(ready.status).toBe(503);

    // Back by itself: the node drops the half-open connection and reconnects.
    const deadline = Date.now() + 10_000;
    let recoveredAfterMs = -1;
    const restoredAt = Date.now();
    for (let i = 0; Date.now() < deadline; i++) {
      const response = await publish({ server, url }, 'cut.topic', `after-${i}`);
      if (response.status === 201) {
        acknowledged.push(`after-${i}`);
        recoveredAfterMs = Date.now() - restoredAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(
      `network cut: ${during.length} publishes answered 503 (slowest ${Math.max(...during.map((d) => d.ms)).toFixed(0)} ms); recovered ${recoveredAfterMs} ms after the link came back`,
    );
    expect(recoveredAfterMs).toBeGreaterThanOrEqual(0);

    const page = await fetchJson(`${url}/v1/topics/cut.topic/messages?after=0&limit=1000`);
    const stored = page.messages.map((m) => m.data);
    for (const data of acknowledged) expect(stored).toContain(data);
    expect(page.messages.map((m) => m.offset)).toEqual(stored.map((_, i) => i + 1));
  });
});
