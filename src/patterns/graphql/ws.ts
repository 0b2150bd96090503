/**
 * GraphQL subscriptions (and queries, mutations) over WebSocket at `/graphql` with the
 * `graphql-transport-ws` subprotocol: the graphql-ws library's own server (`useServer`) on a `ws`
 * server in noServer mode, reached through the main port's upgrade router. This module adds only
 * the door's chores: the Origin/Host check, the token (`connectionParams.token`, else the upgrade's
 * `Authorization`/`?token=`), a per-socket message rate limit (the WebSocket door's control-op
 * limit), a cap on concurrent operations per socket, metrics, and the graceful close.
 *
 * Close codes are graphql-ws's (4400 bad message, 4408 no `connection_init` in time, 4409
 * duplicate id, 4429 duplicate init) plus the contract's 4401 (no valid token), 4403 (refused),
 * 4429 (too many messages per second) and 1012 (server restarting: reconnect and resume).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { type ExecutionArgs, execute, type GraphQLError, type GraphQLSchema } from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Authenticator, Principal } from '../../core/auth.js';
import { isSwitchboardError } from '../../protocol/errors.js';
import { CloseCode, MAX_CLOSE_REASON_BYTES } from '../../protocol/ws.js';
import type { DeliveryCounter } from '../shared/delivery-counter.js';
import { refuseUpgrade, type UpgradeRouter } from '../shared/upgrade-router.js';
import { codedError, formatErrors, formatResult } from './errors.js';
import { GRAPHQL_PATH } from './http.js';
import type { Preparer } from './prepare.js';
import type { GraphqlContext } from './resolvers.js';
import type { SharedSubscribe } from './shared-execution.js';

export interface GraphqlWsOptions {
  schema: GraphQLSchema;
  prepare: Preparer;
  subscribe: SharedSubscribe;
  auth: Authenticator;
  upgrades: UpgradeRouter;
  tokenFrom(headers: IncomingHttpHeaders, url: string | undefined): string | undefined;
  addressKey(remoteAddress: string | undefined): string;
  browserCheck(host: string | undefined, origin: string | undefined): string | undefined;
  /** Largest frame read. */
  maxFrameBytes: number;
  /** Messages per second per socket (burst: twice that); past it the socket is closed 4429. */
  messagesPerSecond: number;
  /** Operations open at once on one socket. */
  maxOperations: number;
  /** How long a socket may stay without `connection_init`. @default 3_000 (graphql-ws's own) */
  connectionInitWaitMs: number;
  /** WebSocket ping interval (a peer that misses one is dropped). */
  pingIntervalMs: number;
  deliveries: DeliveryCounter;
  trackConnection?: (transport: 'graphql') => () => void;
  rejected?: (reason: string) => void;
}

/** What the door keeps on graphql-ws's per-socket context (`ctx.extra`). */
interface Extra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  principal?: Principal;
  address?: string;
}

/**
 * graphql-ws accepts errors from `onSubscribe` only when they are `instanceof GraphQLError` of the
 * graphql it loads itself: Node's CommonJS build. This module may see graphql's ESM build (test
 * runners and bundlers prefer it), whose class is another one, so errors are re-made with that one.
 */
const { GraphQLError: LibraryGraphQLError } = createRequire(import.meta.url)(
  'graphql',
) as typeof import('graphql');
const forLibrary = (errors: readonly GraphQLError[]): GraphQLError[] =>
  errors.map((error: GraphQLError) =>
    (error as unknown) instanceof LibraryGraphQLError
      ? error
      : new LibraryGraphQLError(error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          extensions: error.extensions,
        }),
  );

const SHUTDOWN_REASON = 'server restarting; reconnect and subscribe again after your last offsets';

export function registerGraphqlWs(options: GraphqlWsOptions): { close(graceMs?: number): Promise<void> } {
  const { schema, prepare, auth } = options;
  let closing = false;
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: options.maxFrameBytes,
  });

  const refuse = (ctx: Context<Record<string, unknown>, Extra>, code: number, reason: string): false => {
    options.rejected?.(code === CloseCode.Unauthorized ? 'unauthorized' : 'forbidden');
    ctx.extra.socket.close(code, limitReason(reason));
    return false;
  };

  useServer<Record<string, unknown>, Partial<Extra>>(
    {
      schema,
      connectionInitWaitTimeout: options.connectionInitWaitMs,
      // Production mode: internal error texts never reach clients (they are in the server log).
      isProd: true,
      async onConnect(ctx) {
        const extra = ctx.extra as Extra;
        let principal: Principal;
        try {
          const param = ctx.connectionParams?.token;
          if (param !== undefined && typeof param !== 'string') {
            return refuse(ctx as never, CloseCode.Unauthorized, 'connectionParams.token must be a string');
          }
          const token = param ?? options.tokenFrom(extra.request.headers, extra.request.url);
          principal = await auth.authenticate(token);
        } catch (error) {
          const message = isSwitchboardError(error) ? error.message : 'the token could not be checked';
          return refuse(ctx as never, CloseCode.Unauthorized, `unauthorized: ${message}`);
        }
        extra.principal = principal;
        extra.address = options.addressKey(extra.request.socket.remoteAddress);
        return true;
      },
      onSubscribe(ctx, _id, payload) {
        if (Object.keys(ctx.subscriptions).length > options.maxOperations) {
          return forLibrary([
            codedError(
              'bad_request',
              `at most ${options.maxOperations} operations may be open on one socket (maxTopicsPerConnection): complete some first`,
            ),
          ]);
        }
        const prepared = prepare(payload);
        if (!prepared.ok) return forLibrary(prepared.errors);
        const extra = ctx.extra as Extra;
        const contextValue: GraphqlContext = { principal: extra.principal!, address: extra.address! };
        const { document, operationName, variables } = prepared.value;
        return { schema, document, operationName, variableValues: variables, contextValue } as ExecutionArgs;
      },
      // Results leave with their errors already formatted (contract code in `extensions`).
      execute: async (args) => formatResult(await execute(args)) as never,
      subscribe: options.subscribe as never,
      onNext(_ctx, _id, _payload, _args, result) {
        options.deliveries.count++;
        return formatResult(result);
      },
      onError: (_ctx, _id, _payload, errors) => formatErrors(errors),
    },
    wss,
    options.pingIntervalMs,
  );

  // Every frame, pings included, spends from the socket's bucket: a flood closes the socket, as
  // the WebSocket door does. Registered after useServer's own listener.
  wss.on('connection', (socket: WebSocket) => {
    const untrack = options.trackConnection?.('graphql');
    const rate = options.messagesPerSecond;
    let tokens = rate * 2;
    let refilledAt = Date.now();
    socket.on('message', () => {
      const now = Date.now();
      tokens = Math.min(rate * 2, tokens + ((now - refilledAt) * rate) / 1000);
      refilledAt = now;
      if (tokens >= 1) tokens -= 1;
      else
        socket.close(
          CloseCode.RateLimited,
          limitReason(`too many messages (limit ${rate}/s); slow down and reconnect`),
        );
    });
    socket.once('close', () => untrack?.());
  });

  options.upgrades.add(GRAPHQL_PATH, (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (closing) {
      refuseUpgrade(socket, 503, 'unavailable', 'the server is shutting down; reconnect in a moment');
      return;
    }
    const refusal = options.browserCheck(request.headers.host, request.headers.origin);
    if (refusal !== undefined) {
      refuseUpgrade(socket, 403, 'forbidden', refusal);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  return {
    async close(graceMs = 2_000) {
      closing = true;
      const open = [...wss.clients];
      const closed = open.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
      for (const ws of open) ws.close(CloseCode.ServiceRestart, SHUTDOWN_REASON);
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([Promise.all(closed), deadline]);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

function limitReason(reason: string): string {
  let text = reason;
  while (Buffer.byteLength(text) > MAX_CLOSE_REASON_BYTES) text = text.slice(0, -2);
  return text;
}
