/**
 * The gRPC door (docs/grpc.md): the `switchboard.v1.Switchboard` service and server reflection on
 * a grpc-js Server that never listens itself. The main port hands it the connections that start
 * with the HTTP/2 preface (server/http2-preface.ts) through grpc-js's connection injector, so
 * HTTP/1.1 and gRPC share one port without a proxy hop.
 *
 * Limits are set on purpose: message size (the data limit plus room for the other fields),
 * concurrent streams per connection, keepalive, and HTTP/2 session memory.
 */
import type { Socket } from 'node:net';
import { type ConnectionInjector, Server, ServerCredentials } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { Hub } from '../../core/hub.js';
import type { Jobs } from '../../core/jobs/jobs.js';
import type { CallerSecurity } from './caller.js';
import { type CallDeps, unaryCalls } from './calls.js';
import { loadProto } from './proto.js';
import { requestCalls } from './requests.js';
import { GrpcStreams, subscribeCall } from './subscribe.js';
import { watchJobCall } from './watch-job.js';

export interface GrpcDoorOptions {
  hub: Hub;
  jobs: Jobs;
  security: CallerSecurity;
  /** Largest `data` the hub accepts; requests may be this plus 16 KiB for the other fields. */
  maxMessageBytes: number;
  /** Unsent bytes a Subscribe stream may hold before it ends as a slow consumer. */
  maxBufferedBytes: number;
  /** Concurrent calls per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). @default 100 */
  maxConcurrentStreams?: number;
  trackConnection(transport: string): () => void;
  delivered(transport: string, count: number): void;
  onError(error: unknown, method: string): void;
}

export interface GrpcDoor {
  /** Serves one HTTP/2 connection (its preface still unread). */
  handle(socket: Socket): void;
  /** Subscribe streams open right now. */
  readonly streams: number;
  /** Ends streams with a resume hint, then closes the connections (graceful shutdown). */
  close(graceMs?: number): Promise<void>;
}

/** Room for topic, event, key and framing beside the largest `data`. */
const ENVELOPE_ALLOWANCE = 16_384;

export function createGrpcDoor(options: GrpcDoorOptions): GrpcDoor {
  const { packageDefinition, service } = loadProto();
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes + ENVELOPE_ALLOWANCE,
    // A Fetch answers at most 1000 messages of at most maxMessageBytes each.
    'grpc.max_send_message_length': 1000 * (options.maxMessageBytes + 256) + ENVELOPE_ALLOWANCE,
    'grpc.max_concurrent_streams': options.maxConcurrentStreams ?? 100,
    // Find dead peers of long-lived streams: ping after 60 s of silence, give up 20 s later.
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc-node.max_session_memory': 16, // MiB of HTTP/2 buffers per connection
  });
  const streams = new GrpcStreams();
  const deps: CallDeps = {
    hub: options.hub,
    jobs: options.jobs,
    security: options.security,
    delivered: (count) => {
      if (count > 0) options.delivered('grpc', count);
    },
    onError: options.onError,
  };
  server.addService(service, {
    ...unaryCalls(deps),
    ...requestCalls(deps),
    Subscribe: subscribeCall(deps, streams, { maxBufferedBytes: options.maxBufferedBytes }),
    WatchJob: watchJobCall(deps),
  });
  new ReflectionService(packageDefinition as never).addToServer(server);
  const injector: ConnectionInjector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const sockets = new Set<Socket>();

  return {
    handle(socket) {
      const untrack = options.trackConnection('grpc');
      sockets.add(socket);
      socket.once('close', () => {
        untrack();
        sockets.delete(socket);
      });
      injector.injectConnection(socket);
    },
    get streams() {
      return streams.size;
    },
    async close(graceMs = 2_000) {
      // The streams' statuses (with the resume hints) must leave before the sessions are closed,
      // or clients see "Connection dropped" without trailers.
      if (streams.closeAll() > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      injector.drain(graceMs); // GOAWAY: running unary calls finish, new ones go elsewhere
      await new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs).unref();
      });
      injector.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}
