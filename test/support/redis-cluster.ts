/**
 * A real Redis Cluster on loopback for tests and benches: `masters` masters, each with `replicasPerMaster`
 * replicas (`redis-server --cluster-enabled yes`, joined by `redis-cli --cluster create`). AOF is on
 * (`appendfsync everysec`) so a SIGKILLed and restarted node keeps its data; `cluster-node-timeout`
 * is short (1 s) so a failover takes seconds, not the production default of 15 s.
 * Needs `redis-server` and `redis-cli` (Debian's redis-server package brings both).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { REDIS_SERVER_BINARY } from './redis-server.js';

const run = promisify(execFile);

export const REDIS_CLI_BINARY = ['/usr/bin/redis-cli', '/usr/local/bin/redis-cli'].find((p) => existsSync(p));

/** Both binaries are there: cluster suites run; otherwise they skip with a loud banner. */
export function redisClusterAvailable(): boolean {
  return Boolean(REDIS_SERVER_BINARY && REDIS_CLI_BINARY);
}

export interface ClusterNode {
  port: number;
  /** The node's directory (AOF, nodes.conf). */
  dir: string;
  process: ChildProcess;
  /** true while the process runs */
  alive(): boolean;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Start the node again on the same port and directory (it rejoins with its nodes.conf). */
  restart(): Promise<void>;
}

export interface RedisCluster {
  nodes: ClusterNode[];
  /** `127.0.0.1:p,…` of every node: the seed list for `--redis-cluster`. */
  seeds: string[];
  /** The nodes that are masters now (asks a live node's CLUSTER NODES). */
  masters(): Promise<ClusterNode[]>;
  /** The node serving `key`'s slot now. */
  masterOf(key: string): Promise<ClusterNode>;
  /** Resolves when every live node reports cluster_state:ok and agrees on the masters. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

export interface RedisClusterOptions {
  /** @default 3 */
  masters?: number;
  /** @default 1 */
  replicasPerMaster?: number;
  /** @default 1000 */
  nodeTimeoutMs?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} not within ${timeoutMs} ms`);
}

/** One short-lived plain connection to one node (not a cluster client). */
export async function withNode<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

function launchNode(port: number, dir: string, nodeTimeoutMs: number): ClusterNode {
  if (!REDIS_SERVER_BINARY) throw new Error('redis-server is not installed');
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--repl-diskless-sync-delay',
    '0',
  ];
  let guard: ChildProcess | undefined;
  const spawnServer = (): ChildProcess => {
    const child = spawn(REDIS_SERVER_BINARY as string, args, { stdio: 'ignore' });
    child.unref();
    // If this test process dies without cleaning up (a vitest fork is killed, not exited), the
    // watchdog's stdin closes and it kills the node, so no redis-server outlives its tests.
    guard?.kill('SIGKILL');
    guard = spawn('sh', ['-c', `read _; kill -9 ${child.pid} 2>/dev/null`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    guard.unref();
    (guard.stdin as unknown as { unref?: () => void }).unref?.();
    return child;
  };
  const node: ClusterNode = {
    port,
    dir,
    process: undefined as unknown as ChildProcess,
    alive: () => node.process.exitCode === null && node.process.signalCode === null,
    async kill() {
      if (!node.alive()) return;
      guard?.kill('SIGKILL');
      guard = undefined;
      const exited = new Promise<void>((resolve) => node.process.once('exit', () => resolve()));
      node.process.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await node.kill();
      node.process = spawnServer();
      await until(() => withNode(port, async (r) => (await r.ping()) === 'PONG'), 10_000, `node ${port} up`);
    },
  };
  node.process = spawnServer();
  return node;
}

interface NodeLine {
  port: number;
  master: boolean;
  failed: boolean;
  slots: string[];
}

function parseClusterNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [, address = '', flags = '', , , , , , ...slots] = line.split(' ');
      return {
        port: Number(address.split('@')[0]?.split(':')[1]),
        master: flags.includes('master'),
        failed: flags.includes('fail'),
        slots,
      };
    });
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  if (!REDIS_CLI_BINARY) throw new Error('redis-cli is not installed');
  const masterCount = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const root = mkdtempSync(join(tmpdir(), 'switchboard-cluster-'));
  const nodes: ClusterNode[] = [];
  const destroy = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masterCount * (1 + replicasPerMaster); i++) {
      const port = await freePort();
      const dir = join(root, String(port));
      mkdirSync(dir);
      nodes.push(launchNode(port, dir, nodeTimeoutMs));
    }
    for (const node of nodes) {
      await until(
        () => withNode(node.port, async (r) => (await r.ping()) === 'PONG'),
        10_000,
        `node ${node.port} up`,
      );
    }
    const seeds = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run(REDIS_CLI_BINARY, [
      '--cluster',
      'create',
      ...seeds,
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ]);
    const cluster: RedisCluster = {
      nodes,
      seeds,
      async masters() {
        const live = nodes.find((n) => n.alive());
        if (!live) return [];
        const lines = parseClusterNodes(
          await withNode(live.port, (r) => r.call('CLUSTER', 'NODES') as Promise<string>),
        );
        const ports = new Set(
          lines.filter((l) => l.master && !l.failed && l.slots.length > 0).map((l) => l.port),
        );
        return nodes.filter((n) => ports.has(n.port));
      },
      async masterOf(key) {
        const live = nodes.find((n) => n.alive());
        if (!live) throw new Error('no cluster node is alive');
        const slot = Number(await withNode(live.port, (r) => r.call('CLUSTER', 'KEYSLOT', key)));
        const lines = parseClusterNodes(
          await withNode(live.port, (r) => r.call('CLUSTER', 'NODES') as Promise<string>),
        );
        for (const line of lines) {
          if (!line.master || line.failed) continue;
          for (const range of line.slots) {
            if (range.startsWith('[')) continue; // a slot being migrated or imported
            const [from, to = from] = range.split('-').map(Number) as [number, number?];
            if (slot >= from && slot <= (to ?? from)) {
              const node = nodes.find((n) => n.port === line.port);
              if (node) return node;
            }
          }
        }
        throw new Error(`no master serves slot ${slot}`);
      },
      async waitHealthy(timeoutMs = 20_000) {
        await until(
          async () => {
            for (const node of nodes.filter((n) => n.alive())) {
              const info = await withNode(node.port, (r) => r.call('CLUSTER', 'INFO') as Promise<string>);
              if (!info.includes('cluster_state:ok')) return false;
            }
            return (await cluster.masters()).length === masterCount;
          },
          timeoutMs,
          'cluster healthy',
        );
      },
      destroy,
    };
    await cluster.waitHealthy();
    // Replicas must be past their first sync so a failover has someone to promote.
    await until(
      async () => {
        for (const master of await cluster.masters()) {
          const info = await withNode(master.port, (r) => r.info('replication'));
          if (info.split('state=online').length - 1 < replicasPerMaster) return false;
        }
        return true;
      },
      20_000,
      'replicas online',
    );
    return cluster;
  } catch (error) {
    await destroy();
    throw error;
  }
}
