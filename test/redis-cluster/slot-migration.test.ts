/**
 * A slot migration under publish load, done the way `redis-cli --cluster reshard` does it:
 * SETSLOT IMPORTING on the target, SETSLOT MIGRATING on the source, MIGRATE the slot's keys a few
 * at a time, then SETSLOT NODE everywhere. Meanwhile the client meets ASK (a key already moved),
 * TRYAGAIN (a script whose keys are split between the two nodes) and finally MOVED; every publish is
 * still answered, the log stays contiguous, and a long-polling reader sees each offset once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, type Node, publish, startClusterNodes, stopNodes } from '../redis/nodes.js';
import {
  type ClusterNode,
  type RedisCluster,
  redisClusterAvailable,
  startRedisCluster,
  withNode,
} from '../support/redis-cluster.js';

const TOPIC = 'migrating.orders';
const META_KEY = `sb:{${TOPIC}}:meta`;

const nodeId = (node: ClusterNode): Promise<string> =>
  withNode(node.port, (r) => r.call('CLUSTER', 'MYID') as Promise<string>);

describe.skipIf(!redisClusterAvailable())('Redis Cluster slot migration under load', () => {
  let cluster: RedisCluster;
  let nodes: Node[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
    nodes = await startClusterNodes(cluster.seeds, 2);
  }, 60_000);
  afterAll(async () => {
    await stopNodes(nodes);
    await cluster?.destroy();
  });

  it('moves a busy topic to another master with no refusal, gap or duplicate', async () => {
    const source = await cluster.masterOf(META_KEY);
    const target = (await cluster.masters()).find((m) => m.port !== source.port) as ClusterNode;
    const slot = Number(await withNode(source.port, (r) => r.call('CLUSTER', 'KEYSLOT', META_KEY)));
    const [sourceId, targetId] = await Promise.all([nodeId(source), nodeId(target)]);

    const acknowledged = new Set<string>();
    const refusals: string[] = [];
    let slowest = 0;
    let stop = false;
    const publisher = async (id: number) => {
      for (let i = 0; !stop; i++) {
        const data = `p${id}-${i}`;
        // Publisher 0 uses idempotency keys (dedupe keys live in the slot too) and repeats one now
        // and then: the repeat must answer the original offset, whichever node holds the key.
        const repeat = id === 0 && i % 10 === 9;
        const body =
          id === 0
            ? { data: repeat ? `p0-${i - 1}` : data, idempotencyKey: `k-${repeat ? i - 1 : i}` }
            : { data };
        const started = performance.now();
        const response = await fetch(`${(nodes[i % 2] as Node).url}/v1/topics/${TOPIC}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        slowest = Math.max(slowest, performance.now() - started);
        const answer = (await response.json()) as {
          duplicate?: boolean;
          error?: { code: string; message: string };
        };
        if (repeat && response.status === 200) expect(answer.duplicate).toBe(true);
        else if (response.status !== 201) refusals.push(`${response.status} ${answer.error?.message}`);
        else acknowledged.add(data);
      }
    };
    // A reader long-polling on the other node throughout: it must see 1, 2, 3, … exactly once.
    const received: number[] = [];
    const reader = async () => {
      let after = 0;
      while (!stop || received.length < acknowledged.size) {
        const answer = await fetchJson(`${nodes[1]?.url}/v1/topics/${TOPIC}/messages?after=${after}&wait=1`);
        if (answer.status !== 200) {
          refusals.push(`reader ${answer.status} ${answer.error?.code}`);
          continue;
        }
        expect(answer.gap).toBe(false);
        received.push(...answer.messages.map((m) => m.offset));
        after = answer.next;
        if (stop && answer.messages.length === 0) break;
      }
    };

    // The topic exists before the move starts, so the slot has keys to migrate.
    expect((await publish(nodes[0] as Node, TOPIC, 'first')).status).toBe(201);
    acknowledged.add('first');
    const group = await fetch(`${nodes[0]?.url}/v1/topics/${TOPIC}/groups/billing`, { method: 'PUT' });
    expect(group.status).toBe(201);
    const running = [0, 1, 2, 3].map(publisher);
    const reading = reader();
    await new Promise((resolve) => setTimeout(resolve, 300));

    await withNode(target.port, (r) => r.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId));
    await withNode(source.port, (r) => r.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId));
    let moved = 0;
    const movedKeys: string[] = [];
    for (;;) {
      const keys = (await withNode(source.port, (r) =>
        r.call('CLUSTER', 'GETKEYSINSLOT', slot, 1),
      )) as string[];
      if (keys.length === 0) break;
      await withNode(source.port, (r) =>
        r.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5_000, 'KEYS', ...keys),
      );
      moved += keys.length;
      movedKeys.push(...keys);
      // Let publishes run between keys: the slot stays split (ASK, TRYAGAIN) for a while.
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    for (const m of await cluster.masters()) {
      await withNode(m.port, (r) => r.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    stop = true;
    await Promise.all(running);
    await reading;

    expect(moved).toBeGreaterThan(0);
    expect((await cluster.masterOf(META_KEY)).port).toBe(target.port);
    // After the move both nodes keep publishing (MOVED updates their slot maps).
    for (const [i, node] of nodes.entries()) {
      expect((await publish(node, TOPIC, `after-${i}`)).status).toBe(201);
      acknowledged.add(`after-${i}`);
    }

    const page = await fetchJson(`${nodes[0]?.url}/v1/topics/${TOPIC}/messages?after=0&limit=1000`);
    let all = page.messages;
    for (let next = page.next; all.length < page.last; ) {
      const more = await fetchJson(`${nodes[0]?.url}/v1/topics/${TOPIC}/messages?after=${next}&limit=1000`);
      if (more.messages.length === 0) break;
      all = all.concat(more.messages);
      next = more.next;
    }
    expect(all.map((m) => m.offset)).toEqual(all.map((_, i) => i + 1));
    const stored = new Set(all.map((m) => m.data));
    expect(stored.size).toBe(all.length);
    const lost = [...acknowledged].filter((data) => !stored.has(data));
    expect(lost).toEqual([]);
    expect(received).toEqual(received.map((_, i) => i + 1));
    console.log(
      `slot migration: ${moved} keys moved (${movedKeys.join(' ')}), ${acknowledged.size} acknowledged, ${refusals.length} refusals, slowest answer ${slowest.toFixed(0)} ms`,
    );
    // ASK and TRYAGAIN are retried by the client: a migration is invisible to publishers.
    expect(refusals).toEqual([]);
  }, 60_000);
});
