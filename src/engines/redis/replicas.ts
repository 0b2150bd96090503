/**
 * `--redis-wait-replicas N`: before a write is acknowledged to a client, `WAIT N timeoutMs` makes
 * sure N replicas have it, so a failover to one of them cannot lose it. Redis replication is
 * asynchronous otherwise: an acknowledged append the replicas had not received yet is gone once a
 * replica is promoted.
 *
 * WAIT covers every write sent earlier on the same connection, so concurrent writes share one WAIT
 * (group commit): while a WAIT is in flight, the writes that finish meanwhile wait for the next
 * one, issued as soon as it answers. One extra round trip per batch, never one per message.
 */
import type { Redis } from 'ioredis';
import { unavailable } from '../../protocol/errors.js';
import type { RedisClient } from './connection.js';

export interface ReplicaWaitSettings {
  /** Replicas that must confirm a write before it is acknowledged; 0 turns WAIT off. */
  replicas: number;
  /** How long WAIT may block before the write is answered 503 instead. */
  timeoutMs: number;
}

export interface ReplicaBarrier {
  /** Resolves once `replicas` replicas have every write this connection sent so far; else a 503. */
  wait(connection: Redis): Promise<void>;
  /** The 503 for a write whose replication could not be confirmed, saying why. */
  unconfirmed(reason: string): Error;
}

export function createReplicaBarrier(settings: ReplicaWaitSettings): ReplicaBarrier {
  /** The WAIT in flight: it covers writes that finished before it was sent. */
  let inFlight: Promise<void> | undefined;
  /** The WAIT that will follow it, shared by every write that finished while the first ran. */
  let next: Promise<void> | undefined;

  const unconfirmed = (reason: string): Error =>
    unavailable(
      `${reason} (--redis-wait-replicas ${settings.replicas}): the write is stored on the Redis master but may or may not survive a failover; retry with the same idempotency key`,
    );

  const runWait = async (connection: Redis): Promise<void> => {
    const confirmed = Number(await connection.call('WAIT', settings.replicas, settings.timeoutMs));
    if (confirmed < settings.replicas) {
      throw unconfirmed(
        `only ${confirmed} of ${settings.replicas} Redis replicas confirmed the write within ${settings.timeoutMs} ms`,
      );
    }
  };

  const start = (connection: Redis): Promise<void> => {
    const run = runWait(connection).finally(() => {
      if (inFlight === run) inFlight = undefined;
    });
    inFlight = run;
    return run;
  };

  return {
    unconfirmed,
    wait(connection) {
      if (settings.replicas <= 0) return Promise.resolve();
      if (!inFlight) return start(connection);
      // A WAIT sent before this write finished does not cover it: join the one after it.
      next ??= inFlight
        .catch(() => {})
        .then(() => {
          next = undefined;
          return start(connection);
        });
      return next;
    },
  };
}

/** How a store asks for a write to be replicated before its caller acknowledges it. */
export interface CallOptions {
  /** The result is acknowledged to a client: WAIT for the replicas first (when configured). */
  replicated?: boolean;
}

/** The engine's `call`, as the stores see it (see index.ts). */
export type RedisCall = <T>(
  what: string,
  operation: (redis: RedisClient) => Promise<T>,
  options?: CallOptions,
) => Promise<T>;
