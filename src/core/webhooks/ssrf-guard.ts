/**
 * The SSRF guard for webhook and callback URLs: http(s) only, and every address the host name
 * resolves to must be a public one (see ip-ranges.ts), unless the operator allowed private
 * destinations (`--allow-private-webhooks`).
 *
 * It runs three times: at registration (a clear 400 for the caller), and at delivery inside the
 * socket's own DNS lookup (`guardedLookup`), so the address that is checked is the address that is
 * connected to — a name that resolved to a public address at registration and to 127.0.0.1 now
 * (DNS rebinding) is refused — and again for every redirect hop.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { badRequest } from '../../protocol/errors.js';
import { blockedReason } from './ip-ranges.js';

export const MAX_URL_LENGTH = 2_048;

/** A refused destination; `reason` is the sentence used in the 400 and in delivery errors. */
export class DestinationRefused extends Error {
  override name = 'DestinationRefused' as const;
}

/** The URL's host as a bare IP address (brackets removed), or undefined for a name. */
function ipLiteral(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) ? host : undefined;
}

/** Parses and checks the scheme and shape; throws DestinationRefused. */
export function parseDestination(text: unknown, what = 'url'): URL {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_URL_LENGTH) {
    throw new DestinationRefused(`${what} must be an http(s) URL of at most ${MAX_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DestinationRefused(`${what} ${JSON.stringify(text.slice(0, 200))} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DestinationRefused(`${what} must use http or https, not ${url.protocol.slice(0, -1)}`);
  }
  return url;
}

/** Why an address may not be reached, or undefined when it may (tests inject their own). */
export type AddressPolicy = (address: string) => string | undefined;

const policyFor = (allowPrivate: boolean, policy?: AddressPolicy): AddressPolicy =>
  policy ?? (allowPrivate ? () => undefined : blockedReason);

function refuseAddress(host: string, address: string, policy: AddressPolicy): void {
  const reason = policy(address);
  if (reason) {
    const resolved = host === address ? '' : ` resolves to ${address}, which is`;
    throw new DestinationRefused(
      `destination ${host}${resolved || ' is'} ${reason}; webhooks may only reach public addresses (an operator can allow private ones with --allow-private-webhooks)`,
    );
  }
}

export type Resolver = (host: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );

/**
 * Registration-time check: the URL is http(s) and its host resolves only to allowed addresses.
 * Throws a 400 `bad_request` naming the reason.
 */
export async function assertDestination(
  text: unknown,
  options: { allowPrivate: boolean; what?: string; resolve?: Resolver; policy?: AddressPolicy },
): Promise<URL> {
  const policy = policyFor(options.allowPrivate, options.policy);
  try {
    const url = parseDestination(text, options.what);
    const literal = ipLiteral(url);
    if (literal) {
      refuseAddress(literal, literal, policy);
      return url;
    }
    let addresses: LookupAddress[];
    try {
      addresses = await (options.resolve ?? systemResolver)(url.hostname);
    } catch (error) {
      throw new DestinationRefused(
        `destination ${url.hostname} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'DNS error'}); check the host name`,
      );
    }
    if (addresses.length === 0) throw new DestinationRefused(`destination ${url.hostname} has no addresses`);
    for (const { address } of addresses) refuseAddress(url.hostname, address, policy);
    return url;
  } catch (error) {
    if (error instanceof DestinationRefused) throw badRequest(error.message);
    throw error;
  }
}

/** Checks an IP-literal URL at delivery time (sockets skip the DNS lookup for literals). */
export function assertLiteralAllowed(url: URL, allowPrivate: boolean, policy?: AddressPolicy): void {
  const literal = ipLiteral(url);
  if (literal) refuseAddress(literal, literal, policyFor(allowPrivate, policy));
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http.request that resolves with the system resolver and fails the connection
 * when any resolved address is refused, so the socket can only connect to checked addresses.
 */
export function guardedLookup(
  allowPrivate: boolean,
  resolve: Resolver = systemResolver,
  policy?: AddressPolicy,
) {
  const check = policyFor(allowPrivate, policy);
  return (
    hostname: string,
    options: { all?: boolean; family?: number | string },
    callback: LookupCallback,
  ) => {
    resolve(hostname).then(
      (addresses) => {
        try {
          if (addresses.length === 0)
            throw new DestinationRefused(`destination ${hostname} has no addresses`);
          for (const { address } of addresses) refuseAddress(hostname, address, check);
        } catch (error) {
          callback(error as NodeJS.ErrnoException, '');
          return;
        }
        const family = Number(options.family) || 0;
        const usable = family ? addresses.filter((a) => a.family === family) : addresses;
        if (options.all) callback(null, usable);
        else if (usable[0]) callback(null, usable[0].address, usable[0].family);
        else
          callback(
            Object.assign(new Error(`no IPv${family} address for ${hostname}`), { code: 'ENOTFOUND' }),
            '',
          );
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}
