/**
 * Which keys verify tokens, and which algorithms each key may be used with.
 *
 * Every key source is tied to an explicit algorithm list, so a token cannot choose how it is
 * checked: `alg: none` is never accepted, an HS256 token is checked only against the HS secret
 * (never against a public key used as an HMAC secret — the classic RS/HS confusion), and a
 * public key only verifies the algorithms of its own type and curve.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, type JWSAlgorithm, type JWTVerifyGetKey } from 'jose';
import { unauthorized, unavailable } from '../protocol/errors.js';

export interface KeySources {
  /** Shared secret for HS256. */
  secret?: string | undefined;
  /** A public key as PEM (SPKI, PKCS#1 or a certificate) or as one JWK in JSON. */
  publicKey?: string | undefined;
  /** A JWKS endpoint; keys are fetched on demand and cached (see `jwksCacheMaxAgeMs`). */
  jwksUrl?: string | undefined;
  /** How long fetched JWKS keys are reused before refetching. @default 600_000 (10 minutes) */
  jwksCacheMaxAgeMs?: number;
}

export interface VerificationKeys {
  /** Every algorithm some configured key accepts. */
  algorithms: JWSAlgorithm[];
  /** Picks the key for a token by its header's `alg` (and `kid` for JWKS). */
  resolve: JWTVerifyGetKey;
  /** For the startup log, e.g. "HS256 secret, RSA public key (RS256, …)". */
  description: string;
}

/** HS256 secrets shorter than this can be brute-forced offline from any token signed with them. */
export const MIN_SECRET_BYTES = 32;

const RSA_ALGORITHMS: JWSAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const JWKS_ALGORITHMS: JWSAlgorithm[] = [...RSA_ALGORITHMS, 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const EC_ALGORITHM_BY_CURVE: Record<string, JWSAlgorithm> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};
// JWKS errors that mean "this token's key is not published": the token is bad, not the server.
const TOKEN_KEY_ERRORS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS']);

/** Parses a public key; refuses private keys so a leaked config never holds signing material. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const jwk = JSON.parse(trimmed) as Record<string, unknown>;
    if ('d' in jwk || jwk.kty === 'oct') {
      throw new Error('the JWK is a private or symmetric key; give the server only the public key');
    }
    return createPublicKey({ key: jwk as never, format: 'jwk' });
  }
  if (trimmed.includes('PRIVATE KEY')) {
    throw new Error('the PEM is a private key; give the server only the public key (openssl pkey -pubout)');
  }
  return createPublicKey(trimmed);
}

function algorithmsForKey(key: KeyObject): JWSAlgorithm[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return RSA_ALGORITHMS;
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const algorithm = EC_ALGORITHM_BY_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (algorithm) return [algorithm];
      break;
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
  }
  throw new Error(
    `unsupported public key type ${key.asymmetricKeyType}; use RSA, EC (P-256/384/521) or Ed25519`,
  );
}

export function createVerificationKeys(sources: KeySources): VerificationKeys {
  const { secret, publicKey, jwksUrl } = sources;
  if (publicKey && jwksUrl) throw new Error('give either a public key or a JWKS URL, not both');
  if (secret !== undefined && Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    throw new Error(
      `the JWT secret must be at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -base64 32)`,
    );
  }
  const secretKey = secret ? new TextEncoder().encode(secret) : undefined;
  const staticKey = publicKey ? parsePublicKey(publicKey) : undefined;
  const jwks = jwksUrl
    ? createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: sources.jwksCacheMaxAgeMs ?? 600_000 })
    : undefined;

  const asymmetric = staticKey ? algorithmsForKey(staticKey) : jwks ? JWKS_ALGORITHMS : [];
  const algorithms: JWSAlgorithm[] = [...(secretKey ? (['HS256'] as JWSAlgorithm[]) : []), ...asymmetric];
  if (algorithms.length === 0) throw new Error('token auth needs a secret, a public key or a JWKS URL');

  const resolve: JWTVerifyGetKey = async (header, token) => {
    const alg = header.alg ?? '';
    if (alg === 'HS256' && secretKey) return secretKey;
    if (asymmetric.includes(alg)) {
      if (staticKey) return staticKey;
      if (jwks) {
        try {
          return await jwks(header, token);
        } catch (error) {
          if (TOKEN_KEY_ERRORS.has((error as { code?: string }).code ?? '')) throw error;
          throw unavailable(`cannot fetch signing keys from ${jwksUrl}; retry shortly`, error);
        }
      }
    }
    throw unauthorized(`token algorithm "${alg}" is not accepted here (accepted: ${algorithms.join(', ')})`);
  };

  const parts = [
    secretKey && 'HS256 secret',
    staticKey && `${staticKey.asymmetricKeyType} public key (${asymmetric.join(', ')})`,
    jwks && `JWKS ${jwksUrl}`,
  ].filter(Boolean);
  return { algorithms, resolve, description: parts.join(', ') };
}
