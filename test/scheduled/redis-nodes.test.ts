/**
 * Two nodes on one Redis, both running their schedule loops: messages scheduled on either node are
 * appended exactly once each, in due order, whichever node gets there first; a cancel on one node
 * stops the message on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, fetchJson, type Node, startNodes, stopNodes } from '../redis/nodes.js';
import { type RedisServer, redisServerAvailable, startRedisServer } from '../support/redis-server.js';

describe.skipIf(!redisServerAvailable())('delayed delivery on two Redis nodes', () => {
  let redis: RedisServer;
  let nodes: Node[];
  beforeAll(async () => {
    redis = await startRedisServer();
    nodes = await startNodes(redis, 2);
  }, 30_000);
  afterAll(async () => {
    await stopNodes(nodes ?? []);
    await redis?.destroy();
  });

  const schedule = (node: Node, topic: string, body: unknown) =>
    fetch(`${node.url}/v1/topics/${topic}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('appends each scheduled message exactly once, in due order', async () => {
    const topic = `nodes-${Date.now()}`;
    const total = 300;
    const dueFrom = Date.now() + 1_500;
    // Ten messages share each due time: both nodes' loops find the same due batch and race for it.
    const dueOf = (i: number): number => dueFrom + Math.floor(i / 10) * 3;
    const answers = await Promise.all(
      Array.from({ length: total }, (_, i) =>
        schedule(nodes[i % 2]!, topic, { data: i, deliverAt: dueOf(i) }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(total).fill(202));
    // A cancel on one node holds on every node.
    const later = await schedule(nodes[0]!, topic, { data: 'canceled', delayMs: 60_000 });
    const { scheduled } = (await later.json()) as { scheduled: string };
    expect((await fetch(`${nodes[1]!.url}/v1/scheduled/${scheduled}`, { method: 'DELETE' })).status).toBe(
      204,
    );
    const listed = await fetchJson(`${nodes[0]!.url}/v1/scheduled?topic=${topic}`);
    expect(
      (listed as unknown as { scheduled: Array<{ id: string }> }).scheduled.map((s) => s.id),
    ).not.toContain(scheduled);

    let page: Answer | undefined;
    await expect
      .poll(
        async () => {
          page = await fetchJson(`${nodes[0]!.url}/v1/topics/${topic}/messages?limit=1000`);
          return page.last;
        },
        { timeout: 15_000 },
      )
      .toBeGreaterThanOrEqual(total);
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // a second poll of both loops: nothing more
    page = await fetchJson(`${nodes[1]!.url}/v1/topics/${topic}/messages?limit=1000`);
    expect(page.last).toBe(total);
    // Due order; within one due time, creation order is not defined across nodes, so compare as sets per time.
    const data = page.messages.map((m) => m.data as number);
    expect(new Set(data).size).toBe(total);
    const dues = data.map(dueOf);
    expect(dues).toEqual([...dues].sort((a, b) => a - b));
  }, 40_000);
});
