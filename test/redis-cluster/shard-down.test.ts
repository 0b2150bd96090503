/**
 * A Redis Cluster shard that goes down with no replica to promote. Two cluster settings, two
 * behaviours, both a clear 503 `unavailable` while they last and nothing acknowledged lost after:
 *
 * - `cluster-require-full-coverage yes` (Redis's default): once the other masters mark the shard
 *   failed, the whole cluster answers CLUSTERDOWN, so every topic refuses until the shard is back.
 * - `cluster-require-full-coverage no`: only the topics whose slot that shard serves refuse; every
 *   other topic keeps working.
 *
 * The cluster has three masters and no replicas; the downed master restarts from its AOF.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, type Node, publish, startClusterNodes, stopNodes } from '../redis/nodes.js';
import {
  type ClusterNode,
  type RedisCluster,
  redisClusterAvailable,
  startRedisCluster,
  until,
  withNode,
} from '../support/redis-cluster.js';

const metaKey = (topic: string): string => `sb:{${topic}}:meta`;

interface Timed {
  status: number;
  code?: string;
  ms: number;
}

async function timedPublish(node: Node, topic: string, data: unknown): Promise<Timed> {
  const started = performance.now();
  const response = await publish(node, topic, data);
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, code: body.error?.code, ms: performance.now() - started };
}

describe.skipIf(!redisClusterAvailable())('Redis Cluster with a shard down', () => {
  let cluster: RedisCluster;
  let node: Node;
  /** One topic per master: topics[i] lives on masters[i]. */
  const topics: string[] = [];
  let masters: ClusterNode[] = [];

  const published = new Map<string, string[]>();
  const acknowledge = async (topic: string, data: string): Promise<void> => {
    const answer = await timedPublish(node, topic, data);
    expect(answer.status, `publish to ${topic}`).toBe(201);
    published.set(topic, [...(published.get(topic) ?? []), data]);
  };
  const clusterState = (port: number): Promise<string> =>
    withNode(
      port,
      async (r) => /cluster_state:(\w+)/.exec((await r.call('CLUSTER', 'INFO')) as string)?.[1] ?? '',
    );

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0, nodeTimeoutMs: 1_000 });
    [node] = (await startClusterNodes(cluster.seeds, 1)) as [Node];
    // No replica holds a copy: the restarted master must find every acknowledged write in its AOF.
    for (const m of cluster.nodes) await withNode(m.port, (r) => r.config('SET', 'appendfsync', 'always'));
    masters = await cluster.masters();
    // Find one topic name per shard, so each shard has something to lose.
    for (let i = 0; topics.filter(Boolean).length < masters.length && i < 1_000; i++) {
      const topic = `shard.t${i}`;
      const owner = await cluster.masterOf(metaKey(topic));
      const index = masters.findIndex((m) => m.port === owner.port);
      if (topics[index] === undefined) topics[index] = topic;
    }
    expect(topics.filter(Boolean)).toHaveLength(3);
    for (const topic of topics) await acknowledge(topic, `${topic}-before`);
  }, 60_000);
  afterAll(async () => {
    if (node) await stopNodes([node]);
    await cluster?.destroy();
  });

  const readAll = async (topic: string): Promise<unknown[]> => {
    const answer = await fetchJson(`${node.url}/v1/topics/${topic}/messages?after=0&limit=1000`);
    expect(answer.status).toBe(200);
    expect(answer.gap).toBe(false);
    expect(answer.messages.map((m) => m.offset)).toEqual(answer.messages.map((_, i) => i + 1));
    return answer.messages.map((m) => m.data);
  };

  it('answers CLUSTERDOWN with quick 503s on every topic, then recovers when the shard is back', async () => {
    const downed = masters[0] as ClusterNode;
    const survivor = masters[1] as ClusterNode;
    await downed.kill();
    // The other masters mark it failed after cluster-node-timeout and stop serving any slot.
    await until(async () => (await clusterState(survivor.port)) === 'fail', 10_000, 'cluster_state:fail');

    const [answers, read] = await Promise.all([
      Promise.all(topics.map((topic) => timedPublish(node, topic, 'refused'))),
      fetchJson(`${node.url}/v1/topics/${topics[1]}/messages?after=0`),
    ]);
    for (const [i, answer] of answers.entries()) {
      console.log(`CLUSTERDOWN: ${topics[i]} answered ${answer.status} in ${answer.ms.toFixed(0)} ms`);
      expect(answer.status, `publish to ${topics[i]} while the cluster is down`).toBe(503);
      expect(answer.code).toBe('unavailable');
      // Within ioredis's CLUSTERDOWN retries plus the command timeout: never a hang.
      expect(answer.ms).toBeLessThan(8_000);
    }
    expect(read.status).toBe(503);
    expect(read.error?.code).toBe('unavailable');

    const restartedAt = Date.now();
    await downed.restart();
    await cluster.waitHealthy();
    console.log(`CLUSTERDOWN: healthy ${Date.now() - restartedAt} ms after restart`);
    await until(
      async () => (await timedPublish(node, topics[0] as string, 'probe')).status === 201,
      15_000,
      'publishes accepted again',
    );
    published.set(topics[0] as string, [...(published.get(topics[0] as string) ?? []), 'probe']);
    for (const topic of topics) await acknowledge(topic, `${topic}-after-clusterdown`);
    for (const topic of topics) expect(await readAll(topic)).toEqual(published.get(topic));
  }, 60_000);

  it('with partial coverage allowed, refuses only the downed shard’s topics', async () => {
    for (const m of cluster.nodes) {
      await withNode(m.port, (r) => r.config('SET', 'cluster-require-full-coverage', 'no'));
    }
    const downed = masters[2] as ClusterNode;
    const survivor = masters[0] as ClusterNode;
    const [up1, up2, down] = [topics[0] as string, topics[1] as string, topics[2] as string];
    await downed.kill();
    // Wait until the survivors have marked it failed: from then on they keep serving their slots.
    await until(
      async () => {
        const nodesText = await withNode(survivor.port, (r) => r.call('CLUSTER', 'NODES') as Promise<string>);
        return nodesText.split('\n').some((l) => l.includes(`:${downed.port}@`) && /\bfail\b/.test(l));
      },
      10_000,
      'downed master marked fail',
    );
    expect(await clusterState(survivor.port)).toBe('ok');

    const refused = await timedPublish(node, down, 'refused');
    expect(refused.status).toBe(503);
    expect(refused.code).toBe('unavailable');
    expect(refused.ms).toBeLessThan(8_000);

    // The other shards' topics: published, read, and woken up as if nothing happened.
    for (let i = 0; i < 20; i++) {
      await acknowledge(up1, `${up1}-during-${i}`);
      await acknowledge(up2, `${up2}-during-${i}`);
    }
    expect(await readAll(up1)).toEqual(published.get(up1));
    const woken = fetchJson(
      `${node.url}/v1/topics/${up2}/messages?after=${published.get(up2)?.length}&wait=5`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await acknowledge(up2, `${up2}-wake`);
    expect((await woken).messages.map((m) => m.data)).toEqual([`${up2}-wake`]);

    await downed.restart();
    await cluster.waitHealthy();
    await until(async () => (await timedPublish(node, down, 'probe')).status === 201, 15_000, 'shard back');
    published.set(down, [...(published.get(down) ?? []), 'probe']);
    for (const topic of topics) expect(await readAll(topic)).toEqual(published.get(topic));
  }, 60_000);
});
