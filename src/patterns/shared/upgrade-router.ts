/**
 * One `upgrade` listener for the main port, dispatching by path: `/v1/ws` (WebSocket push),
 * `/graphql` (graphql-ws), `/mqtt` (MQTT over WebSocket). Each door registers its path; connection
 * limits apply to every upgrade before any door sees it, and an unknown path gets the contract's 404.
 */
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../../protocol/errors.js';

export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface UpgradeRouter {
  /** Routes upgrades for `path` (no query, no trailing slash) to `handler`. */
  add(path: string, handler: UpgradeHandler): void;
  readonly paths: readonly string[];
}

export interface UpgradeRouterOptions {
  /** Connection limits: answers and closes a refused upgrade; true when it did. */
  refuseUpgrade?: (request: IncomingMessage, socket: Duplex) => boolean;
}

export function createUpgradeRouter(server: Server, options: UpgradeRouterOptions = {}): UpgradeRouter {
  const routes = new Map<string, UpgradeHandler>();
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Connection limits first: a socket over a limit gets its 503/429 whatever it asked for.
    if (options.refuseUpgrade?.(request, socket)) return;
    const path = upgradePath(request);
    const handler = routes.get(path);
    if (handler) {
      handler(request, socket, head);
      return;
    }
    const known = [...routes.keys()].join(', ');
    refuseUpgrade(socket, 404, 'not_found', `no WebSocket endpoint at ${path}; use one of: ${known}`);
  });
  return {
    add(path, handler) {
      if (routes.has(path)) throw new Error(`an upgrade handler for ${path} is already registered`);
      routes.set(path, handler);
    },
    get paths() {
      return [...routes.keys()];
    },
  };
}

export function upgradePath(request: IncomingMessage): string {
  return (request.url ?? '').split('?')[0]!.replace(/\/$/, '');
}

/** Answers a refused upgrade with the contract's JSON error and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  // RFC 6750: a 401 names the scheme it wants, as the HTTP routes' answers do.
  const challenge = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `${challenge}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
