/**
 * Checks a push subscription registration — a browser's `PushSubscription.toJSON()` plus optional
 * `ttl` and `urgency` — and turns every fault into a 400 naming it. The endpoint passes the webhook
 * SSRF guard; it must be https (every push service is), except that with private destinations
 * allowed (`--allow-private-webhooks`) plain http may reach a private IP (a local push service).
 */
import { ECDH } from 'node:crypto';
import { isIP } from 'node:net';
import type { PushUrgency } from '../../engines/push-store.js';
import { badRequest } from '../../protocol/errors.js';
import { blockedReason } from '../webhooks/ip-ranges.js';
import { assertDestination, type Resolver } from '../webhooks/ssrf-guard.js';

export interface SubscriptionInput {
  endpoint: string;
  p256dh: string;
  auth: string;
  ttl: number;
  urgency: PushUrgency;
}

/** RFC 8030 allows more; a day is what a notification is worth by default. */
export const DEFAULT_TTL_SECONDS = 86_400;
/** 28 days, the longest push services keep a message. */
export const MAX_TTL_SECONDS = 2_419_200;
const URGENCIES: readonly PushUrgency[] = ['very-low', 'low', 'normal', 'high'];
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
const SHAPE =
  'send {"subscription":{"endpoint":"https://…","keys":{"p256dh":"…","auth":"…"}},"ttl"?:seconds,"urgency"?:"very-low|low|normal|high"} (a PushSubscription.toJSON())';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function onlyKnown(value: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw badRequest(`unknown field "${where}${key}"; ${SHAPE}`);
  }
}

function base64urlBytes(value: unknown, name: string, length: number): Buffer {
  const bytes =
    typeof value === 'string' && value.length <= 200 && BASE64URL.test(value)
      ? Buffer.from(value, 'base64url')
      : undefined;
  if (bytes?.length !== length) {
    throw badRequest(`subscription.keys.${name} must be ${length} bytes in base64url`);
  }
  return bytes;
}

/** The browser's key must be a point on P-256, or nothing could ever be encrypted to it. */
function assertCurvePoint(p256dh: Buffer): void {
  try {
    if (p256dh[0] !== 4) throw new Error('not uncompressed');
    ECDH.convertKey(p256dh, 'prime256v1');
  } catch {
    throw badRequest('subscription.keys.p256dh is not an uncompressed P-256 public key');
  }
}

async function assertEndpoint(value: unknown, allowPrivate: boolean, resolve?: Resolver): Promise<URL> {
  const what = 'subscription.endpoint';
  if (typeof value === 'string' && /^http:/i.test(value)) {
    // Plain http only to a push service on this network (tests, labs), named by a private IP.
    const host = URL.canParse(value) ? new URL(value).hostname.replace(/^\[|\]$/g, '') : '';
    if (!allowPrivate || !isIP(host) || !blockedReason(host)) {
      throw badRequest(
        `${what} must use https, as every push service does (plain http is accepted only to a private IP address, with --allow-private-webhooks)`,
      );
    }
  }
  return assertDestination(value, { allowPrivate, what, ...(resolve ? { resolve } : {}) });
}

export async function parseSubscription(
  body: Record<string, unknown>,
  options: { allowPrivate: boolean; resolve?: Resolver },
): Promise<SubscriptionInput> {
  onlyKnown(body, ['subscription', 'ttl', 'urgency'], '');
  const { subscription } = body;
  if (!isObject(subscription)) throw badRequest(`"subscription" is missing; ${SHAPE}`);
  onlyKnown(subscription, ['endpoint', 'keys', 'expirationTime'], 'subscription.');
  const { expirationTime } = subscription;
  if (expirationTime !== undefined && expirationTime !== null && typeof expirationTime !== 'number') {
    throw badRequest('subscription.expirationTime must be null or a number (ms epoch)');
  }
  const { keys } = subscription;
  if (!isObject(keys)) throw badRequest(`"subscription.keys" is missing; ${SHAPE}`);
  onlyKnown(keys, ['p256dh', 'auth'], 'subscription.keys.');
  const p256dh = base64urlBytes(keys.p256dh, 'p256dh', 65);
  assertCurvePoint(p256dh);
  const auth = base64urlBytes(keys.auth, 'auth', 16);
  const ttl = body.ttl ?? DEFAULT_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || (ttl as number) < 0 || (ttl as number) > MAX_TTL_SECONDS) {
    throw badRequest(`ttl must be whole seconds from 0 to ${MAX_TTL_SECONDS} (28 days)`);
  }
  const urgency = body.urgency ?? 'normal';
  if (!URGENCIES.includes(urgency as PushUrgency)) {
    throw badRequest(`urgency must be one of ${URGENCIES.join(', ')}`);
  }
  const endpoint = await assertEndpoint(subscription.endpoint, options.allowPrivate, options.resolve);
  return {
    endpoint: endpoint.toString(),
    p256dh: p256dh.toString('base64url'),
    auth: auth.toString('base64url'),
    ttl: ttl as number,
    urgency: urgency as PushUrgency,
  };
}
