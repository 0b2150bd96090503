/**
 * The one authentication and authorization point every transport calls.
 *
 *   const principal = await auth.authenticate(token);        // 401 unless the token is valid
 *   auth.authorize(principal, 'subscribe', 'orders.eu');      // 403 outside its topics
 *
 * In open mode `authenticate` returns an all-allowed principal, so transports call the same two
 * functions in both modes and never branch on the mode themselves. See docs/security.md.
 */
import { errors as joseErrors, jwtVerify } from 'jose';
import { forbidden, isSwitchboardError, type SwitchboardError, unauthorized } from '../protocol/errors.js';
import { createVerificationKeys, type KeySources } from './jwt-keys.js';
import { derivedFrom, isSystemTopic, matchTopicStrict, systemTopicWriteDenied } from './system-topics.js';
import { OPEN_PRINCIPAL, type Principal, principalFromClaims } from './token-claims.js';
import { assertTopic } from './validate.js';

export { OPEN_PRINCIPAL, type Principal } from './token-claims.js';

export type AuthMode = 'open' | 'token';
/** `publish`/`subscribe` need a topic; `admin` is for admin routes (delete topic, metrics). */
export type Capability = 'publish' | 'subscribe' | 'admin';

/** The contract's most lenient clock skew for `exp`/`nbf`. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 30;
/** A WebSocket that has not authenticated within this time is closed with 4401 (token mode). */
export const WS_AUTH_DEADLINE_MS = 10_000;
/** Longer strings are refused before any parsing: real tokens are a few hundred bytes. */
const MAX_TOKEN_LENGTH = 8_192;

export interface AuthOptions extends KeySources {
  mode: AuthMode;
  /** Required `aud` (the token's audience must include it). */
  audience?: string | undefined;
  /** Required `iss`. */
  issuer?: string | undefined;
  /** Leeway for `exp`/`nbf`, 0–30 s. @default 30 */
  clockToleranceSeconds?: number;
  /** Verified tokens remembered (until they expire) so repeat requests skip the signature check. @default 4_096 */
  cacheSize?: number;
  /** Injectable clock for tests. @default Date.now */
  now?: () => number;
}

export interface Authenticator {
  readonly mode: AuthMode;
  /** Human summary for the startup log, e.g. "token (HS256 secret)". */
  readonly description: string;
  /** Token → Principal, or throws 401 `unauthorized` (503 when a JWKS cannot be fetched). */
  authenticate(token: string | undefined): Promise<Principal>;
  /**
   * What `authenticate` would answer, when it is known without verifying anything (open mode, or a
   * token verified before and not expired); undefined otherwise. Lets per-request hooks skip a promise.
   */
  known(token: string | undefined): Principal | undefined;
  /** Throws 401 when the principal expired, 403 `forbidden` when it lacks the capability, 400 for a bad topic name. */
  authorize(principal: Principal, capability: Capability, topic?: string): void;
  /** The same check as `authorize`, as a boolean (for filtering lists); false when expired. */
  allows(principal: Principal, capability: Capability, topic?: string): boolean;
}

/** True when `principal` may use `capability` on `topic` at time `now` (admin may do everything). */
export function allows(
  principal: Principal,
  capability: Capability,
  topic?: string,
  now = Date.now(),
): boolean {
  return denial(principal, capability, topic, now) === undefined;
}

/** Throws the contract's error when `principal` may not use `capability` on `topic`. */
export function authorize(
  principal: Principal,
  capability: Capability,
  topic?: string,
  now = Date.now(),
): void {
  const error = denial(principal, capability, topic, now);
  if (error) throw error;
}

function denial(
  principal: Principal,
  capability: Capability,
  topic: string | undefined,
  now: number,
): SwitchboardError | undefined {
  if (principal.expiresAt !== undefined && now >= principal.expiresAt) {
    return unauthorized('token has expired; authenticate again with a fresh token');
  }
  if (topic !== undefined) assertTopic(topic);
  // System topics are read-only from outside for everyone, admin and open mode included.
  if (capability === 'publish' && topic !== undefined && isSystemTopic(topic)) {
    return systemTopicWriteDenied(topic, 'publish to');
  }
  if (principal.admin) return undefined;
  if (capability === 'admin') {
    return forbidden(`this needs a token with "admin": true; the token for "${principal.sub}" is not admin`);
  }
  if (topic === undefined) throw new TypeError(`authorize(${capability}) needs a topic`);
  const patterns = principal[capability];
  if (patterns.some((pattern) => matchTopicStrict(pattern, topic))) return undefined;
  // `orders.dead-letter` and `orders.presence` are readable by whoever may read `orders`.
  const base = derivedFrom(topic);
  if (base !== undefined && patterns.some((pattern) => matchTopicStrict(pattern, base))) return undefined;
  return forbidden(
    `the token for "${principal.sub}" may not ${capability} to "${topic}"; its topics.${capability} patterns are ${JSON.stringify(patterns)}`,
  );
}

/**
 * Calls `onExpired` when the principal's token expires (never in open mode). Streams (SSE,
 * WebSocket subscriptions) use it to end themselves; returns the function that cancels it.
 */
export function scheduleExpiry(principal: Principal, onExpired: () => void, now = Date.now): () => void {
  if (principal.expiresAt === undefined) return () => {};
  const expiresAt = principal.expiresAt;
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const remaining = expiresAt - now();
    if (remaining <= 0) {
      onExpired();
      return;
    }
    // setTimeout cannot wait longer than 2^31-1 ms; long-lived tokens re-arm.
    timer = setTimeout(arm, Math.min(remaining, 2_147_483_647));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

export function createAuthenticator(options: AuthOptions): Authenticator {
  const now = options.now ?? Date.now;
  const boundAuthorize = (p: Principal, c: Capability, t?: string) => authorize(p, c, t, now());
  const boundAllows = (p: Principal, c: Capability, t?: string) => allows(p, c, t, now());
  if (options.mode === 'open') {
    return {
      mode: 'open',
      description: 'open (anyone who can reach the server may publish and subscribe)',
      authenticate: async () => OPEN_PRINCIPAL,
      known: () => OPEN_PRINCIPAL,
      authorize: boundAuthorize,
      allows: boundAllows,
    };
  }

  const tolerance = options.clockToleranceSeconds ?? MAX_CLOCK_TOLERANCE_SECONDS;
  if (!(tolerance >= 0 && tolerance <= MAX_CLOCK_TOLERANCE_SECONDS)) {
    throw new Error(`the clock tolerance must be 0-${MAX_CLOCK_TOLERANCE_SECONDS} seconds, got ${tolerance}`);
  }
  const keys = createVerificationKeys(options);
  const cacheSize = options.cacheSize ?? 4_096;
  const verified = new Map<string, Principal>();

  const verify = async (token: string): Promise<Principal> => {
    try {
      const { payload } = await jwtVerify(token, keys.resolve, {
        algorithms: keys.algorithms,
        audience: options.audience,
        issuer: options.issuer,
        clockTolerance: tolerance,
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(now()),
      });
      return principalFromClaims(payload as Record<string, unknown>, tolerance * 1000);
    } catch (error) {
      throw tokenError(error, keys.algorithms);
    }
  };

  return {
    mode: 'token',
    description: `token (${keys.description})`,
    async authenticate(token) {
      if (!token) {
        throw unauthorized(
          'this server needs a token: send Authorization: Bearer <jwt> (or ?token=<jwt> for EventSource and WebSocket)',
        );
      }
      if (token.length > MAX_TOKEN_LENGTH) throw unauthorized('token is too long to be a JWT');
      const cached = verified.get(token);
      if (cached && cached.expiresAt !== undefined && now() < cached.expiresAt) return cached;
      if (cached) verified.delete(token);
      const principal = await verify(token);
      if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
      verified.set(token, principal);
      return principal;
    },
    known(token) {
      if (!token) return undefined;
      const cached = verified.get(token);
      return cached && cached.expiresAt !== undefined && now() < cached.expiresAt ? cached : undefined;
    },
    authorize: boundAuthorize,
    allows: boundAllows,
  };
}

/** jose's errors → 401 with a message that says what to fix (never the token itself). */
function tokenError(error: unknown, accepted: readonly string[]): SwitchboardError {
  if (isSwitchboardError(error)) return error;
  if (error instanceof joseErrors.JWTExpired) return unauthorized('token has expired; get a fresh one');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return unauthorized(`token has no "${error.claim}" claim`);
    if (error.claim === 'nbf') return unauthorized('token is not valid yet (its "nbf" is in the future)');
    return unauthorized(`token claim "${error.claim}" does not match what this server requires`);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    return unauthorized(`token algorithm is not accepted here (accepted: ${accepted.join(', ')})`);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return unauthorized('token signature does not verify with this server’s key');
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return unauthorized('token was signed with a key (kid) this server does not know');
  }
  return unauthorized('token is malformed or not a signed JWT');
}
