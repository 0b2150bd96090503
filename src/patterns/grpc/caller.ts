/**
 * Who is calling: the token from `authorization: Bearer` metadata, checked by the same
 * authenticator and `authorize` point as HTTP (core/auth.ts), in both auth modes (open mode gives
 * an all-allowed principal). Also the caller's address, for the publish rate limit.
 */
import type { Metadata } from '@grpc/grpc-js';
import type { Authenticator, Capability, Principal } from '../../core/auth.js';
import { type RateLimiter, rateKey } from '../../core/rate-limit.js';
import { badRequest } from '../../protocol/errors.js';

export interface CallerSecurity {
  auth: Authenticator;
  publishRate: RateLimiter;
  /** Bytes published per client (token `sub` or address), beside the publish count. */
  publishBytes?: RateLimiter | undefined;
  tokenFrom(headers: { authorization?: string }, url: undefined): string | undefined;
  /** The per-address key limits use (IPv6: one /64). */
  addressKey(address: string | undefined): string;
}

export interface Caller {
  principal: Principal;
  /**
   * Throws 403/401/400 like HTTP's route rules; for `publish`, also 429 from the publish rate and
   * (with `bytes`, what the call carries) the byte rate buckets.
   */
  may(capability: Exclude<Capability, 'admin'>, topic: string, bytes?: number): void;
}

/** `ipv4:127.0.0.1:5000`, `127.0.0.1:5000` or `[::1]:5000` → the address without the port. */
export function peerAddress(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\]/.exec(bare);
  if (bracketed) return bracketed[1]!;
  const colon = bare.lastIndexOf(':');
  return colon > 0 && bare.indexOf(':') === colon ? bare.slice(0, colon) : bare;
}

function authorizationOf(metadata: Metadata): string | undefined {
  const values = metadata.get('authorization');
  if (values.length > 1) throw badRequest('send one authorization metadata entry, not several');
  const value = values[0];
  return value === undefined ? undefined : String(value);
}

/** The parts of any grpc-js server call this module reads. */
export interface CallInfo {
  readonly metadata: Metadata;
  getPeer(): string;
}

export async function callerOf(call: CallInfo, security: CallerSecurity): Promise<Caller> {
  const authorization = authorizationOf(call.metadata);
  const token = security.tokenFrom(authorization === undefined ? {} : { authorization }, undefined);
  const principal = await security.auth.authenticate(token);
  const address = security.addressKey(peerAddress(call.getPeer()));
  return {
    principal,
    may(capability, topic, bytes) {
      security.auth.authorize(principal, capability, topic);
      if (capability !== 'publish') return;
      const key = rateKey(principal, address);
      security.publishRate.take(key);
      if (bytes !== undefined && bytes > 0) security.publishBytes?.take(key, bytes);
    },
  };
}
