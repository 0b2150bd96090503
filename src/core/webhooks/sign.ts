/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): a secret is `whsec_` + base64
 * of 24-64 random bytes; the signature of a delivery is `v1,` + base64 HMAC-SHA256, keyed with the
 * secret's decoded bytes, of `<webhook-id>.<webhook-timestamp>.<body>`. Receivers verify with the
 * snippet in docs/webhooks.md (or any Standard Webhooks library).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { badRequest } from '../../protocol/errors.js';

export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = { min: 24, max: 64 } as const;

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** A user-supplied secret in the standard format, or a 400 saying what to send. */
export function assertSecret(value: unknown, what = 'secret'): string {
  const rule = `${what} must be "${SECRET_PREFIX}" followed by the base64 of ${SECRET_BYTES.min}-${SECRET_BYTES.max} random bytes (e.g. ${SECRET_PREFIX}$(openssl rand -base64 32)), or left out to have one generated`;
  if (typeof value !== 'string' || !value.startsWith(SECRET_PREFIX)) throw badRequest(rule);
  const encoded = value.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) throw badRequest(rule);
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < SECRET_BYTES.min || bytes > SECRET_BYTES.max) throw badRequest(rule);
  return value;
}

const keyOf = (secret: string): Buffer => Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');

/** `v1,<base64 HMAC-SHA256 of id.timestamp.body>`. */
export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers of one attempt (the timestamp is the attempt's, in seconds). */
export function signatureHeaders(secret: string, id: string, body: string, nowMs: number) {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(secret, id, timestamp, body),
  };
}

/**
 * Checks a delivery the way a receiver would (used by tests and the example): one of the
 * space-separated `v1,` signatures matches and the timestamp is within `toleranceSeconds`.
 */
export function verifySignature(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  options: { nowMs?: number; toleranceSeconds?: number } = {},
): boolean {
  const id = headers['webhook-id'];
  const timestamp = Number(headers['webhook-timestamp']);
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof signatures !== 'string' || !Number.isInteger(timestamp)) return false;
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(sign(secret, id, timestamp, body));
  return signatures.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
