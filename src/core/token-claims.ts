/**
 * What a verified JWT grants: its claims turned into a Principal. Kept apart from signature
 * checking (auth.ts, jwt-keys.ts) so `switchboard token` can validate patterns with the same rules
 * the server applies when it reads them back.
 */
import { unauthorized } from '../protocol/errors.js';

/** Who is calling and what they may do. Every transport hands this to `authorize()`. */
export interface Principal {
  /** The token's `sub`; `"anonymous"` in open mode. Publish rate limits are keyed on it. */
  readonly sub: string;
  /** True in open mode (no token): rate limits then key on the client's address instead of `sub`. */
  readonly anonymous: boolean;
  /** `admin: true` in the token (or open mode): admin routes, and every topic capability. */
  readonly admin: boolean;
  /** Topic patterns this principal may publish to (`*` one segment, `>` the rest). */
  readonly publish: readonly string[];
  /** Topic patterns this principal may subscribe to (fetch, long poll, SSE, WebSocket, groups). */
  readonly subscribe: readonly string[];
  /**
   * Epoch ms after which the server stops honouring the token (its `exp` plus the clock
   * tolerance); `undefined` never expires (open mode). Streams end at this moment.
   */
  readonly expiresAt: number | undefined;
}

/** Open mode: anyone may do anything. One frozen object, so checks cost nothing. */
export const OPEN_PRINCIPAL: Principal = Object.freeze({
  sub: 'anonymous',
  anonymous: true,
  admin: true,
  publish: Object.freeze(['>']),
  subscribe: Object.freeze(['>']),
  expiresAt: undefined,
});

export const PATTERN_RULE =
  'a topic name whose segments may also be "*" (exactly one segment) or, as the last segment, ">" (one or more segments)';
const SEGMENT_RE = /^(?:[A-Za-z0-9_-]{1,64}|\*)$/;
// 8 segments plus the ".dead-letter" suffix, as topic names allow.
const MAX_PATTERN_SEGMENTS = 9;

export function isValidPattern(pattern: string): boolean {
  const segments = pattern.split('.');
  if (segments.length > MAX_PATTERN_SEGMENTS) return false;
  return segments.every((segment, i) =>
    segment === '>' ? i === segments.length - 1 : SEGMENT_RE.test(segment),
  );
}

function patternList(value: unknown, claim: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string' && isValidPattern(p))) {
    throw unauthorized(`token claim ${claim} must be an array of topic patterns (${PATTERN_RULE})`);
  }
  return value as string[];
}

/**
 * Reads the capability claims of an already verified payload. A malformed claim makes the whole
 * token invalid (401) rather than silently granting less: the issuer has a bug worth hearing about.
 */
export function principalFromClaims(payload: Record<string, unknown>, clockToleranceMs: number): Principal {
  const { sub, exp, topics, admin } = payload;
  if (typeof sub !== 'string' || sub.length === 0) throw unauthorized('token has no "sub" claim');
  if (typeof exp !== 'number') throw unauthorized('token has no numeric "exp" claim');
  if (topics !== undefined && (topics === null || typeof topics !== 'object' || Array.isArray(topics))) {
    throw unauthorized('token claim "topics" must be an object {"publish":[…],"subscribe":[…]}');
  }
  // `"admin":"true"` or `1` is an issuer bug: refusing the token says so, granting less would hide it.
  if (admin !== undefined && typeof admin !== 'boolean') {
    throw unauthorized('token claim "admin" must be true or false');
  }
  const grants = (topics ?? {}) as Record<string, unknown>;
  return Object.freeze({
    sub,
    anonymous: false,
    admin: admin === true,
    publish: Object.freeze(patternList(grants.publish, 'topics.publish')),
    subscribe: Object.freeze(patternList(grants.subscribe, 'topics.subscribe')),
    expiresAt: exp * 1000 + clockToleranceMs,
  });
}
