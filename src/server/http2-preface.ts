/**
 * One port for HTTP/1.1 and HTTP/2 cleartext with prior knowledge (gRPC's insecure channels): every
 * new connection's first bytes are compared with the HTTP/2 connection preface
 * (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, RFC 9113 §3.4). A connection that starts with it goes to
 * `onHttp2`; any other goes to Node's own HTTP/1 connection handler, unchanged (its limits and
 * timeouts stay). The bytes read to decide are pushed back (`unshift`) before the hand-over, so
 * neither side misses any.
 *
 * Only Node's `connectionListener` is deferred: the other `connection` listeners (connection
 * limits, metrics) still run at once, for both kinds of connection.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface PrefaceRouterOptions {
  /** An HTTP/2 connection (its preface is still unread in the socket). */
  onHttp2(socket: Socket): void;
  /**
   * How long a new connection may stay silent (or stop half-way through the preface) before it is
   * handed to HTTP/1, whose own headers timeout then closes it.
   */
  sniffTimeoutMs: number;
}

export interface PrefaceRouter {
  /** Connections still being looked at. */
  readonly sniffing: number;
  /** Destroys connections still being looked at (shutdown). */
  destroyPending(): void;
  /**
   * Shutdown, once the HTTP server stopped serving: destroys connections still being looked at and
   * every connection that still arrives. A sniffed socket handed to HTTP/1 after Node's
   * `closeAllConnections()` would otherwise keep `server.close()` waiting for its headers timeout.
   */
  close(): void;
}

export function routeHttp2Preface(server: Server, options: PrefaceRouterOptions): PrefaceRouter {
  const http1 = server.listeners('connection').find((listener) => listener.name === 'connectionListener');
  if (!http1) throw new Error('routeHttp2Preface: the HTTP server has no Node connectionListener to defer');
  server.removeListener('connection', http1 as (socket: Socket) => void);
  const pending = new Set<Socket>();
  let closed = false;

  server.prependListener('connection', (socket: Socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    let seen: Buffer = Buffer.alloc(0);
    pending.add(socket);
    const decide = (http2: boolean): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      socket.off('error', onError);
      socket.off('end', onEnd);
      pending.delete(socket);
      if (closed) {
        socket.destroy();
        return;
      }
      if (seen.length > 0) socket.unshift(seen);
      if (http2) options.onHttp2(socket);
      else (http1 as (this: Server, socket: Socket) => void).call(server, socket);
    };
    const onReadable = (): void => {
      for (
        let chunk = socket.read() as Buffer | null;
        chunk !== null;
        chunk = socket.read() as Buffer | null
      ) {
        seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      }
      const compared = Math.min(seen.length, HTTP2_PREFACE.length);
      if (!seen.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared))) decide(false);
      else if (seen.length >= HTTP2_PREFACE.length) decide(true);
    };
    const onClose = (): void => {
      clearTimeout(timer);
      pending.delete(socket);
    };
    // Nobody else listens yet: a reset while sniffing must not become an uncaught 'error'.
    const onError = (): void => {
      socket.destroy();
    };
    // The HTTP server allows half-open sockets and closes them itself; nobody has taken this one
    // yet, and it said nothing worth answering (at most part of a preface).
    const onEnd = (): void => {
      socket.destroy();
    };
    const timer = setTimeout(() => decide(false), options.sniffTimeoutMs);
    timer.unref();
    socket.on('readable', onReadable);
    socket.once('close', onClose);
    socket.on('error', onError);
    socket.once('end', onEnd);
  });

  return {
    get sniffing() {
      return pending.size;
    },
    destroyPending() {
      for (const socket of pending) socket.destroy();
      pending.clear();
    },
    close() {
      closed = true;
      this.destroyPending();
    },
  };
}
