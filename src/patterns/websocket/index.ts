/**
 * WebSocket push (`GET /v1/ws`): plain `ws` in noServer mode on fastify's HTTP server. This module
 * owns the endpoint's chores: the upgrade checks (path, Origin/Host, shutdown), one ping round for
 * all connections, and the graceful close with a reconnect hint. Ops live in ops.ts, framing in
 * wire.ts, per-connection rules in connection.ts. Protocol: docs/protocol.md.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import type { Hub } from '../../core/hub.js';
import { type ErrorCode, SwitchboardError } from '../../protocol/errors.js';
import { CloseCode } from '../../protocol/ws.js';
import { DeliveryCounter } from '../shared/delivery-counter.js';
import { TurnBatcher } from '../shared/turn-batcher.js';
import { type OpGuard, WsConnection, type WsConnectionLimits } from './connection.js';
import { createOpHandlers, type OpHandlers } from './ops.js';

export const WEBSOCKET_PATH = '/v1/ws';

export interface WebSocketOptions extends WsConnectionLimits {
  /** @default 25_000 (25 s) */
  pingIntervalMs: number;
  authMode: 'open' | 'token';
  /** Origin/Host check shared with the HTTP routes: a refusal message, or undefined. */
  browserCheck: (host: string | undefined, origin: string | undefined) => string | undefined;
  /** Replaces entries of the op table (consumer groups, token auth). */
  handlers?: Partial<OpHandlers>;
  /**
   * Runs before every op's handler; throw a SwitchboardError to answer the op with it instead (token
   * auth: `unauthorized` until the `auth` op succeeded, `forbidden` outside the token's topics).
   * Default: allow all in open mode; in token mode refuse all but `auth` (fail closed until token
   * auth over WebSocket is wired in).
   */
  beforeOp?: OpGuard;
  /** Called once per accepted connection with its upgrade request (token from `?token=`, deadlines). */
  onConnection?: (connection: WsConnection, request: IncomingMessage) => void;
  /** Connection limits: answers and closes a refused upgrade; true when it did. */
  refuseUpgrade?: (request: IncomingMessage, socket: Duplex) => boolean;
  /** Metrics: counts an open connection; returns the release function. */
  trackConnection?: (transport: 'websocket') => () => void;
  /** Metrics: messages written to clients, reported in bulk about once a second. */
  delivered?: (transport: 'websocket', count: number) => void;
}

export interface WebSocketEndpoint {
  /** Open connections. */
  readonly connections: number;
  /** Refuses new upgrades, closes every connection with 1012 and a reconnect hint, and waits (bounded). */
  close(graceMs?: number): Promise<void>;
}

const SHUTDOWN_REASON = 'server restarting; reconnect in a moment and resume from your last offsets';

export function registerWebSocket(
  app: FastifyInstance,
  hub: Hub,
  options: WebSocketOptions,
): WebSocketEndpoint {
  const handlers: OpHandlers = { ...createOpHandlers(hub, options), ...options.handlers };
  const beforeOp = options.beforeOp ?? defaultGuard(options.authMode);
  const batcher = new TurnBatcher();
  const deliveries = new DeliveryCounter(
    options.delivered && ((count) => options.delivered?.('websocket', count)),
  );
  const connections = new Set<WsConnection>();
  let closing = false;
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false, // deflate would forbid shared pre-built frames and cost CPU per subscriber
    // Frames up to twice the limit are read and answered with an error reply; larger ones close 1009.
    maxPayload: options.maxFrameBytes * 2,
  });

  /** Refuses the upgrade with the contract's JSON error, or undefined to accept it. */
  const refusalOf = (request: IncomingMessage): [number, ErrorCode, string] | undefined => {
    const path = (request.url ?? '').split('?')[0]!.replace(/\/$/, '');
    if (path !== WEBSOCKET_PATH)
      return [404, 'not_found', `no WebSocket endpoint at ${path}; use ${WEBSOCKET_PATH}`];
    if (closing) return [503, 'unavailable', 'the server is shutting down; reconnect in a moment'];
    const refusal = options.browserCheck(request.headers.host, request.headers.origin);
    return refusal === undefined ? undefined : [403, 'forbidden', refusal];
  };

  const upgradeOnRequest = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refusal = refusalOf(request);
    if (refusal !== undefined) {
      refuseUpgrade(socket, ...refusal);
      return;
    }
    if (options.refuseUpgrade?.(request, socket)) return;
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (closing) {
        ws.close(CloseCode.ServiceRestart, SHUTDOWN_REASON);
        return;
      }
      const connection = new WsConnection(ws, socket, {
        handlers,
        beforeOp,
        limits: options,
        batcher,
        deliveries,
      });
      connections.add(connection);
      const untrack = options.trackConnection?.('websocket');
      ws.once('close', () => {
        connections.delete(connection);
        untrack?.();
      });
      options.onConnection?.(connection, request);
    });
  };
  app.server.on('upgrade', upgradeOnRequest);

  // One timer for all connections: a peer that answered no ping (nor sent anything) since the last
  // round is gone (half-open TCP, or it stopped reading), so it is terminated.
  const pingTimer = setInterval(() => {
    for (const connection of connections) {
      if (!connection.alive) {
        connection.terminate();
        continue;
      }
      connection.alive = false;
      connection.ws.ping();
    }
  }, options.pingIntervalMs).unref();

  return {
    get connections() {
      return connections.size;
    },
    async close(graceMs = 2_000) {
      closing = true;
      clearInterval(pingTimer);
      const closed = [...connections].map(
        (connection) => new Promise<void>((resolve) => connection.ws.once('close', () => resolve())),
      );
      for (const connection of connections) connection.close(CloseCode.ServiceRestart, SHUTDOWN_REASON);
      batcher.flushNow();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([Promise.all(closed), deadline]);
      for (const connection of connections) connection.terminate();
      deliveries.stop();
      wss.close();
    },
  };
}

/** In token mode, nothing but `auth` passes until token auth over WebSocket is wired in (fail closed). */
function defaultGuard(authMode: 'open' | 'token'): OpGuard {
  if (authMode === 'open') return () => {};
  return (_connection, key) => {
    if (key !== 'auth') {
      throw new SwitchboardError(
        'unauthorized',
        'token auth over WebSocket is not available on this server yet',
      );
    }
  };
}

function refuseUpgrade(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
