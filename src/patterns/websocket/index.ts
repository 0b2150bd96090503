/**
 * WebSocket push (`GET /v1/ws`): plain `ws` in noServer mode on fastify's HTTP server. This module
 * owns the endpoint's chores: the upgrade checks (connection limits, path, Origin/Host, shutdown,
 * the upgrade's token), one ping round for all connections, and the graceful close with a
 * reconnect hint. Ops live in ops.ts and group-ops.ts, auth per connection in session.ts, framing
 * in wire.ts, per-connection rules in connection.ts. Protocol: docs/protocol.md.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Principal } from '../../core/auth.js';
import type { Hub } from '../../core/hub.js';
import { type ErrorCode, isSwitchboardError } from '../../protocol/errors.js';
import { CloseCode } from '../../protocol/ws.js';
import { DeliveryCounter } from '../shared/delivery-counter.js';
import { TurnBatcher } from '../shared/turn-batcher.js';
import { refuseUpgrade, type UpgradeRouter } from '../shared/upgrade-router.js';
import { WsConnection, type WsConnectionLimits } from './connection.js';
import { createOpHandlers, type OpHandlerOptions, type OpHandlers } from './ops.js';
import type { WsSecurity } from './session.js';

export const WEBSOCKET_PATH = '/v1/ws';

export interface WebSocketSecurity extends WsSecurity {
  /** The upgrade's token: `Authorization: Bearer` first, else `?token=` (throws 401 when malformed). */
  tokenFrom(headers: IncomingHttpHeaders, url: string | undefined): string | undefined;
  /** The key per-address limits use for a client address. */
  addressKey(remoteAddress: string | undefined): string;
}

export interface WebSocketOptions extends WsConnectionLimits, OpHandlerOptions {
  /** @default 25_000 (25 s) */
  pingIntervalMs: number;
  /** Token auth, the publish rate limit and the auth deadline (the same pieces HTTP routes use). */
  security: WebSocketSecurity;
  /** Origin/Host check shared with the HTTP routes: a refusal message, or undefined. */
  browserCheck: (host: string | undefined, origin: string | undefined) => string | undefined;
  /** Replaces entries of the op table (embedding, tests). */
  handlers?: Partial<OpHandlers>;
  /** The main port's upgrade dispatcher (connection limits and unknown paths are handled there). */
  upgrades: UpgradeRouter;
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

export function registerWebSocket(hub: Hub, options: WebSocketOptions): WebSocketEndpoint {
  const handlers: OpHandlers = { ...createOpHandlers(hub, options), ...options.handlers };
  const { security } = options;
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
  const refusalOf = (request: IncomingMessage): Refusal | undefined => {
    if (closing) return [503, 'unavailable', 'the server is shutting down; reconnect in a moment'];
    const refusal = options.browserCheck(request.headers.host, request.headers.origin);
    return refusal === undefined ? undefined : [403, 'forbidden', refusal];
  };

  /**
   * The principal the connection starts with: open mode's, the upgrade token's (a bad token
   * refuses the upgrade, so a client learns at once rather than from its first op), or none yet
   * (token mode without a token: the `auth` op may bring one).
   */
  const principalOf = async (request: IncomingMessage): Promise<Principal | undefined> => {
    if (security.auth.mode === 'open') return security.auth.authenticate(undefined);
    const token = security.tokenFrom(request.headers, request.url);
    return token === undefined ? undefined : security.auth.authenticate(token);
  };

  const accept = (request: IncomingMessage, socket: Duplex, head: Buffer, principal?: Principal) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (closing) {
        ws.close(CloseCode.ServiceRestart, SHUTDOWN_REASON);
        return;
      }
      const peer = { principal, address: security.addressKey(request.socket.remoteAddress) };
      const connection = new WsConnection(
        ws,
        socket,
        { handlers, security, limits: options, batcher, deliveries },
        peer,
      );
      connections.add(connection);
      const untrack = options.trackConnection?.('websocket');
      ws.once('close', () => {
        connections.delete(connection);
        untrack?.();
      });
    });
  };

  const upgradeOnRequest = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refusal = refusalOf(request);
    if (refusal !== undefined) {
      refuseUpgrade(socket, ...refusal);
      return;
    }
    // Node removed its own error listener before emitting 'upgrade': without one, a reset while
    // the token is verified would be an uncaught error. Node also stopped reading the socket, so
    // nothing the client sends meanwhile is lost.
    const ignore = (): void => {};
    socket.on('error', ignore);
    principalOf(request).then(
      (principal) => {
        socket.off('error', ignore);
        if (socket.destroyed) return; // the client left while its token was checked
        if (closing)
          refuseUpgrade(socket, 503, 'unavailable', 'the server is shutting down; reconnect in a moment');
        else accept(request, socket, head, principal);
      },
      (error: unknown) => {
        socket.off('error', ignore);
        const { status, code, message } = refusalFromError(error);
        if (code === 'unauthorized' || code === 'forbidden') security.rejected?.(code);
        refuseUpgrade(socket, status, code, message);
      },
    );
  };
  options.upgrades.add(WEBSOCKET_PATH, upgradeOnRequest);

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

type Refusal = [status: number, code: ErrorCode, message: string];

function refusalFromError(error: unknown): { status: number; code: ErrorCode; message: string } {
  if (isSwitchboardError(error)) return { status: error.status, code: error.code, message: error.message };
  return { status: 503, code: 'unavailable', message: 'the server could not check the token; retry shortly' };
}
