/**
 * Token buckets keyed by client (a token's `sub`, or an address in open mode). Each key refills
 * at `ratePerSecond` up to `burst`; a publish takes one token. Used by every publishing transport
 * through `take()`, which throws the contract's 429 with the wait until a token is available.
 * The byte rate is a second limiter of the same kind whose tokens are bytes (`unit: 'bytes'`).
 */
import { rateLimited } from '../protocol/errors.js';
import type { Principal } from './token-claims.js';

export interface RateLimitOptions {
  /** Sustained rate per key; 0 disables the limit. */
  ratePerSecond: number;
  /** Most tokens a key can save up (short bursts above the rate). */
  burst: number;
  /**
   * What a token stands for, in the 429's message: `publishes` (one per message) or `bytes` (the
   * byte rate, where a 1 MiB batch costs its size). @default 'publishes'
   */
  unit?: 'publishes' | 'bytes';
  /** Keys remembered at most; full buckets are forgotten first (they equal a fresh one). @default 100_000 */
  maxKeys?: number;
  now?: () => number;
}

export interface RateLimiter {
  readonly enabled: boolean;
  /** Takes `cost` tokens for `key`, or throws 429 `rate_limited` with `retryAfterMs`. */
  take(key: string, cost?: number): void;
  /** Buckets currently remembered (for tests and metrics). */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

/** The rate-limit key of a caller: its token's subject, or its address when there is no token. */
export function rateKey(principal: Principal | undefined, clientAddress: string): string {
  return principal && !principal.anonymous ? `sub:${principal.sub}` : `ip:${clientAddress}`;
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const { ratePerSecond, maxKeys = 100_000, now = Date.now } = options;
  const burst = Math.max(1, options.burst);
  const buckets = new Map<string, Bucket>();
  const perMs = ratePerSecond / 1000;

  const refill = (bucket: Bucket, at: number): void => {
    bucket.tokens = Math.min(burst, bucket.tokens + (at - bucket.updated) * perMs);
    bucket.updated = at;
  };

  // Bounded memory under many distinct keys: drop refilled buckets, then the oldest ones.
  const prune = (at: number): void => {
    for (const [key, bucket] of buckets) {
      refill(bucket, at);
      if (bucket.tokens >= burst) buckets.delete(key);
    }
    for (const key of buckets.keys()) {
      if (buckets.size < maxKeys) break;
      buckets.delete(key);
    }
  };

  return {
    enabled: ratePerSecond > 0,
    get size() {
      return buckets.size;
    },
    take(key, cost = 1) {
      if (ratePerSecond <= 0) return;
      const at = now();
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= maxKeys) prune(at);
        bucket = { tokens: burst, updated: at };
        buckets.set(key, bucket);
      } else {
        refill(bucket, at);
      }
      const needed = Math.min(cost, burst);
      if (bucket.tokens >= needed) {
        bucket.tokens -= needed;
        return;
      }
      const waitMs = Math.ceil((needed - bucket.tokens) / perMs);
      const retry = `retry in ${Math.ceil(waitMs / 1000)} s`;
      throw rateLimited(
        options.unit === 'bytes'
          ? `publishing more than ${ratePerSecond} bytes/s (burst ${burst}) for this client; ${retry}`
          : `publishing faster than ${ratePerSecond}/s (burst ${burst}) for this client; ${retry}`,
        waitMs,
      );
    },
  };
}
