/**
 * A real `redis-server` for tests: a free loopback port, a temp dir, AOF on, no RDB. One per test
 * file is plenty (fixtures separate themselves by key prefix). When the binary is missing, Redis
 * tests are skipped with a loud message, never passed silently.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const REDIS_SERVER_BINARY = findBinary();

let warned = false;
/** True when redis-server is installed; otherwise prints (once per process) that Redis is NOT tested. */
export function redisServerAvailable(): boolean {
  if (REDIS_SERVER_BINARY) return true;
  if (!warned) {
    warned = true;
    console.warn(
      [
        '',
        '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
        '!!  redis-server not found: the Redis engine is NOT being tested (suites skip it).    !!',
        '!!  Install it (Debian: apt-get install redis-server, or run .ci/run) and run again.   !!',
        '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
        '',
      ].join('\n'),
    );
  }
  return false;
}

/** A free loopback port, found synchronously (so fixtures can create engines synchronously). */
function freePortSync(): number {
  const script =
    "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})";
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Resolves once the server answers PING (after loading its AOF). */
  ready(): Promise<void>;
  /** SIGTERM (Redis flushes its AOF and exits) or SIGKILL; resolves once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and directory (so it reloads its AOF). */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
  /** Sends one command (RESP inline) and returns the raw reply text. */
  command(...args: string[]): Promise<string>;
}

export interface RedisServerOptions {
  /** Extra redis-server arguments, e.g. ['--appendonly', 'no']. */
  args?: string[];
}

export function launchRedisServer(options: RedisServerOptions = {}): RedisServer {
  if (!REDIS_SERVER_BINARY) throw new Error('redis-server is not installed');
  const binary = REDIS_SERVER_BINARY;
  const port = freePortSync();
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-redis-'));
  let child: ChildProcess | undefined;
  let watchdog: ChildProcess | undefined;
  let readiness: Promise<void> = Promise.resolve();

  const spawnServer = (): void => {
    const settings: Array<[flag: string, value: string]> = [
      ['--port', String(port)],
      ['--bind', '127.0.0.1'],
      ['--save', ''], // no RDB snapshots
      ['--appendonly', 'yes'], // AOF, as docs/scaling.md recommends (appendfsync everysec)
      ['--dir', dir],
      ['--logfile', 'redis.log'],
      ['--daemonize', 'no'],
    ];
    const args = [...settings.flat(), ...(options.args ?? [])];
    const server = spawn(binary, args, { stdio: 'ignore' });
    server.unref();
    child = server;
    // If this test process dies without cleaning up (killed by the runner), the watchdog's stdin
    // closes and it kills the server, so no redis-server outlives its tests.
    const guard = spawn('sh', ['-c', `read _; kill -9 ${server.pid} 2>/dev/null`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    guard.unref();
    (guard.stdin as unknown as { unref?: () => void }).unref?.();
    watchdog = guard;
    readiness = waitForPing(port, () => readLog(dir), server);
    readiness.catch(() => {});
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const server = child;
    child = undefined;
    watchdog?.kill('SIGKILL');
    watchdog = undefined;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    server.kill(signal);
    await exited;
  };

  process.once('exit', () => {
    child?.kill('SIGKILL');
    watchdog?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  spawnServer();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    ready: () => readiness,
    stop,
    async start() {
      if (child) throw new Error('redis-server is already running');
      spawnServer();
      await readiness;
    },
    async destroy() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    command: (...args) => sendCommand(port, args),
  };
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = launchRedisServer(options);
  await server.ready();
  return server;
}

let shared: RedisServer | undefined;
/** One server per test process, started on first use and killed when the process exits. */
export function sharedRedisServer(): RedisServer {
  shared ??= launchRedisServer();
  return shared;
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8').slice(-2_000);
  } catch {
    return '(no log)';
  }
}

/** Sends one command as a RESP array and resolves with the first reply (raw text). */
function sendCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('redis-server did not answer in 2 s')));
    socket.on('connect', () => {
      const parts = args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
      socket.write(`*${args.length}\r\n${parts.join('')}`);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.endsWith('\r\n')) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
  });
}

async function waitForPing(port: number, log: () => string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  let lastError = '';
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`redis-server exited (${server.exitCode ?? server.signalCode}):\n${log()}`);
    }
    try {
      const reply = await sendCommand(port, ['PING']);
      if (reply.startsWith('+PONG')) return;
      lastError = reply.trim(); // e.g. -LOADING while the AOF is read back
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer PING in 15 s (${lastError}):\n${log()}`);
}
