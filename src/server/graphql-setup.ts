/** Wires the GraphQL door (src/patterns/graphql/) to the server's config, security pieces and metrics. */
import type { FastifyInstance } from 'fastify';
import type { Hub } from '../core/hub.js';
import type { Jobs } from '../core/jobs/jobs.js';
import { type GraphqlEndpoint, registerGraphql } from '../patterns/graphql/index.js';
import type { UpgradeRouter } from '../patterns/shared/upgrade-router.js';
import { type BrowserGuardOptions, createBrowserCheck } from './browser-guard.js';
import { clientAddressKey } from './client-address.js';
import type { ServerConfig } from './config.js';
import type { ServerMetrics } from './metrics.js';
import type { SecurityContext } from './security.js';

/** Room for the query text and envelope around the largest message data in one graphql-ws frame. */
const FRAME_OVERHEAD_BYTES = 16_384;

export function attachGraphql(
  app: FastifyInstance,
  deps: {
    hub: Hub;
    jobs: Jobs;
    config: ServerConfig;
    security: SecurityContext;
    metrics: ServerMetrics;
    browserGuard: BrowserGuardOptions;
    upgrades: UpgradeRouter;
  },
): GraphqlEndpoint {
  const { hub, jobs, config, security, metrics } = deps;
  return registerGraphql(app, hub, {
    jobs,
    security: {
      auth: security.auth,
      publishRate: security.publishRate,
      tokenFrom: security.tokenFrom,
      addressKey: clientAddressKey,
      rejected: (reason) => metrics.rejected(reason),
    },
    browserCheck: createBrowserCheck(deps.browserGuard),
    upgrades: deps.upgrades,
    maxFrameBytes: config.wsMaxPayloadBytes || config.maxMessageBytes * 2 + FRAME_OVERHEAD_BYTES,
    maxBufferedBytes: config.pushMaxBufferedBytes,
    maxOperations: config.maxTopicsPerConnection,
    messagesPerSecond: config.wsControlOpsPerSecond,
    pingIntervalMs: config.wsPingIntervalMs,
    trackConnection: (transport) => metrics.trackConnection(transport),
    delivered: (transport, count) => metrics.delivered(transport, count),
  });
}
