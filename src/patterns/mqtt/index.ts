/**
 * The MQTT door: an MQTT 3.1.1 broker (aedes) over TCP (`--mqtt-port`) and over WebSocket at
 * `/mqtt` on the main port, in front of the same log as every other door. aedes speaks the protocol
 * (CONNECT, keep-alive, SUBACK, PUBACK, QoS 2 handshakes); the hub owns the messages:
 * - every PUBLISH is a hub publish, appended in `authorizePublish` — so a QoS 1 PUBACK, which aedes
 *   sends after that hook, follows the durable append — and aedes' own router is bypassed;
 * - subscribers are fed from the hub's per-topic feed (session.ts), so every door reaches them;
 * - persistent sessions and retained messages are kept by the engine (persistence.ts).
 * Contract and choices: docs/mqtt.md.
 */
import { createHash } from 'node:crypto';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { type Authenticator, scheduleExpiry } from '../../core/auth.js';
import type { Hub } from '../../core/hub.js';
import { type RateLimiter, rateKey } from '../../core/rate-limit.js';
import type { Principal } from '../../core/token-claims.js';
import { badRequest, isSwitchboardError } from '../../protocol/errors.js';
import { installConnectionLimits } from '../../server/connection-limits.js';
import { DeliveryCounter } from '../shared/delivery-counter.js';
import { TurnBatcher } from '../shared/turn-batcher.js';
import { refuseUpgrade, type UpgradeRouter } from '../shared/upgrade-router.js';
import { dataFromPayload, FILTER_RULE, parseFilter, topicFromMqtt } from './mapping.js';
import { createPersistence } from './persistence.js';
import { MqttSession, type SessionDoor } from './session.js';
import { WildcardIndex } from './wildcards.js';
import { FrameGuard } from './wire.js';

export const MQTT_WEBSOCKET_PATH = '/mqtt';
/** A connection that has not sent CONNECT within this time is closed. */
export const MQTT_CONNECT_TIMEOUT_MS = 10_000;
/** A device that reads nothing for this long while the broker waits to write is disconnected. */
const DRAIN_TIMEOUT_MS = 30_000;
/** Most unacknowledged QoS 1 deliveries before a device counts as a slow consumer. */
const MAX_UNACKED = 1_000;
/** Recent inbound packet ids remembered per client id (to spot DUP retransmissions), and client ids. */
const INBOUND_IDS_PER_CLIENT = 32;
const INBOUND_CLIENTS = 10_000;

export interface MqttSecurity {
  auth: Authenticator;
  publishRate: RateLimiter;
  /** The key per-address limits use for a client address. */
  addressKey(remoteAddress: string | undefined): string;
  rejected?: (reason: string) => void;
}

export interface MqttOptions {
  /** TCP port of the MQTT listener (0: any free port); undefined: no TCP listener. */
  port: number | undefined;
  host: string;
  security: MqttSecurity;
  /** Limits of the TCP listener (the WebSocket path shares the main port's limits). */
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Largest MQTT packet accepted; larger ones close the connection. */
  maxPacketBytes: number;
  maxBufferedBytes: number;
  /** Subscriptions (filters) one connection may hold; more get SUBACK 0x80. */
  maxTopicsPerConnection: number;
  /** Origin/Host check shared with the HTTP routes (WebSocket path). */
  browserCheck: (host: string | undefined, origin: string | undefined) => string | undefined;
  upgrades: UpgradeRouter;
  trackConnection?: (transport: 'mqtt') => () => void;
  delivered?: (transport: 'mqtt', count: number) => void;
  /** Told why a device was disconnected (refused publish, slow consumer, store failure). */
  onDrop?: (clientId: string, reason: string) => void;
}

export interface MqttEndpoint {
  /** The TCP listener's port once listening (undefined when MQTT over TCP is off). */
  readonly port: number | undefined;
  /** Connected MQTT clients (TCP and WebSocket). */
  readonly connections: number;
  listen(): Promise<void>;
  /** Ends every session (persistent ones write their cursors first) and closes the listeners. */
  close(): Promise<void>;
}

/** A QoS 1/2 packet id a client used recently: what it carried and its append. */
interface InboundPacket {
  digest: string;
  appended: Promise<void>;
}

interface ClientState {
  address: string;
  principal?: Principal;
  session?: MqttSession;
  untrack?: () => void;
  cancelExpiry?: () => void;
}

export async function registerMqtt(hub: Hub, options: MqttOptions): Promise<MqttEndpoint> {
  const { security } = options;
  const states = new WeakMap<Client, ClientState>();
  const sessions = new Set<MqttSession>();
  /** Sessions between authentication and CONNACK, by client id (for the restore hook). */
  const connecting = new Map<string, MqttSession>();
  const writeChains = new Map<string, Promise<void>>();
  const inbound = new Map<string, Map<number, InboundPacket>>();
  const wildcards = new WildcardIndex();
  const deliveries = new DeliveryCounter(
    options.delivered && ((count) => options.delivered?.('mqtt', count)),
  );
  let closing = false;

  const door: SessionDoor = {
    hub,
    wildcards,
    batcher: new TurnBatcher(),
    deliveries,
    maxBufferedBytes: options.maxBufferedBytes,
    maxUnacked: MAX_UNACKED,
    allowsRead: (principal, topic) => security.auth.allows(principal, 'subscribe', topic),
    persist(clientId, write) {
      const previous = writeChains.get(clientId) ?? Promise.resolve();
      const next = previous.catch(() => undefined).then(write);
      writeChains.set(clientId, next);
      const forget = (): void => {
        if (writeChains.get(clientId) === next) writeChains.delete(clientId);
      };
      next.then(forget, forget);
      return next;
    },
    dropped: (clientId, reason) => options.onDrop?.(clientId, reason),
  };
  const stopWatching = hub.onAppended((topic) => {
    if (wildcards.size > 0) wildcards.appended(topic);
  });

  const refuse = (error: unknown): Error => {
    const code = isSwitchboardError(error) ? error.code : 'unavailable';
    if (code !== 'unavailable') security.rejected?.(code);
    return new Error(`${code}: ${error instanceof Error ? error.message : String(error)}`);
  };

  const broker = new Aedes({
    connectTimeout: MQTT_CONNECT_TIMEOUT_MS,
    drainTimeout: DRAIN_TIMEOUT_MS,
    maxTopicLevels: 8,
    persistence: createPersistence({
      // aedes asks with a bare `{ id }`, not the client: the session is found by its client id.
      async restore(client) {
        const session = connecting.get(client.id);
        const record = await hub.engine.getMqttSession(client.id);
        return record && session ? session.load(record) : [];
      },
      clean: (client) =>
        door.persist(client.id, async () => void (await hub.engine.deleteMqttSession(client.id))),
      acked: (client, messageId) => states.get(client as Client)?.session?.acked(messageId),
    }),

    preConnect(_client, _packet, callback) {
      callback(closing ? new Error('the server is shutting down; reconnect in a moment') : null, !closing);
    },

    authenticate(client, _username, password, done) {
      const state = states.get(client);
      if (!state) {
        done(authError(3, 'unknown connection'), null);
        return;
      }
      // Token mode: the CONNECT password is the JWT (the username is free); open mode accepts anyone.
      const token = security.auth.mode === 'token' ? password?.toString('utf8') : undefined;
      security.auth.authenticate(token).then(
        (principal) => {
          if (client.conn.destroyed) {
            done(authError(3, 'the connection closed during authentication'), null);
            return; // no session for a socket that is gone (its close event has fired already)
          }
          state.principal = principal;
          const session = new MqttSession(door, client.conn as Duplex, client.id, client.clean, principal);
          state.session = session;
          sessions.add(session);
          connecting.set(client.id, session);
          client.conn.once('close', () => {
            if (connecting.get(client.id) === session) connecting.delete(client.id);
            sessions.delete(session);
            state.untrack?.();
            state.cancelExpiry?.();
            void session.close().catch(() => undefined);
          });
          done(null, true);
        },
        (error: unknown) => {
          const unavailable = isSwitchboardError(error) && error.code === 'unavailable';
          security.rejected?.('unauthorized');
          done(authError(unavailable ? 3 : 4, refuse(error).message), null);
        },
      );
    },

    authorizePublish(client, packet, callback) {
      const state = client ? states.get(client) : undefined;
      if (!client || !state?.principal) {
        callback(new Error('unauthorized: publish before CONNECT was accepted'));
        return;
      }
      publish(client, state, packet).then(
        () => callback(null),
        (error: unknown) => {
          options.onDrop?.(client.id, `publish refused (${refuse(error).message})`);
          callback(refuse(error));
        },
      );
    },

    authorizeSubscribe(client, subscription, callback) {
      const state = states.get(client);
      const session = state?.session;
      const parsed = parseFilter(subscription.topic);
      // SUBACK 0x80 (failure) for names outside the topic rule, topics the token may not read, and
      // subscriptions past the per-connection limit.
      const refused =
        !session ||
        !parsed ||
        (parsed.exact !== undefined && !door.allowsRead(session.principal, parsed.exact)) ||
        (!session.filters.has(parsed.filter) && session.filters.size >= options.maxTopicsPerConnection);
      if (refused || !parsed || !session) {
        if (state?.principal && parsed) security.rejected?.('forbidden');
        callback(null, null);
        return;
      }
      const qos = subscription.qos >= 1 ? 1 : 0; // QoS 2 is delivered at QoS 1 (docs/mqtt.md)
      session.addFilter(parsed, qos);
      callback(null, { ...subscription, qos });
    },
  });
  await broker.listen();

  // aedes' router is bypassed: messages reach subscribers from the log. Its own $SYS traffic
  // (heartbeats, client takeover between brokers) still goes through it.
  const route = broker.publish.bind(broker);
  broker.publish = ((packet: PublishPacket, client: unknown, done?: (error?: Error) => void) => {
    const callback = typeof client === 'function' ? (client as (error?: Error) => void) : done;
    if (packet.topic.startsWith('$SYS/')) {
      route(packet, callback ?? (() => undefined));
      return;
    }
    callback?.();
  }) as typeof broker.publish;

  // Subscriptions likewise: the sessions follow topics through the feed, so aedes' matcher would
  // only hold an unused entry per subscription (memory per device).
  const mqSubscribe = broker.subscribe.bind(broker);
  const mqUnsubscribe = broker.unsubscribe.bind(broker);
  broker.subscribe = ((topic: string, deliver: never, done?: () => void) => {
    if (topic.startsWith('$SYS/')) mqSubscribe(topic, deliver, done ?? (() => undefined));
    else done?.();
  }) as typeof broker.subscribe;
  broker.unsubscribe = ((topic: string, deliver: never, done?: () => void) => {
    if (topic.startsWith('$SYS/')) mqUnsubscribe(topic, deliver, done ?? (() => undefined));
    else done?.();
  }) as typeof broker.unsubscribe;

  broker.on('clientReady', (client) => {
    const state = states.get(client);
    const session = state?.session;
    if (!state || !session) return;
    if (connecting.get(client.id) === session) connecting.delete(client.id);
    state.untrack = options.trackConnection?.('mqtt');
    state.cancelExpiry = state.principal ? scheduleExpiry(state.principal, () => client.close()) : undefined;
    session.resume().catch(() => client.close());
  });
  broker.on('subscribe', (subscriptions, client) => {
    const session = states.get(client)?.session;
    const granted = subscriptions.filter((s) => (s.qos as number) !== 128).map((s) => s.topic);
    session?.subscribed(granted).catch(() => client.close());
  });
  broker.on('unsubscribe', (filters, client) => {
    if (!client.closed) states.get(client)?.session?.unsubscribed(filters);
  });

  async function publish(client: Client, state: ClientState, packet: PublishPacket): Promise<void> {
    const principal = state.principal!;
    const topic = topicFromMqtt(packet.topic);
    if (topic === undefined) throw badRequest(`"${packet.topic}" is not a Switchboard topic: ${FILTER_RULE}`);
    security.auth.authorize(principal, 'publish', topic); // 403 for system topics and foreign topics
    security.publishRate.take(rateKey(principal, state.address));
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (packet.retain && payload.length === 0) {
      await hub.engine.setRetained(topic, null); // MQTT: an empty retained message clears the topic's
      return;
    }
    const data = dataFromPayload(payload);
    if (data === undefined) {
      throw badRequest('payloads must be UTF-8 text (JSON, or any other text)');
    }
    // A DUP retransmission of a packet already appended (its PUBACK was lost) is not appended
    // again; one that arrives while the original is still being stored waits for that append.
    const messageId = packet.messageId ?? 0;
    const seen = packet.qos > 0 ? inboundIds(client.id) : undefined;
    const digest = seen
      ? createHash('sha1').update(packet.topic).update('\0').update(payload).digest('base64')
      : '';
    const known = seen?.get(messageId);
    if (packet.dup && known?.digest === digest) {
      try {
        await known.appended;
        return;
      } catch {
        // the original was not stored: store this retransmission instead
      }
    }
    const appended = (async () => {
      const outcome = (await hub.publishInputs(topic, [{ data }])).outcomes[0]!;
      if (packet.retain) {
        await hub.engine.setRetained(topic, { topic, data, offset: outcome.offset, time: outcome.time });
      }
    })();
    if (seen) {
      const entry = { digest, appended };
      seen.delete(messageId);
      seen.set(messageId, entry);
      if (seen.size > INBOUND_IDS_PER_CLIENT) seen.delete(seen.keys().next().value!);
      appended.catch(() => {
        if (seen.get(messageId) === entry) seen.delete(messageId);
      });
    }
    await appended;
  }

  function inboundIds(clientId: string): Map<number, InboundPacket> {
    let ids = inbound.get(clientId);
    if (ids) {
      inbound.delete(clientId); // most recently used last
    } else {
      ids = new Map();
      if (inbound.size >= INBOUND_CLIENTS) inbound.delete(inbound.keys().next().value!);
    }
    inbound.set(clientId, ids);
    return ids;
  }

  /** Hands a connection to aedes, with the frame-size guard in front of its parser. */
  const handle = (conn: Duplex, remoteAddress: string | undefined): void => {
    if (closing) {
      conn.destroy();
      return;
    }
    conn.on('error', () => undefined); // resets are routine; aedes closes the client
    const client = broker.handle(conn);
    states.set(client, { address: security.addressKey(remoteAddress) });
    const guard = new FrameGuard(options.maxPacketBytes);
    // aedes 1.x feeds every chunk it reads to this mqtt-packet parser.
    const parser = (client as unknown as { _parser: { parse(chunk: Buffer): unknown } })._parser;
    const parse = parser.parse.bind(parser);
    parser.parse = (chunk: Buffer) => {
      if (guard.accepts(chunk)) return parse(chunk);
      security.rejected?.('payload_too_large');
      conn.destroy();
      return 0;
    };
  };

  // MQTT over TCP: its own listener, with the same connection limits as the main port.
  let tcp: Server | undefined;
  if (options.port !== undefined) {
    const server = createServer({ noDelay: true });
    const limits = installConnectionLimits(server as unknown as HttpServer, {
      maxConnections: options.maxConnections,
      maxConnectionsPerIp: options.maxConnectionsPerIp,
      onRefused: (limit) => security.rejected?.(limit),
    });
    server.on('connection', (socket: Socket) => {
      if (limits.refusalFor(socket)) {
        socket.destroy(); // MQTT has no way to say why before CONNECT: the socket is closed
        return;
      }
      handle(socket, socket.remoteAddress);
    });
    tcp = server;
  }

  // MQTT over WebSocket: `/mqtt` on the main port, subprotocol `mqtt` (or the older `mqttv3.1`).
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: options.maxPacketBytes + 16,
    handleProtocols: (protocols) =>
      protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false,
  });
  options.upgrades.add(MQTT_WEBSOCKET_PATH, (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (closing) {
      refuseUpgrade(socket, 503, 'unavailable', 'the server is shutting down; reconnect in a moment');
      return;
    }
    const refusal = options.browserCheck(request.headers.host, request.headers.origin);
    if (refusal !== undefined) {
      refuseUpgrade(socket, 403, 'forbidden', refusal);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      handle(stream, request.socket.remoteAddress);
    });
  });

  return {
    get port() {
      const address = tcp?.address();
      return address && typeof address === 'object' ? address.port : undefined;
    },
    get connections() {
      return broker.connectedClients;
    },
    async listen() {
      const server = tcp;
      if (!server || server.listening) return;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
    async close() {
      if (closing) return;
      closing = true;
      stopWatching();
      deliveries.stop();
      tcp?.close();
      // Persistent sessions write their last cursors while the store is still open.
      await Promise.allSettled([...sessions].map((session) => session.close()));
      await Promise.allSettled([...writeChains.values()]);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      wss.close();
    },
  };
}

function authError(returnCode: 3 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}
