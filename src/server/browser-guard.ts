/**
 * Browser safety that holds even in open mode: a request from a page whose Origin is not allowed
 * is refused (a text/plain POST needs no CORS preflight, so any page could otherwise publish into a
 * hub on localhost), and a server bound to loopback refuses unknown Host headers (DNS rebinding).
 * Allowed origins also get CORS headers and preflight answers.
 */
import { isIPv4 } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.js';

export interface BrowserGuardOptions {
  /** Origins allowed besides the server's own; `*` allows every origin. */
  allowedOrigins: string[];
  /** True when the server listens on a loopback address only. */
  loopbackOnly: boolean;
  /** Host names a loopback-bound server answers besides the loopback literals (e.g. a hosts-file alias). */
  allowedHosts?: string[];
}

/**
 * The host name of a Host header (lowercased, port removed), or undefined when the header is not
 * `name[:port]` / `[ipv6][:port]` with a numeric port. Trailing dots are kept: `localhost.` is a
 * different name to DNS and a rebinding page could use it.
 */
export function hostName(hostHeader: string): string | undefined {
  const header = hostHeader.toLowerCase();
  let name = header;
  let port: string | undefined;
  if (header.startsWith('[')) {
    const close = header.indexOf(']');
    if (close === -1) return undefined;
    name = header.slice(0, close + 1);
    const rest = header.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return undefined;
      port = rest.slice(1);
    }
  } else {
    const colon = header.indexOf(':');
    if (colon !== -1) {
      name = header.slice(0, colon);
      port = header.slice(colon + 1);
    }
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return undefined;
  return name === '' ? undefined : name;
}

/**
 * A real loopback literal: `localhost`, an IPv4 address in 127.0.0.0/8 in its one canonical
 * dotted-quad spelling (`net.isIPv4`; not `127.1` or `0x7f.1`), or `[::1]`/`::1`. Nothing that
 * merely starts like one: `127.0.0.1.rebind.example` is a DNS name an attacker controls.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  if (name === 'localhost' || name === '[::1]' || name === '::1') return true;
  return isIPv4(name) && name.startsWith('127.');
}

/**
 * The guard's decision for one request: a refusal message, or undefined when allowed. Exposed for
 * WebSocket upgrades, which bypass fastify's hooks but need the same checks (cross-site WebSocket
 * hijacking is the WebSocket form of the text/plain POST problem).
 */
export function createBrowserCheck(
  options: BrowserGuardOptions,
): (host: string | undefined, origin: string | undefined) => string | undefined {
  const anyOrigin = options.allowedOrigins.includes('*');
  const allowed = new Set(options.allowedOrigins.map((o) => o.replace(/\/$/, '').toLowerCase()));
  const allowedHosts = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase()));
  // Clients send the same few Host headers on every request: remember the verdicts (bounded).
  const verdicts = new Map<string, boolean>();
  const knownHost = (header: string | undefined): boolean => {
    if (header === undefined) return false;
    const cached = verdicts.get(header);
    if (cached !== undefined) return cached;
    const name = hostName(header);
    const known = name !== undefined && (isLoopbackHost(name) || allowedHosts.has(name));
    if (verdicts.size >= 256) verdicts.clear();
    verdicts.set(header, known);
    return known;
  };
  return (host, origin) => {
    if (options.loopbackOnly && !knownHost(host)) {
      return `Host "${(host ?? '').slice(0, 300)}" is not this server's; a server bound to loopback answers only localhost, 127.x.y.z and [::1] (add names with --allowed-hosts, or bind a public --host)`;
    }
    if (origin === undefined || anyOrigin || allowed.has(origin.toLowerCase())) return undefined;
    try {
      if (host !== undefined && new URL(origin.toLowerCase()).host === host.toLowerCase()) return undefined;
    } catch {
      // not a URL: refused below
    }
    return `Origin ${origin} is not allowed; add it with --allowed-origins`;
  };
}

export function registerBrowserGuard(app: FastifyInstance, options: BrowserGuardOptions): void {
  const anyOrigin = options.allowedOrigins.includes('*');
  const check = createBrowserCheck(options);

  const refuse = (reply: FastifyReply, message: string) =>
    reply.code(403).send(errorBody('forbidden', message));

  // Callback style: it runs on every request, and a promise per request showed in the profiles.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const origin = request.headers.origin;
    const refusal = check(request.headers.host, origin);
    if (refusal !== undefined) {
      refuse(reply, refusal);
      return;
    }
    if (origin === undefined) return done();
    reply.header('access-control-allow-origin', anyOrigin ? '*' : origin);
    reply.header('vary', 'Origin');
    reply.header('access-control-expose-headers', 'Location, Retry-After');
    if (request.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
      reply.header(
        'access-control-allow-headers',
        request.headers['access-control-request-headers'] ?? 'Content-Type, Authorization, Last-Event-ID',
      );
      reply.header('access-control-max-age', '600');
      reply.code(204).send();
      return;
    }
    done();
  });
}
