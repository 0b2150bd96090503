/**
 * RFC 8292 VAPID: the server's P-256 key pair identifies it to push services. Each request carries
 * `Authorization: vapid t=<ES256 JWT>, k=<public key>`; the JWT names the push service's origin
 * (`aud`), an expiry at most 24 h ahead (`exp`) and optionally a contact (`sub`). Browsers bind a
 * subscription to the public key (`applicationServerKey`), so the keys must stay the same for as
 * long as subscriptions live: configured, or generated once per data directory and kept in the
 * engine as a setting.
 */
import { createECDH, createPrivateKey, type KeyObject, sign } from 'node:crypto';

/** Both halves base64url, as `web-push generate-vapid-keys` prints them. */
export interface VapidKeys {
  /** 65-byte uncompressed P-256 point. */
  publicKey: string;
  /** 32-byte private scalar. */
  privateKey: string;
}

/** A JWT is reused for this long per push service (signing costs about as much as encrypting). */
const TOKEN_REUSE_MS = 3_600_000;
/** `exp` this far ahead: under RFC 8292's 24 h limit with room for clock skew. */
const TOKEN_LIFETIME_MS = 12 * 3_600_000;

export function generateVapidKeys(): VapidKeys {
  const pair = createECDH('prime256v1');
  pair.generateKeys();
  return {
    publicKey: pair.getPublicKey().toString('base64url'),
    privateKey: pair.getPrivateKey().toString('base64url'),
  };
}

/** Checks a configured pair (the public key must be the private key's); throws an Error naming the fault. */
export function assertVapidKeys(keys: VapidKeys): VapidKeys {
  const privateKey = Buffer.from(keys.privateKey, 'base64url');
  if (privateKey.length !== 32) throw new Error('vapidPrivateKey must be 32 bytes, base64url');
  const pair = createECDH('prime256v1');
  try {
    pair.setPrivateKey(privateKey);
  } catch {
    throw new Error('vapidPrivateKey is not a P-256 private key');
  }
  const publicKey = pair.getPublicKey().toString('base64url');
  if (publicKey !== keys.publicKey.replace(/=+$/, '')) {
    throw new Error('vapidPublicKey does not belong to vapidPrivateKey (give both from one pair)');
  }
  return { publicKey, privateKey: privateKey.toString('base64url') };
}

export class VapidSigner {
  readonly publicKey: string;
  readonly #key: KeyObject;
  readonly #subject: string | undefined;
  readonly #tokens = new Map<string, { header: string; until: number }>();

  constructor(keys: VapidKeys, subject?: string) {
    this.publicKey = keys.publicKey;
    this.#subject = subject;
    const xy = Buffer.from(keys.publicKey, 'base64url'); // 0x04 ‖ x ‖ y (checked by assertVapidKeys)
    this.#key = createPrivateKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        d: keys.privateKey,
        x: xy.subarray(1, 33).toString('base64url'),
        y: xy.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
  }

  /** The `Authorization` header for a request to `endpoint`. */
  authorization(endpoint: URL, now: number): string {
    const audience = endpoint.origin;
    const cached = this.#tokens.get(audience);
    if (cached && cached.until > now) return cached.header;
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = {
      aud: audience,
      exp: Math.floor((now + TOKEN_LIFETIME_MS) / 1000),
      ...(this.#subject ? { sub: this.#subject } : {}),
    };
    const unsigned = `${encode({ typ: 'JWT', alg: 'ES256' })}.${encode(claims)}`;
    const signature = sign('sha256', Buffer.from(unsigned), { key: this.#key, dsaEncoding: 'ieee-p1363' });
    const header = `vapid t=${unsigned}.${signature.toString('base64url')}, k=${this.publicKey}`;
    if (this.#tokens.size > 1_000) this.#tokens.clear(); // a handful of push services in practice
    this.#tokens.set(audience, { header, until: now + TOKEN_REUSE_MS });
    return header;
  }
}
