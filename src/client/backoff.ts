/** Reconnect and retry delays: exponential, capped, with jitter so many clients spread out. */

export interface BackoffOptions {
  /** First delay's ceiling. @default 250 (ms) */
  minDelayMs: number;
  /** Largest delay. @default 10_000 (10 s) */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { minDelayMs: 250, maxDelayMs: 10_000 };

/**
 * Delay before retry number `attempt` (0 first): "equal jitter", half fixed and half random, so a
 * crowd reconnecting after a server restart spreads over the window but no client retries at once.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
