/**
 * A real Sentinel-managed Redis on loopback for tests and benches: 1 master + `replicas` replicas
 * (`--replicaof`, no persistence: replication is what is under test) + `sentinels` sentinels with a
 * generated sentinel.conf each (down-after 1 s, failover-timeout 3 s). Needs `redis-server`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_SERVER_BINARY } from './redis-server.js';

export const SENTINEL_MASTER_NAME = 'switchboard';

export interface SentinelSetupOptions {
  /** @default 2 */
  replicas?: number;
  /** @default 3 (0: a master and replicas only) */
  sentinels?: number;
}

export interface RedisProcess {
  port: number;
  process: ChildProcess;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

export interface SentinelSetup {
  master: RedisProcess;
  replicas: RedisProcess[];
  sentinels: RedisProcess[];
  /** `127.0.0.1:p,127.0.0.1:p,…` for --redis-sentinels */
  sentinelList: string[];
  /** The port the sentinels currently name as master. */
  currentMasterPort(): Promise<number>;
  destroy(): Promise<void>;
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

function startProcess(args: string[]): RedisProcess & { port: number } {
  if (!REDIS_SERVER_BINARY) throw new Error('redis-server is not installed');
  const child = spawn(REDIS_SERVER_BINARY, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port: 0,
    process: child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} not within ${timeoutMs} ms`);
}

async function withClient<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

export async function startSentinelSetup(options: SentinelSetupOptions = {}): Promise<SentinelSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-sentinel-'));
  const replicaCount = options.replicas ?? 2;
  const sentinelCount = options.sentinels ?? 3;
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const processes: RedisProcess[] = [];
  const launch = async (args: (port: number) => string[]): Promise<RedisProcess> => {
    const port = await freePort();
    const started = { ...startProcess(args(port)), port };
    processes.push(started);
    return started;
  };

  try {
    // No 5 s diskless-sync delay before the replicas' first full sync.
    const master = await launch((port) => [
      '--port',
      String(port),
      ...common,
      '--repl-diskless-sync-delay',
      '0',
    ]);
    const replicas: RedisProcess[] = [];
    for (let i = 0; i < replicaCount; i++) {
      replicas.push(
        await launch((port) => [
          '--port',
          String(port),
          ...common,
          '--replicaof',
          '127.0.0.1',
          String(master.port),
        ]),
      );
    }
    await until(
      () =>
        withClient(
          master.port,
          async (r) =>
            // online: past the first full sync, so each write reaches the replicas as it happens
            (await r.info('replication')).split('state=online').length - 1 === replicaCount,
        ),
      15_000,
      'replicas online',
    );
    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < sentinelCount; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 3000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      const started = { ...startProcess([conf, '--sentinel']), port };
      processes.push(started);
      sentinels.push(started);
    }
    // A failover needs the sentinels to know each other (hello messages, every 2 s) and the replicas.
    for (const sentinel of sentinels) {
      await until(
        () =>
          withClient(sentinel.port, async (r) => {
            const peers = (await r.call('SENTINEL', 'SENTINELS', SENTINEL_MASTER_NAME)) as unknown[];
            const known = (await r.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME)) as unknown[];
            return peers.length === sentinelCount - 1 && known.length === replicaCount;
          }),
        15_000,
        'sentinels acquainted',
      );
    }
    return {
      master,
      replicas,
      sentinels,
      sentinelList: sentinels.map((s) => `127.0.0.1:${s.port}`),
      async currentMasterPort() {
        const reply = await withClient(sentinels[0]!.port, (r) =>
          r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME),
        );
        return Number((reply as string[])[1]);
      },
      async destroy() {
        await Promise.all(processes.map((p) => p.kill()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(processes.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
