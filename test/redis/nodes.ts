/** Several Switchboard servers (nodes) on one redis-server, as a load balancer would see them. */
import { createServer, type SwitchboardServer } from '../../src/server/app.js';
import type { RedisServer } from '../support/redis-server.js';

export interface Node {
  server: SwitchboardServer;
  url: string;
}

type ServerOptions = NonNullable<Parameters<typeof createServer>[0]>;

/** `count` nodes on port 0, engine redis, with `options` (the Redis to use, and any other setting). */
function startRedisNodes(count: number, options: ServerOptions): Promise<Node[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const server = await createServer({ host: '127.0.0.1', port: 0, engine: 'redis', ...options });
      return { server, url: await server.listen() };
    }),
  );
}

export async function startNodes(redis: RedisServer, count: number): Promise<Node[]> {
  await redis.ready();
  return startRedisNodes(count, { redisUrl: redis.url });
}

/** `count` nodes on one Redis Cluster (its seed list); `options` adds settings. */
export function startClusterNodes(
  seeds: string[],
  count: number,
  options: ServerOptions = {},
): Promise<Node[]> {
  return startRedisNodes(count, { ...options, redisCluster: seeds });
}

export async function stopNodes(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.server.close()));
}

export async function publish(node: Node, topic: string, data: unknown): Promise<Response> {
  return fetch(`${node.url}/v1/topics/${topic}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data }),
  });
}

/** A JSON answer with its HTTP status: a fetch page, a group state, or an error body. */
export interface Answer {
  status: number;
  epoch: string | null;
  messages: Array<{ offset: number; data: unknown; time: number; event?: string }>;
  next: number;
  last: number;
  gap: boolean;
  reset: boolean;
  error?: { code: string; message: string };
  [other: string]: unknown;
}

export async function fetchJson(url: string): Promise<Answer> {
  const response = await fetch(url);
  const text = await response.text();
  try {
    return { status: response.status, ...JSON.parse(text) };
  } catch {
    throw new Error(`expected JSON from ${url} (${response.status}): ${text.slice(0, 200)}`);
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
