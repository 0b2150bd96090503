/**
 * Redis for the `redis` scenario: whether `redis-server` is installed, a private one on a free port
 * (the tests' launcher, test/support/redis-server.ts), Switchboard nodes on it, and
 * `INFO commandstats` read in full (the tests' one-shot command reader stops at the first chunk).
 */
import { mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchRedisServer, REDIS_SERVER_BINARY, type RedisServer } from '../../test/support/redis-server.js';
import { BENCH_SERVER_ENV, type RunningServer, SERVER_ENTRY, spawnServer } from './server.js';

export type { RedisServer };

export function redisServerInstalled(): boolean {
  return REDIS_SERVER_BINARY !== undefined;
}

/** A private redis-server (AOF on, everysec, no RDB), answering PING. */
export async function startRedis(): Promise<RedisServer> {
  const redis = launchRedisServer();
  await redis.ready();
  return redis;
}

/**
 * Kills the redis-server and removes its directory. The launcher unrefs the child, so awaiting its
 * exit alone would leave the event loop empty and end the runner silently (exit code 0): a timer keeps
 * the loop alive meanwhile.
 */
export async function stopRedis(redis: RedisServer): Promise<void> {
  const keepAlive = setInterval(() => undefined, 1_000);
  try {
    await redis.destroy();
  } finally {
    clearInterval(keepAlive);
  }
}

/**
 * Starts `switchboard serve --engine redis` on a free port, on the given Redis URL, or on a Redis
 * Cluster when `redis` is its seed list.
 */
export function spawnRedisNode(redis: string | string[], index: number): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-redis-node-'));
  const target = typeof redis === 'string' ? ['--redis-url', redis] : ['--redis-cluster', redis.join(',')];
  return spawnServer({
    label: `switchboard (redis${typeof redis === 'string' ? '' : ' cluster'} node ${index + 1})`,
    args: [
      SERVER_ENTRY,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--engine',
      'redis',
      ...target,
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
    ],
    env: BENCH_SERVER_ENV,
    cleanupDir: dataDir,
  });
}

/** `INFO commandstats` as command → calls. */
export function commandStats(port: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = Buffer.alloc(0);
    socket.setTimeout(5_000, () => socket.destroy(new Error('redis-server did not answer INFO in 5 s')));
    socket.on('connect', () => socket.write('*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      const headEnd = reply.indexOf('\r\n');
      if (headEnd === -1) return;
      const length = Number(reply.toString('latin1', 1, headEnd));
      if (reply.length < headEnd + 2 + length) return;
      socket.end();
      const text = reply.toString('utf8', headEnd + 2, headEnd + 2 + length);
      const stats = new Map<string, number>();
      for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
        stats.set(match[1]!, Number(match[2]));
      resolve(stats);
    });
    socket.on('error', reject);
  });
}

/** Calls per command between two `commandStats` snapshots (commands with no calls left out). */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [command, calls] of after) {
    const d = calls - (before.get(command) ?? 0);
    if (d > 0) delta.set(command, d);
  }
  // The INFO that took the second snapshot counts itself.
  const info = delta.get('info');
  if (info !== undefined) {
    if (info <= 1) delta.delete('info');
    else delta.set('info', info - 1);
  }
  return delta;
}
