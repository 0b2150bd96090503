/** Durations on the command line: `10s`, `500ms`, `5m`, `2h`, `1d`, or a bare number of milliseconds. */
const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) {
    throw new Error(`${flag} ${JSON.stringify(text)} is not a duration: use e.g. 500ms, 10s, 5m, 2h or 1d`);
  }
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
}

/** `--at`: an ISO 8601 time (`2026-12-24T18:00:00Z`) or a number of ms since 1970. */
export function parseTime(text: string, flag: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(value)) {
    throw new Error(
      `${flag} ${JSON.stringify(text)} is not a time: use ISO 8601 (2026-12-24T18:00:00Z) or ms since 1970`,
    );
  }
  return value;
}
