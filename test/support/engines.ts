/**
 * The engines every shared suite runs against. Redis runs on a real redis-server started by the
 * first fixture that needs it (one per test file); without the binary it is left out, loudly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/engines/engine.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { createRedisEngine } from '../../src/engines/redis/index.js';
import { createSqliteEngine } from '../../src/engines/sqlite/index.js';
import { type RedisCluster, redisClusterAvailable, startRedisCluster } from './redis-cluster.js';
import { redisServerAvailable, sharedRedisServer } from './redis-server.js';

export interface EngineFixture {
  name: string;
  /** A fresh, unopened engine. Engines made by one fixture share one data directory. */
  create(): Engine;
  /** Removes whatever the fixture wrote. */
  cleanup(): void;
}

export const ENGINE_FIXTURES: Array<{ name: string; fixture: () => EngineFixture }> = [
  {
    name: 'memory',
    fixture: () => ({ name: 'memory', create: () => createMemoryEngine(), cleanup: () => {} }),
  },
  {
    name: 'sqlite',
    fixture: () => {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
      return {
        name: 'sqlite',
        create: () => createSqliteEngine({ dataDir: dir }),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  ...(redisServerAvailable() ? [{ name: 'redis', fixture: redisFixture }] : []),
];

let redisFixtures = 0;

/** Engines of one fixture share a key prefix no other fixture uses, on the file's redis-server. */
function redisFixture(): EngineFixture {
  const server = sharedRedisServer();
  const keyPrefix = `test${++redisFixtures}-${process.pid}`;
  return {
    name: 'redis',
    create: () => {
      const engine = createRedisEngine({ url: server.url, keyPrefix });
      const open = engine.open;
      // The server starts in the background; the first open waits for it to answer PING.
      engine.open = async () => {
        await server.ready();
        await open();
      };
      return engine;
    },
    // The server and its directory go away when the test process exits.
    cleanup: () => {},
  };
}

let clusterFixtures = 0;
let sharedCluster: Promise<RedisCluster> | undefined;

/**
 * The same engine on a real Redis Cluster (3 masters + 3 replicas, started once per test file on
 * first use and killed when the process exits). Suites opt in with ENGINE_FIXTURES_WITH_CLUSTER: a
 * cluster costs six redis-servers, so only the suites that prove slot-safety run on it.
 */
function redisClusterFixture(): EngineFixture {
  sharedCluster ??= startRedisCluster().then((cluster) => {
    process.once('exit', () => {
      for (const node of cluster.nodes) if (node.alive()) node.process.kill('SIGKILL');
    });
    return cluster;
  });
  const keyPrefix = `test${++clusterFixtures}-${process.pid}`;
  return {
    name: 'redis-cluster',
    create: () => {
      // The seeds are only known once the cluster is up; the engine reads them when it opens.
      const nodes: Array<{ host: string; port: number }> = [];
      const engine = createRedisEngine({ url: 'redis://', keyPrefix, cluster: { nodes } });
      const open = engine.open;
      engine.open = async () => {
        const cluster = await (sharedCluster as Promise<RedisCluster>);
        if (nodes.length === 0) {
          for (const seed of cluster.seeds)
            nodes.push({ host: '127.0.0.1', port: Number(seed.split(':')[1]) });
        }
        await open();
      };
      return engine;
    },
    cleanup: () => {},
  };
}

/** ENGINE_FIXTURES plus Redis Cluster (when redis-server and redis-cli are there). */
export const ENGINE_FIXTURES_WITH_CLUSTER: Array<{ name: string; fixture: () => EngineFixture }> = [
  ...ENGINE_FIXTURES,
  ...(redisClusterAvailable() ? [{ name: 'redis-cluster', fixture: redisClusterFixture }] : []),
];

if (!redisClusterAvailable()) {
  console.warn(
    '\n*** redis-server or redis-cli is not installed: the Redis Cluster suites are SKIPPED (apt-get install redis-server) ***\n',
  );
}
