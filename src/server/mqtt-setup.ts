/** Wires the MQTT door (src/patterns/mqtt/) to the server's config, security pieces and metrics. */
import type { FastifyBaseLogger } from 'fastify';
import type { Hub } from '../core/hub.js';
import { type MqttEndpoint, registerMqtt } from '../patterns/mqtt/index.js';
import type { UpgradeRouter } from '../patterns/shared/upgrade-router.js';
import { type BrowserGuardOptions, createBrowserCheck } from './browser-guard.js';
import { clientAddressKey } from './client-address.js';
import type { ServerConfig } from './config.js';
import type { ServerMetrics } from './metrics.js';
import type { SecurityContext } from './security.js';

/** Room for the topic name and packet header around the largest message data. */
const PACKET_OVERHEAD_BYTES = 1_024;

export function attachMqtt(
  hub: Hub,
  context: {
    config: ServerConfig;
    security: SecurityContext;
    metrics: ServerMetrics;
    browserGuard: BrowserGuardOptions;
    upgrades: UpgradeRouter;
    log: FastifyBaseLogger;
  },
): Promise<MqttEndpoint> {
  const { config, security, metrics, log } = context;
  return registerMqtt(hub, {
    port: config.mqttPort,
    host: config.host,
    security: {
      auth: security.auth,
      publishRate: security.publishRate,
      addressKey: clientAddressKey,
      rejected: (reason) => metrics.rejected(reason),
    },
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    maxPacketBytes: config.maxMessageBytes + PACKET_OVERHEAD_BYTES,
    maxBufferedBytes: config.pushMaxBufferedBytes,
    maxTopicsPerConnection: config.maxTopicsPerConnection,
    browserCheck: createBrowserCheck(context.browserGuard),
    upgrades: context.upgrades,
    trackConnection: (transport) => metrics.trackConnection(transport),
    delivered: (transport, count) => metrics.delivered(transport, count),
    onDrop: (clientId, reason) =>
      log.info({ module: 'mqtt', clientId }, `MQTT client disconnected: ${reason}`),
  });
}
