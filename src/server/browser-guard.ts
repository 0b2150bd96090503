/**
 * Browser safety that holds even in open mode: a request from a page whose Origin is not allowed
 * is refused (a text/plain POST needs no CORS preflight, so any page could otherwise publish into a
 * hub on localhost), and a server bound to loopback refuses unknown Host headers (DNS rebinding).
 * Allowed origins also get CORS headers and preflight answers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.js';

export interface BrowserGuardOptions {
  /** Origins allowed besides the server's own; `*` allows every origin. */
  allowedOrigins: string[];
  /** True when the server listens on a loopback address only. */
  loopbackOnly: boolean;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostName(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return (colon === -1 ? hostHeader : hostHeader.slice(0, colon)).toLowerCase();
}

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith('127.');
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
  return (host, origin) => {
    if (options.loopbackOnly && (host === undefined || !isLoopbackHost(hostName(host)))) {
      return `Host "${host ?? ''}" is not this server's; a server bound to loopback answers only localhost/127.0.0.1/[::1] (bind a public --host to serve other names)`;
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

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    const refusal = check(request.headers.host, origin);
    if (refusal !== undefined) return refuse(reply, refusal);
    if (origin === undefined) return;
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
      return reply.code(204).send();
    }
  });
}
