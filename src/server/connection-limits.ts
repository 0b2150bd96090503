/**
 * Limits on open TCP connections, in total and per client address, counted on the HTTP server's
 * 'connection' event (so WebSocket and SSE connections count too: they are the same sockets).
 *
 * A connection over a limit is not dropped silently: its first request is answered with the
 * contract's JSON (503 `unavailable` when the server is full, 429 `rate_limited` when one address
 * holds too many) and `Connection: close`. A refused socket that sends nothing is closed after
 * REFUSED_SOCKET_GRACE_MS, so refused connections cannot pile up.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { rateLimited, type SwitchboardError, unavailable } from '../protocol/errors.js';
import { clientAddressKey } from './client-address.js';

export interface ConnectionLimitOptions {
  /** Most open connections in total; 0 = unlimited. */
  maxConnections: number;
  /** Most open connections from one address (IPv6: one /64); 0 = unlimited. */
  maxConnectionsPerIp: number;
  /** Told about each refused connection (metrics). */
  onRefused?: (limit: 'max_connections' | 'max_connections_per_ip') => void;
}

export interface ConnectionGuard {
  /** Connections open and admitted right now. */
  readonly open: number;
  /** Connections refused since the server started, by limit. */
  readonly refused: { total: number; perIp: number };
  /** The error to answer on this socket's requests, or undefined when it was admitted. */
  refusalFor(socket: Socket | Duplex): SwitchboardError | undefined;
  /**
   * For raw `upgrade` handlers (WebSocket): answers a refused socket with the contract's JSON and
   * closes it; returns true when it did (the caller must then stop).
   */
  refuseUpgrade(request: IncomingMessage, socket: Duplex): boolean;
}

const REFUSED_SOCKET_GRACE_MS = 2_000;
const RETRY_AFTER_MS = 5_000;

export function installConnectionLimits(server: Server, options: ConnectionLimitOptions): ConnectionGuard {
  const refusals = new WeakMap<object, SwitchboardError>();
  const byAddress = new Map<string, number>();
  const refused = { total: 0, perIp: 0 };
  let open = 0;

  server.on('connection', (socket: Socket) => {
    const key = clientAddressKey(socket.remoteAddress);
    const fromAddress = byAddress.get(key) ?? 0;
    let refusal: SwitchboardError | undefined;
    if (options.maxConnections > 0 && open >= options.maxConnections) {
      refused.total++;
      options.onRefused?.('max_connections');
      refusal = unavailable(
        `the server holds its maximum of ${options.maxConnections} connections (maxConnections); retry shortly or on another node`,
      );
    } else if (options.maxConnectionsPerIp > 0 && fromAddress >= options.maxConnectionsPerIp) {
      refused.perIp++;
      options.onRefused?.('max_connections_per_ip');
      refusal = rateLimited(
        `this address already holds ${options.maxConnectionsPerIp} connections (maxConnectionsPerIp); close some or reuse them (keep-alive, one WebSocket for many topics)`,
        RETRY_AFTER_MS,
      );
    }
    if (refusal) {
      refusals.set(socket, refusal);
      const timer = setTimeout(() => socket.destroy(), REFUSED_SOCKET_GRACE_MS).unref();
      socket.once('close', () => clearTimeout(timer));
      return;
    }
    open++;
    byAddress.set(key, fromAddress + 1);
    socket.once('close', () => {
      open--;
      const left = (byAddress.get(key) ?? 1) - 1;
      if (left > 0) byAddress.set(key, left);
      else byAddress.delete(key);
    });
  });

  return {
    get open() {
      return open;
    },
    refused,
    refusalFor: (socket) => refusals.get(socket),
    refuseUpgrade(_request, socket) {
      const refusal = refusals.get(socket);
      if (!refusal) return false;
      const body = JSON.stringify(refusal.toJSON());
      const retryAfter = refusal.retryAfterMs
        ? `Retry-After: ${Math.ceil(refusal.retryAfterMs / 1000)}\r\n`
        : '';
      socket.end(
        `HTTP/1.1 ${refusal.status} ${refusal.status === 429 ? 'Too Many Requests' : 'Service Unavailable'}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\n${retryAfter}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return true;
    },
  };
}
