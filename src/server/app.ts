/**
 * Assembles the HTTP server: one hub, fastify with deliberate Node limits, the browser guard,
 * the contract's error handling, and one plugin per communication pattern.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import Fastify, { type FastifyHttpOptions, type FastifyInstance, LogController } from 'fastify';
import { createHub, type Hub } from '../core/hub.js';
import type { Engine } from '../engines/engine.js';
import { registerGroups } from '../patterns/groups/index.js';
import { registerJobs } from '../patterns/jobs/index.js';
import type { MqttEndpoint } from '../patterns/mqtt/index.js';
import { createPollFastPath, type PollFastPath } from '../patterns/poll/fast-path.js';
import { registerPoll } from '../patterns/poll/index.js';
import { registerPresence } from '../patterns/presence/index.js';
import { registerPush } from '../patterns/push/index.js';
import { registerRequests } from '../patterns/requests/index.js';
import { registerRest } from '../patterns/rest/index.js';
import { registerScheduled } from '../patterns/scheduled/index.js';
import { registerBodyParsers } from '../patterns/shared/body.js';
import { createUpgradeRouter } from '../patterns/shared/upgrade-router.js';
import { registerSse } from '../patterns/sse/index.js';
import { registerWebhooks } from '../patterns/webhooks/index.js';
import { registerWebSocket } from '../patterns/websocket/index.js';
import { registerApiDocs } from './api-docs.js';
import { authenticatorFromConfig } from './auth-setup.js';
import { createBrowserCheck, isLoopbackHost, registerBrowserGuard } from './browser-guard.js';
import { clientAddressKey } from './client-address.js';
import { DEFAULT_CONFIG, type ServerConfig } from './config.js';
import { createEngine } from './engine-factory.js';
import { clientErrorHandler, frameworkErrors, installErrorHandlers } from './errors.js';
import { attachGraphql } from './graphql-setup.js';
import { attachGrpc } from './grpc-setup.js';
import { registerHealth } from './health.js';
import { loggerOptions } from './logging.js';
import { createServerMetrics } from './metrics.js';
import { attachMqtt } from './mqtt-setup.js';
import { registerSecurity } from './security.js';
import { registerShutdownGate } from './shutdown.js';
import { registerStatic } from './static.js';

export interface CreateServerOptions extends Partial<ServerConfig> {
  /** Use this engine instead of creating one from `engine`/`dataDir`. */
  engineInstance?: Engine;
  /** Pino logger options, or false for silence. @default false */
  logger?: boolean | object;
}

export interface SwitchboardServer {
  readonly app: FastifyInstance;
  readonly hub: Hub;
  readonly config: ServerConfig;
  /** The MQTT door: `port` is its TCP listener's (undefined unless `mqttPort` is set). */
  readonly mqtt: MqttEndpoint;
  /** Every HTTP route registered (method and fastify URL pattern), for the API description's test. */
  readonly routes: ReadonlyArray<{ method: string; url: string }>;
  /** Starts listening; resolves to the base URL (e.g. http://127.0.0.1:8080). */
  listen(): Promise<string>;
  /** Graceful stop: refuse new work, answer held requests, finish in-flight publishes, close the store. */
  close(): Promise<void>;
}

export async function createServer(options: CreateServerOptions = {}): Promise<SwitchboardServer> {
  const { engineInstance, logger = false, ...overrides } = options;
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...overrides };
  const auth = await authenticatorFromConfig(config); // bad key settings fail before the store opens
  const metrics = createServerMetrics();
  const engine = engineInstance ?? createEngine(config);
  await engine.open();
  const hub = createHub({
    engine,
    observer: metrics.hubObserver,
    limits: {
      maxMessageBytes: config.maxMessageBytes,
      maxWaiters: config.maxLongPolls,
      maxTopicBytes: config.maxTopicBytes,
      maxStoredBytes: config.maxStoredBytes,
    },
    retention: { maxCount: config.retention.maxCount, maxAgeMs: config.retention.maxAgeMs },
    retentionRules: config.retention.rules,
    dedupeWindowMs: config.dedupeWindowMs,
    presenceEvents: config.presenceEvents,
    presenceTtlMs: config.presenceTtlMs,
  });
  metrics.attachHub(hub);

  // Set once the security pieces it consults exist (below); see patterns/poll/fast-path.ts.
  let pollFastPath: PollFastPath | undefined;
  const app = Fastify({
    // fastify's own server setup (lib/server.js), with the long-poll fast path in front of it.
    serverFactory: (
      handler: (request: IncomingMessage, response: ServerResponse) => void,
      options: Record<string, unknown>,
    ) => {
      const { http, keepAliveTimeout, requestTimeout, connectionTimeout } = options as {
        http: object;
        keepAliveTimeout: number;
        requestTimeout: number;
        connectionTimeout: number;
      };
      const server = createHttpServer(http, (request, response) => {
        if (!pollFastPath?.(request, response, handler)) handler(request, response);
      });
      server.keepAliveTimeout = keepAliveTimeout;
      server.requestTimeout = requestTimeout;
      server.setTimeout(connectionTimeout);
      return server;
    },
    logger: loggerOptions(logger, config.logLevel), // redacts tokens: see logging.ts
    bodyLimit: config.maxBodyBytes,
    return503OnClosing: false, // fastify's own 503 body is not the contract's: see shutdown.ts
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    http: {
      maxHeaderSize: config.maxHeaderBytes,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default), which would let a
      // slow-loris client hold a socket far longer than headersTimeoutMs.
      connectionsCheckingInterval: Math.max(50, Math.min(5_000, config.headersTimeoutMs / 4)),
      noDelay: true,
    },
    clientErrorHandler,
    frameworkErrors, // malformed URLs answer the contract's JSON too
    // a topic may be 8 × 64 characters plus dots and ".dead-letter"
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 600 },
    logController: new LogController({ disableRequestLogging: true }),
  } as FastifyHttpOptions<Server>) as unknown as FastifyInstance;

  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  const gate = registerShutdownGate(app);
  registerBodyParsers(app, config.maxBodyBytes);
  installErrorHandlers(app);
  const browserGuard = {
    allowedOrigins: config.allowedOrigins,
    allowedHosts: config.allowedHosts,
    loopbackOnly: isLoopbackHost(config.host),
  };
  registerBrowserGuard(app, browserGuard);
  // Before the routes: it checks each has an auth rule.
  const security = registerSecurity(app, { config, auth, metrics });
  registerHealth(app, hub);
  // WebSocket-style doors (/v1/ws, /graphql, /mqtt) share the main port's one upgrade listener.
  const upgrades = createUpgradeRouter(app.server, {
    refuseUpgrade: (request, socket) => security.connections.refuseUpgrade(request, socket),
  });
  registerRest(app, hub);
  registerScheduled(app, hub); // delayed delivery: list and cancel (scheduling is a publish)
  registerPoll(app, hub);
  pollFastPath = createPollFastPath({
    hub,
    auth: security.auth,
    browserCheck: createBrowserCheck(browserGuard),
    refusalFor: (socket) => security.connections.refusalFor(socket),
    admit: (response) => gate.admit(response),
    // pino has isLevelEnabled; the silent logger does not (and logs nothing)
    debugLogging: () =>
      (app.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('debug') ?? false,
    httpRequest: (method, route, status, seconds) => metrics.httpRequest(method, route, status, seconds),
    delivered: (transport, count) => metrics.delivered(transport, count),
  });
  registerRequests(app, hub); // request-reply (docs/request-reply.md)
  registerPresence(app, hub); // GET /v1/topics/:topic/presence (docs/presence.md)
  const sse = registerSse(app, hub, {
    keepAliveMs: config.sseKeepAliveMs,
    retryMs: config.sseRetryMs,
    maxBufferedBytes: config.pushMaxBufferedBytes,
    maxTopicsPerConnection: config.maxTopicsPerConnection,
    trackConnection: (transport) => metrics.trackConnection(transport),
    delivered: (transport, count) => metrics.delivered(transport, count),
  });
  const websocket = registerWebSocket(hub, {
    maxFrameBytes: config.wsMaxPayloadBytes || config.maxMessageBytes + 16_384, // 0 = automatic
    maxBufferedBytes: config.pushMaxBufferedBytes,
    maxTopics: config.maxTopicsPerConnection,
    controlOpsPerSecond: config.wsControlOpsPerSecond,
    pingIntervalMs: config.wsPingIntervalMs,
    security: {
      auth: security.auth,
      publishRate: security.publishRate,
      publishBytes: security.publishBytes,
      authDeadlineMs: config.wsAuthDeadlineMs,
      tokenFrom: security.tokenFrom,
      addressKey: clientAddressKey,
      rejected: (reason) => metrics.rejected(reason),
    },
    browserCheck: createBrowserCheck(browserGuard),
    upgrades,
    trackConnection: (transport) => metrics.trackConnection(transport),
    delivered: (transport, count) => metrics.delivered(transport, count),
    onMemberError: (error, topic, group) =>
      app.log.warn(
        { module: 'websocket', err: error, topic, group },
        'a WebSocket group member could not claim; it retries every second',
      ),
  });
  // MQTT over TCP (--mqtt-port) and over WebSocket at /mqtt (docs/mqtt.md).
  const mqtt = await attachMqtt(hub, { config, security, metrics, browserGuard, upgrades, log: app.log });
  registerGroups(app, hub);
  await registerWebhooks(app, hub, config); // before jobs: job callbacks are webhooks
  await registerPush(app, hub, config);
  const jobs = registerJobs(app, hub, config);
  // gRPC on the main port: HTTP/2 prior-knowledge connections (docs/grpc.md).
  const grpc = attachGrpc(app, { hub, jobs, config, security, metrics });
  // GraphQL over HTTP, graphql-ws and graphql-sse at /graphql (docs/graphql.md).
  const graphql = attachGraphql(app, { hub, jobs, config, security, metrics, browserGuard, upgrades });
  registerApiDocs(app); // GET /openapi.json and /asyncapi.json
  registerStatic(app); // GET /client.js (browser SDK) and GET / (web console)

  let closing: Promise<void> | undefined;
  return {
    app,
    hub,
    config,
    mqtt,
    routes,
    async listen() {
      const address = await app.listen({ host: config.host, port: config.port });
      await mqtt.listen();
      return address.replace('[::1]', 'localhost');
    },
    close() {
      closing ??= (async () => {
        gate.beginClosing();
        hub.drain(); // answers held long polls and refuses new publishes
        // Push streams end with a reconnect hint (WebSocket 1012, SSE `close` + `retry:`) while the
        // store is still open, so clients resume from their last offsets on another try or node.
        await Promise.all([websocket.close(), sse.close(), grpc.close(), mqtt.close(), graphql.close()]);
        const closed = app.close(); // stops accepting connections
        await gate.settled(5_000); // in-flight publishes finish and are answered
        app.server.closeAllConnections();
        grpc.dropPendingConnections(); // and sockets still in (or arriving at) the HTTP/2 preface check
        await closed;
        await hub.close(); // flushes and closes the store
      })();
      return closing;
    },
  };
}
