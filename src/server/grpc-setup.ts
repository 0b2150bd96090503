/**
 * Puts the gRPC door on the main port: connections that open with the HTTP/2 preface go to the
 * grpc-js server (patterns/grpc), the rest to the HTTP/1 server as before. The connection limits
 * already counted every socket on the HTTP server's 'connection' event; a refused HTTP/2 socket is
 * closed here (it cannot be answered with JSON).
 */
import type { FastifyInstance } from 'fastify';
import type { Hub } from '../core/hub.js';
import type { Jobs } from '../core/jobs/jobs.js';
import { createGrpcDoor } from '../patterns/grpc/index.js';
import { clientAddressKey } from './client-address.js';
import type { ServerConfig } from './config.js';
import { routeHttp2Preface } from './http2-preface.js';
import type { ServerMetrics } from './metrics.js';
import type { SecurityContext } from './security.js';

export interface GrpcAttachment {
  /** Ends gRPC streams with a resume hint and closes the HTTP/2 connections. */
  close(): Promise<void>;
  /** After the HTTP server stopped serving: no connection waits in (or enters) the preface check. */
  dropPendingConnections(): void;
}

export function attachGrpc(
  app: FastifyInstance,
  deps: { hub: Hub; jobs: Jobs; config: ServerConfig; security: SecurityContext; metrics: ServerMetrics },
): GrpcAttachment {
  const { hub, jobs, config, security, metrics } = deps;
  const door = createGrpcDoor({
    hub,
    jobs,
    security: {
      auth: security.auth,
      publishRate: security.publishRate,
      publishBytes: security.publishBytes,
      tokenFrom: security.tokenFrom,
      addressKey: clientAddressKey,
    },
    maxMessageBytes: config.maxMessageBytes,
    maxBufferedBytes: config.pushMaxBufferedBytes,
    trackConnection: (transport) => metrics.trackConnection(transport),
    delivered: (transport, count) => metrics.delivered(transport, count),
    onError: (error, method) => app.log.error({ module: 'grpc', err: error, method }, 'gRPC call failed'),
  });
  const router = routeHttp2Preface(app.server, {
    // Half the headers timeout here, then HTTP/1's own headers timeout closes a silent socket.
    sniffTimeoutMs: Math.max(50, config.headersTimeoutMs / 2),
    onHttp2(socket) {
      if (security.connections.refusalFor(socket)) {
        metrics.rejected('grpc_connection_limit');
        socket.destroy();
        return;
      }
      door.handle(socket);
    },
  });
  return {
    async close() {
      router.destroyPending();
      await door.close();
    },
    dropPendingConnections() {
      router.close();
    },
  };
}
