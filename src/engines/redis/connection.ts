/**
 * How the Redis engine talks to Redis: connections that fail fast instead of queueing, and errors
 * translated into the contract's `unavailable` with a message that says what happened.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions, ReplyError } from 'ioredis';
import { SwitchboardError, unavailable } from '../../protocol/errors.js';

/** Where the Redis master is found by Sentinel: `--redis-sentinels h:p,… --redis-sentinel-name NAME`. */
export interface SentinelTarget {
  sentinels: Array<{ host: string; port: number }>;
  /** The master group name the sentinels monitor (`sentinel monitor NAME …`). */
  name: string;
}

/**
 * What the stores talk to: one Redis (plain or found through Sentinel) or a Redis Cluster. Both
 * run the same commands and scripts; a Cluster routes each by its first key's slot, so every
 * script's keys must share a hash tag (keys.ts) and a batch over many topics is `Promise.all` of
 * single commands (sent back to back on each shard's connection) rather than one `pipeline()`,
 * which a Cluster refuses across slots.
 */
export type RedisClient = Redis | Cluster;

/** Seed nodes of a Redis Cluster: `--redis-cluster h1:p1,h2:p2,…`. */
export interface ClusterTarget {
  nodes: Array<{ host: string; port: number }>;
}

export interface ConnectionSettings {
  /**
   * The Redis URL; with `sentinel` or `cluster`, only its password, user, database and `rediss://`
   * are used.
   */
  url: string;
  /** When set, every connection asks these sentinels for the current master (ioredis's Sentinel support). */
  sentinel?: SentinelTarget | undefined;
  /** When set, connect to this Redis Cluster (ioredis's Cluster) instead of one Redis. */
  cluster?: ClusterTarget | undefined;
  /** Give up a connection attempt after this long. */
  connectTimeoutMs: number;
  /** Fail a command that got no reply within this long (a hung or partitioned Redis). */
  commandTimeoutMs: number;
  /** Shown in CLIENT LIST, so an operator can tell the nodes' connections apart. */
  connectionName: string;
}

export function createConnection(settings: ConnectionSettings): RedisClient {
  return settings.cluster
    ? createClusterConnection(settings, settings.cluster)
    : createServerConnection(settings);
}

function serverOptions(settings: ConnectionSettings): RedisOptions {
  return {
    lazyConnect: true,
    // While disconnected, commands fail at once: a publish answers 503 instead of waiting for a
    // Redis that may never come back, and nothing is acknowledged that Redis did not store.
    enableOfflineQueue: false,
    // A command in flight when the connection drops fails rather than being sent again after the
    // reconnect: Redis may already have applied it, and a re-sent append would store it twice.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: settings.connectTimeoutMs,
    commandTimeout: settings.commandTimeoutMs,
    // Keep trying forever, at most a second apart, so a node recovers soon after Redis returns.
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
    connectionName: settings.connectionName,
    keepAlive: 10_000,
  };
}

function createServerConnection(settings: ConnectionSettings): Redis {
  const options = serverOptions(settings);
  const connection = settings.sentinel
    ? new Redis({
        ...options,
        ...sentinelOptions(settings.url, settings.sentinel, settings.connectTimeoutMs),
      })
    : new Redis(settings.url, options);
  keepRetrying(connection);
  return connection;
}

/**
 * ioredis's Cluster: it learns the slot map from the seeds (CLUSTER SLOTS), sends each command to
 * the master of its key's slot, follows MOVED and ASK redirections (a slot migration), and waits
 * and retries on CLUSTERDOWN and TRYAGAIN — safe, since Redis executed nothing in those cases. A
 * command whose node connection drops fails (never re-sent, as for one Redis), and while the
 * cluster is unreachable commands fail at once (no offline queue): publishes answer 503.
 */
function createClusterConnection(settings: ConnectionSettings, target: ClusterTarget): Cluster {
  const parsed = new URL(settings.url);
  const { lazyConnect: _lazy, retryStrategy: _retry, ...perNode } = serverOptions(settings);
  const options: ClusterOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    // No auto-pipelining: ioredis retries a failed pipeline (TRYAGAIN, CLUSTERDOWN, ASK) only when
    // every command in it failed alike and the rest are read-only, so an append batched with other
    // writes would answer 503 during a slot migration instead of being retried (seen under load).
    // Concurrent commands still share each node's socket without waiting for one another.
    enableAutoPipelining: false,
    scaleReads: 'master',
    clusterRetryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
    // A failover or a migration takes a few seconds; retry redirections and CLUSTERDOWN within that.
    maxRedirections: 16,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: settings.connectTimeoutMs,
    slotsRefreshInterval: 5_000,
    redisOptions: {
      ...perNode,
      username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
      ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  };
  const connection = new Cluster(target.nodes, options);
  keepRetrying(connection);
  return connection;
}

function keepRetrying(connection: RedisClient): void {
  // ioredis prints unhandled 'error' events; failures surface through commands and ping instead.
  connection.on('error', () => {});
  // ioredis gives up for good ("end") when a connect attempt is cut short (in Sentinel mode: while
  // it asked the sentinels). Unless we closed it, start over: a node must never stop retrying.
  connection.on('end', () => {
    if (closedByUs.has(connection)) return;
    setTimeout(() => {
      if (!closedByUs.has(connection) && connection.status === 'end') connection.connect().catch(() => {});
    }, 500).unref();
  });
}

/** `host:port,host:port` as given by --redis-cluster, for banners and error messages. */
export function describeCluster(target: ClusterTarget): string {
  return `Redis Cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

/** Connections closed on purpose (closeConnection, dropConnection): never reconnected. */
const closedByUs = new WeakSet<RedisClient>();

/** Drops a connection at once, for good (a failed open). */
export function dropConnection(connection: RedisClient): void {
  closedByUs.add(connection);
  connection.disconnect();
}

/**
 * ioredis's Sentinel mode: each (re)connect asks the sentinels for the master, so after a failover the
 * connection lands on the promoted replica. While no sentinel names a reachable master, commands
 * fail at once (no offline queue) and the node keeps asking, at most a second apart.
 */
function sentinelOptions(url: string, target: SentinelTarget, connectTimeoutMs: number): RedisOptions {
  const parsed = new URL(url);
  const database = Number(parsed.pathname.slice(1) || '0');
  return {
    sentinels: target.sentinels,
    name: target.name,
    role: 'master',
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: Number.isSafeInteger(database) ? database : 0,
    ...(parsed.protocol === 'rediss:' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    // Never give up on the sentinels (they may all be restarting); ask again at most a second apart.
    sentinelRetryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
    // A hung sentinel must not hang the reconnect.
    sentinelCommandTimeout: connectTimeoutMs,
    // Not ioredis's failoverDetector: a +switch-master arriving while a reconnect is asking the
    // sentinels ends that connection for good (status "end"). Sentinel kills the old master's
    // client connections when it demotes it, which reconnects us to the new master anyway.
    failoverDetector: false,
  };
}

/** `host:port,host:port` as given by --redis-sentinels, for banners and error messages. */
export function describeSentinels(target: SentinelTarget): string {
  return `sentinels ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')} (master "${target.name}")`;
}

/** `promise`, or an error saying `what` did not finish within `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`could not ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The URL without its password, for banners and error messages. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'redis (unparsable URL)';
  }
}

/** Closes a connection politely (QUIT waits for replies in flight), or at once when it is down. */
export async function closeConnection(connection: RedisClient): Promise<void> {
  closedByUs.add(connection);
  if (connection.status === 'end') return;
  try {
    await connection.quit();
  } catch {
    connection.disconnect();
  }
}

/**
 * Any failure becomes a 503 `unavailable` that says whether Redis refused (it answered with an
 * error) or could not be reached, and what that means for the caller.
 */
export function redisFailure(location: string, connection: RedisClient, what: string, error: unknown): Error {
  if (error instanceof SwitchboardError) return error;
  if (error instanceof ReplyError) {
    return unavailable(`Redis at ${location} refused to ${what}: ${(error as Error).message}`, error);
  }
  const reason = error instanceof Error ? error.message : String(error);
  return unavailable(
    `Redis at ${location} is not reachable (${connection.status}: ${reason}); could not ${what}, retry shortly`,
    error,
  );
}
