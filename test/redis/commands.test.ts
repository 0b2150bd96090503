/**
 * Counts the Redis commands a publish costs, from Redis's own INFO commandstats: one round trip
 * (EVALSHA of the append script) and the commands the script runs inside Redis. Printed for the
 * issue's "Redis commands per published message"; asserted so a regression shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisServerAvailable, startRedisServer } from '../support/redis-server.js';
import { fetchJson, type Node, startNodes, stopNodes } from './nodes.js';

const N = 200;

async function commandStats(redis: RedisServer): Promise<Map<string, number>> {
  const info = await redis.command('INFO', 'commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/cmdstat_([a-z|_-]+):calls=(\d+)/g))
    calls.set(match[1]!, Number(match[2]));
  return calls;
}

async function perPublish(redis: RedisServer, run: () => Promise<void>): Promise<Record<string, number>> {
  expect(await redis.command('CONFIG', 'RESETSTAT')).toBe('+OK\r\n');
  await run();
  const stats = await commandStats(redis);
  // Our own probes, and the subscribers' 5-second heartbeat PINGs (per node, not per message).
  for (const name of stats.keys()) if (/^(config|info|ping)/.test(name)) stats.delete(name);
  const perMessage: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of [...stats].sort()) {
    perMessage[name] = calls / N;
    total += calls;
  }
  perMessage.total = total / N;
  return perMessage;
}

const post = (node: Node, topic: string, body: unknown): Promise<Response> =>
  fetch(`${node.url}/v1/topics/${topic}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe.skipIf(!redisServerAvailable())('Redis commands per published message', () => {
  let redis: RedisServer;
  let nodes: Node[];

  beforeAll(async () => {
    redis = await startRedisServer();
    nodes = await startNodes(redis, 2);
    await post(nodes[0]!, 'counted', { data: 'creates the topic' });
    await post(nodes[0]!, 'keyed', { data: 'creates the topic' });
  });
  afterAll(async () => {
    await stopNodes(nodes ?? []);
    await redis?.destroy();
  });

  it('one EVALSHA per publish, whatever the number of nodes', async () => {
    const plain = await perPublish(redis, async () => {
      for (let i = 0; i < N; i++) expect((await post(nodes[0]!, 'counted', { data: i })).status).toBe(201);
    });
    const keyed = await perPublish(redis, async () => {
      for (let i = 0; i < N; i++) {
        expect((await post(nodes[0]!, 'keyed', { data: i, idempotencyKey: `k${i}` })).status).toBe(201);
      }
    });
    // A long poll held on the other node: each publish wakes it, and it reads the log.
    const withReader = await perPublish(redis, async () => {
      let after = (await fetchJson(`${nodes[1]!.url}/v1/topics/counted/messages?limit=1`)).last;
      for (let i = 0; i < N; i++) {
        const held = fetchJson(`${nodes[1]!.url}/v1/topics/counted/messages?after=${after}&wait=10`);
        await new Promise((resolve) => setTimeout(resolve, 2));
        expect((await post(nodes[0]!, 'counted', { data: i })).status).toBe(201);
        after = (await held).next;
      }
    });
    console.log(
      [
        `Redis commands per published message (INFO commandstats over ${N} publishes; commands run by`,
        'the Lua script are counted as well as the EVALSHA that carries them):',
        `  plain publish:             ${JSON.stringify(plain)}`,
        `  with idempotency key:      ${JSON.stringify(keyed)}`,
        `  + a long poll on node B:   ${JSON.stringify(withReader)}`,
      ].join('\n'),
    );
    expect(plain.evalsha).toBe(1); // one round trip per publish
    expect(plain).toMatchObject({ hmget: 1, xadd: 1, hset: 1, publish: 1 });
    expect(keyed).toMatchObject({ evalsha: 1, hget: 1, zadd: 1, hset: 2 });
    // Totals: the background job/webhook scans add a few commands per run, not per message.
    expect(plain.total).toBeGreaterThanOrEqual(5);
    expect(plain.total).toBeLessThan(5.1);
    expect(keyed.total).toBeGreaterThanOrEqual(8);
    expect(keyed.total).toBeLessThan(8.1);
    // The append, plus the long poll's own reads (first look, re-check once held, read when woken).
    expect(withReader.evalsha).toBeLessThanOrEqual(3);
  });
});
