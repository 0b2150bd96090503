/**
 * Three Switchboard nodes on one real Redis Cluster (3 masters + 3 replicas), every pattern that
 * keeps state in Redis crossing nodes: topics spread over every shard, long-poll wake-ups, the topic
 * directory, consumer groups, jobs, request-reply, delayed delivery and webhooks. Each feature's
 * scripts must keep their keys in one slot, or Redis Cluster refuses them (CROSSSLOT).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, fetchJson, type Node, publish, startClusterNodes, stopNodes } from '../redis/nodes.js';
import {
  type RedisCluster,
  redisClusterAvailable,
  startRedisCluster,
  withNode,
} from '../support/redis-cluster.js';

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe.skipIf(!redisClusterAvailable())('three nodes on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let nodes: Node[] = [];
  let a: Node;
  let b: Node;
  let c: Node;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    nodes = await startClusterNodes(cluster.seeds, 3, { allowPrivateWebhooks: true });
    [a, b, c] = nodes as [Node, Node, Node];
  }, 60_000);
  afterAll(async () => {
    await stopNodes(nodes);
    await cluster?.destroy();
  });

  it('spreads topics over every shard, keeps each contiguous, and lists them all on any node', async () => {
    const topics = Array.from({ length: 12 }, (_, i) => `spread.t${i}`);
    const shards = new Set<number>();
    for (const topic of topics) shards.add((await cluster.masterOf(`sb:{${topic}}:meta`)).port);
    expect(shards.size).toBe(3); // the test is only worth something when every shard takes part

    await Promise.all(
      topics.flatMap((topic) =>
        nodes.flatMap((node, n) =>
          Array.from({ length: 5 }, async (_, i) => {
            expect((await publish(node, topic, `${n}-${i}`)).status).toBe(201);
          }),
        ),
      ),
    );
    for (const topic of topics) {
      const page = await fetchJson(`${c.url}/v1/topics/${topic}/messages?after=0&limit=100`);
      expect(page.messages.map((m) => m.offset)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    }
    const listed = (await fetchJson(`${b.url}/v1/topics`)).topics as Array<{ topic: string; last: number }>;
    for (const topic of topics) expect(listed.find((t) => t.topic === topic)?.last).toBe(15);
  });

  it('wakes a long poll on node C when node A publishes', async () => {
    await publish(a, 'wake.c', 'first');
    const held = fetchJson(`${c.url}/v1/topics/wake.c/messages?after=1&wait=10`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await publish(a, 'wake.c', 'second')).status).toBe(201);
    expect((await held).messages.map((m) => m.data)).toEqual(['second']);
  });

  it('taps every master for wake-ups, so none waits for the cluster bus', async () => {
    // Each node keeps one plain subscriber per master (signal.ts): the copy published by the master
    // that ran the append is heard there, without the cluster bus hop (14 ms p50 measured under load).
    for (const master of await cluster.masters()) {
      const clients = await withNode(master.port, (r) => r.call('CLIENT', 'LIST') as Promise<string>);
      const taps = clients.split('\n').filter((line) => line.includes('name=switchboard-wake-tap'));
      expect(taps, `wake-up taps on master ${master.port}`).toHaveLength(nodes.length);
      for (const tap of taps) expect(tap).toMatch(/ sub=1 /);
    }
    // Copies of one wake-up (direct and over the bus) never deliver a message twice.
    const received = fetch(`${b.url}/v1/topics/taps.once/messages?after=0&wait=5`);
    const stream = await fetch(`${c.url}/v1/topics/taps.once/events`, {
      headers: { accept: 'text/event-stream' },
    });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 1; i <= 20; i++) expect((await publish(a, 'taps.once', i)).status).toBe(201);
    expect(((await (await received).json()) as { messages: unknown[] }).messages.length).toBeGreaterThan(0);
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes('data: 20\n') && !text.includes('"data":20')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    await reader.cancel();
    const offsets = [...text.matchAll(/"offset":(\d+)/g)].map((m) => Number(m[1]));
    expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('shares a consumer group across nodes without handing a message out twice', async () => {
    for (let i = 0; i < 30; i++) await publish(a, 'work.items', i);
    const group = (node: Node) => `${node.url}/v1/topics/work.items/groups/g`;
    const created = await fetch(`${a.url}/v1/topics/work.items/groups/g`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ start: 'earliest' }),
    });
    expect(created.status).toBe(201);
    const seen: number[] = [];
    for (let round = 0; round < 10 && seen.length < 30; round++) {
      await Promise.all(
        nodes.map(async (node, n) => {
          const response = await post(`${group(node)}/claim?max=5&member=m${n}`, {});
          if (response.status !== 200) return;
          const body = (await response.json()) as { messages: Array<{ offset: number }> };
          const offsets = body.messages.map((m) => m.offset);
          seen.push(...offsets);
          if (offsets.length > 0) {
            expect((await post(`${group(node)}/ack`, { offsets, member: `m${n}` })).status).toBe(200);
          }
        }),
      );
    }
    expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('runs a job submitted on A, claimed and completed on B, read on C', async () => {
    const submitted = await post(`${a.url}/v1/queues/cluster.jobs/jobs`, { payload: { n: 1 } });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const claimed = await post(`${b.url}/v1/queues/cluster.jobs/claim?wait=5`, {});
    expect(claimed.status).toBe(200);
    const { job, lease } = (await claimed.json()) as { job: { id: string }; lease: string };
    expect(job.id).toBe(id);
    expect((await post(`${b.url}/v1/jobs/${id}/progress`, { lease, progress: 50 })).status).toBe(200);
    expect((await post(`${b.url}/v1/jobs/${id}/complete`, { lease, result: 'ok' })).status).toBe(200);
    const read = await fetch(`${c.url}/v1/jobs/${id}`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { status: string }).status).toBe('succeeded');
    const history = await fetchJson(`${c.url}/v1/topics/jobs.cluster.jobs.${id}/messages?after=0`);
    expect(history.messages.map((m) => m.event)).toEqual(['queued', 'running', 'progress', 'succeeded']);
  });

  it('answers a request made on A with the reply sent to B', async () => {
    const request = post(`${a.url}/v1/topics/rpc.cluster/requests?timeout=10`, { data: 'ping' });
    let replyTo = '';
    await eventually(async () => {
      const page = await fetchJson(`${c.url}/v1/topics/rpc.cluster/messages?after=0`);
      replyTo = String((page.messages[0] as { replyTo?: string } | undefined)?.replyTo ?? '');
      return replyTo !== '';
    });
    expect((await post(`${b.url}/v1/replies/${replyTo}`, { data: 'pong' })).status).toBe(204);
    expect((await post(`${c.url}/v1/replies/${replyTo}`, { data: 'late' })).status).toBe(409);
    const answer = (await (await request).json()) as { reply: unknown };
    expect(answer.reply).toBe('pong');
  });

  it('delivers a delayed message once, whichever node is due first', async () => {
    const scheduled = await post(`${a.url}/v1/topics/later.cluster/messages`, { data: 'due', delayMs: 300 });
    expect(scheduled.status).toBe(202);
    const { scheduled: id } = (await scheduled.json()) as { scheduled: string };
    expect((await fetch(`${b.url}/v1/scheduled/${id}`)).status).toBe(200);
    await eventually(
      async () => (await fetchJson(`${c.url}/v1/topics/later.cluster/messages?after=0`)).messages.length > 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const page = await fetchJson(`${c.url}/v1/topics/later.cluster/messages?after=0`);
    expect(page.messages.map((m) => m.data)).toEqual(['due']);
    expect((await fetch(`${b.url}/v1/scheduled/${id}`)).status).toBe(404);
  });

  it('delivers a webhook registered on A for a message published on C', async () => {
    const received: unknown[] = [];
    const receiver: Server = createHttpServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push(JSON.parse(body));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const port = (receiver.address() as { port: number }).port;
      const created = await post(`${a.url}/v1/topics/hooked.cluster/webhooks`, {
        url: `http://127.0.0.1:${port}/in`,
      });
      expect(created.status).toBe(201);
      expect((await publish(c, 'hooked.cluster', 'hello')).status).toBe(201);
      await eventually(async () => received.length > 0);
      expect(JSON.stringify(received[0])).toContain('hello');
    } finally {
      receiver.close();
    }
  });
});
