/**
 * When a failed delivery is tried again. The default follows Svix / Standard Webhooks: after the
 * first failure 5 s, then 5 min, 30 min, 2 h, 5 h, 10 h and 10 h — eight attempts over about 27.5
 * hours — after which the message goes to the dead letter. Each delay is jittered by ±20% so that
 * many webhooks failing together (a receiver outage) do not all retry in the same instant.
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

export const JITTER = 0.2;

/**
 * Delay before the next attempt after `failedAttempts` failures (1 = the first attempt failed), or
 * undefined when the retry budget is spent.
 */
export function retryDelay(
  schedule: readonly number[],
  failedAttempts: number,
  random: () => number = Math.random,
): number | undefined {
  const base = schedule[failedAttempts - 1];
  if (base === undefined) return undefined;
  return Math.max(0, Math.round(base * (1 - JITTER + 2 * JITTER * random())));
}

/** A schedule from settings: whole numbers of milliseconds, 0-7 days each, at most 50 entries. */
export function isValidSchedule(value: unknown): value is number[] {
  return (
    Array.isArray(value) &&
    value.length <= 50 &&
    value.every((delay) => Number.isSafeInteger(delay) && delay >= 0 && delay <= 7 * 86_400_000)
  );
}
