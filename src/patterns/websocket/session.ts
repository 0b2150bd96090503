/**
 * Who a WebSocket connection acts as, and until when. Fastify's auth hook never sees WebSocket
 * frames, so each connection carries its own principal and checks every op against it with the
 * core's one authorization point (`core/auth.ts`), in both modes (open mode's principal allows all).
 *
 * - A token on the upgrade (`?token=` or `Authorization: Bearer`) is verified before the upgrade
 *   is accepted (index.ts); without one, in token mode, the connection starts with no principal:
 *   every op but `auth` is answered `unauthorized`, and it is closed with 4401 unless a valid `auth`
 *   op arrives within the deadline.
 * - The `auth` op replaces the principal and its expiry timer. When the token runs out, the
 *   connection is closed with 4401, unless a fresh `auth` came first.
 */
import { type Authenticator, type Principal, scheduleExpiry } from '../../core/auth.js';
import { type RateLimiter, rateKey } from '../../core/rate-limit.js';
import { isSwitchboardError, unauthorized } from '../../protocol/errors.js';
import { type ClientOp, CloseCode, type CloseCodeValue } from '../../protocol/ws.js';
import type { OpKey } from './ops.js';

export interface WsSecurity {
  readonly auth: Authenticator;
  /** Publishes take from the same per-`sub` (per-address in open mode) bucket as HTTP publishes. */
  readonly publishRate: RateLimiter;
  /** Published bytes per client: a publish frame costs its size (the same bucket HTTP bodies use). */
  readonly publishBytes?: RateLimiter | undefined;
  /** A token-mode connection without a valid token is closed (4401) after this long. */
  readonly authDeadlineMs: number;
  /** Metrics: an op or upgrade refused for `unauthorized`, `forbidden` or `rate_limited`. */
  readonly rejected?: ((reason: string) => void) | undefined;
}

/** What the session needs from its connection: a way to end it. */
interface Closable {
  close(code: CloseCodeValue, reason: string): void;
}

/** Shared by every connection whose token never expires (open mode): nothing allocated per connection. */
const NOTHING_TO_CANCEL = (): void => {};

const REFUSALS_COUNTED = new Set(['unauthorized', 'forbidden', 'rate_limited']);

const EXPIRED_REASON =
  'token expired; send a fresh {"op":"auth"} before the token expires to keep the connection';

export class WsSession {
  #principal: Principal | undefined;
  #cancelExpiry: () => void = NOTHING_TO_CANCEL;
  #deadline: NodeJS.Timeout | undefined;
  #released = false;

  constructor(
    readonly security: WsSecurity,
    /** The client's address key: the publish rate counts per address in open mode. */
    readonly address: string,
    principal: Principal | undefined,
    readonly connection: Closable,
  ) {
    if (principal !== undefined) {
      this.#adopt(principal);
      return;
    }
    const seconds = Math.round(security.authDeadlineMs / 100) / 10;
    this.#deadline = setTimeout(() => {
      security.rejected?.('unauthorized');
      connection.close(
        CloseCode.Unauthorized,
        `no valid token within ${seconds} s: send {"op":"auth","id":1,"token":"<jwt>"} first, or connect with ?token=`,
      );
    }, security.authDeadlineMs).unref();
  }

  get principal(): Principal | undefined {
    return this.#principal;
  }

  /**
   * Runs before every op's handler; throws the contract's error to refuse it. `auth` always passes
   * (it is how a connection gets a principal); `unsubscribe` only needs a principal, since it gives
   * access up; everything else is authorized on its topic (`publish` for publishes, `subscribe` for
   * subscribes and group ops: consuming is reading). Publishes also take from the rate bucket.
   */
  check(key: OpKey, op: ClientOp, frame?: string): void {
    if (key === 'auth') return;
    try {
      const principal = this.#principal;
      if (principal === undefined) {
        throw unauthorized(
          'authenticate first: send {"op":"auth","id":1,"token":"<jwt>"} or connect with ?token=<jwt>',
        );
      }
      // `respond` names no topic: its unguessable inbox id is the capability (docs/security.md).
      if (key === 'unsubscribe' || key === 'unsubscribeGroup' || key === 'respond') return;
      const { topic } = op as { topic: string };
      const publishes = key === 'publish' || key === 'request';
      this.security.auth.authorize(principal, publishes ? 'publish' : 'subscribe', topic);
      if (publishes) {
        const client = rateKey(principal, this.address);
        this.security.publishRate.take(client);
        if (frame !== undefined && this.security.publishBytes?.enabled) {
          this.security.publishBytes.take(client, Buffer.byteLength(frame));
        }
      }
    } catch (error) {
      if (isSwitchboardError(error) && REFUSALS_COUNTED.has(error.code)) this.security.rejected?.(error.code);
      throw error;
    }
  }

  /**
   * The `auth` op. A valid token replaces the principal and its expiry; it must still cover every
   * topic the connection follows (else it is refused with 403 and the old principal stays), so a
   * token swap can never leave a subscription running that the new token would not allow. A
   * refused token changes nothing: the connection keeps its principal, or its deadline.
   */
  async authenticate(token: string, followedTopics: Iterable<string>): Promise<Record<string, unknown>> {
    const { auth } = this.security;
    let principal: Principal;
    try {
      principal = await auth.authenticate(token);
      if (auth.mode === 'open') return { mode: 'open' }; // tokens are ignored in open mode
      for (const topic of followedTopics) auth.authorize(principal, 'subscribe', topic);
    } catch (error) {
      if (isSwitchboardError(error) && REFUSALS_COUNTED.has(error.code)) this.security.rejected?.(error.code);
      throw error;
    }
    this.#adopt(principal);
    return { mode: 'token', sub: principal.sub, expiresAt: principal.expiresAt ?? null };
  }

  /** Stops the timers (the connection closed). */
  release(): void {
    this.#released = true;
    clearTimeout(this.#deadline);
    this.#cancelExpiry();
  }

  #adopt(principal: Principal): void {
    if (this.#released) return; // the connection closed while the token was being verified
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    this.#cancelExpiry();
    this.#principal = principal;
    if (principal.expiresAt === undefined) {
      this.#cancelExpiry = NOTHING_TO_CANCEL;
      return;
    }
    this.#cancelExpiry = scheduleExpiry(principal, () =>
      this.connection.close(CloseCode.Unauthorized, EXPIRED_REASON),
    );
  }
}
