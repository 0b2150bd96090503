/**
 * Graceful shutdown support: counts requests in flight so close() can wait for in-flight publishes
 * to finish, then drops every remaining connection (idle keep-alives, half-closed sockets) instead of
 * waiting for clients to hang up. While closing, new requests get the contract's 503.
 */
import type { FastifyInstance } from 'fastify';
import { errorBody } from './errors.js';

export interface ShutdownGate {
  readonly closing: boolean;
  /**
   * Counts a request answered outside fastify (the long-poll fast path) until its response closes;
   * false while closing (the caller then lets fastify answer the 503).
   */
  admit(response: { on(event: 'close', listener: () => void): unknown }): boolean;
  /** Refuse new requests from now on. */
  beginClosing(): void;
  /** Resolves when no request is in flight, or after `deadlineMs`. */
  settled(deadlineMs: number): Promise<void>;
}

export function registerShutdownGate(app: FastifyInstance): ShutdownGate {
  let inFlight = 0;
  let closing = false;

  const finished = (): void => {
    inFlight--;
  };
  app.addHook('onRequest', (_request, reply, done) => {
    if (closing) {
      reply.header('connection', 'close');
      reply
        .code(503)
        .send(
          errorBody('unavailable', 'the server is shutting down; retry in a moment (or on another node)'),
        );
      return;
    }
    inFlight++;
    reply.raw.on('close', finished); // a response closes once: no `once` wrapper per request
    done();
  });

  return {
    get closing() {
      return closing;
    },
    beginClosing() {
      closing = true;
    },
    admit(response) {
      if (closing) return false;
      inFlight++;
      response.on('close', finished);
      return true;
    },
    async settled(deadlineMs) {
      const deadline = Date.now() + deadlineMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    },
  };
}
