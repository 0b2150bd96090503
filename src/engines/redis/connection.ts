/**
 * How the Redis engine talks to Redis: connections that fail fast instead of queueing, and errors
 * translated into the contract's `unavailable` with a message that says what happened.
 */
import { Redis, type RedisOptions, ReplyError } from 'ioredis';
import { SwitchboardError, unavailable } from '../../protocol/errors.js';

export interface ConnectionSettings {
  url: string;
  /** Give up a connection attempt after this long. */
  connectTimeoutMs: number;
  /** Fail a command that got no reply within this long (a hung or partitioned Redis). */
  commandTimeoutMs: number;
  /** Shown in CLIENT LIST, so an operator can tell the nodes' connections apart. */
  connectionName: string;
}

export function createConnection(settings: ConnectionSettings): Redis {
  const options: RedisOptions = {
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
  const connection = new Redis(settings.url, options);
  // ioredis prints unhandled 'error' events; failures surface through commands and ping instead.
  connection.on('error', () => {});
  return connection;
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
export async function closeConnection(connection: Redis): Promise<void> {
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
export function redisFailure(location: string, connection: Redis, what: string, error: unknown): Error {
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
