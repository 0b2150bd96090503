/**
 * The aedes persistence seam, wired so aedes keeps no second copy of anything the hub owns:
 * - subscriptions of persistent sessions are read from the engine's session record (aedes restores
 *   them through `authorizeSubscribe` and answers CONNACK "session present");
 * - retained messages and offline queues live in the engine and the log, so aedes' retained
 *   store and outgoing queue stay empty; a PUBACK (`outgoingClearMessageId`) is handed to the
 *   session, which moves its cursor;
 * - what is connection-local protocol state (inbound QoS 2 handshakes, wills) stays in aedes'
 *   own memory persistence.
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

type AedesClient = { id: string };
type Packet = { messageId?: number };

interface MemoryDelegate {
  setup(broker: unknown): Promise<void>;
  incomingStorePacket(client: AedesClient, packet: Packet): Promise<void>;
  incomingGetPacket(client: AedesClient, packet: Packet): Promise<unknown>;
  incomingDelPacket(client: AedesClient, packet: Packet): Promise<void>;
  cleanIncoming(client: AedesClient): Promise<void>;
  putWill(client: AedesClient, packet: unknown): Promise<void>;
  getWill(client: AedesClient): Promise<unknown>;
  delWill(client: AedesClient): Promise<unknown>;
  streamWill(brokers?: unknown): Readable;
  destroy(): Promise<void>;
}

// aedes-persistence's in-memory implementation, without the callback wrapper its main export adds.
const MemoryPersistence = createRequire(import.meta.url)(
  'aedes-persistence/asyncPersistence.js',
) as new () => MemoryDelegate;

export interface SessionHooks {
  /** The stored filters of a persistent session (empty: no session present). */
  restore(client: AedesClient): Promise<Array<{ topic: string; qos: 0 | 1 }>>;
  /** A clean-session CONNECT: the stored session of that client id ends. */
  clean(client: AedesClient): Promise<void>;
  /** PUBACK from the device for one of the door's QoS 1 deliveries. */
  acked(client: AedesClient, messageId: number): void;
}

const nothing = (): Readable => Readable.from([]);

export function createPersistence(hooks: SessionHooks) {
  const memory = new MemoryPersistence();
  return {
    setup: async (broker: unknown) => memory.setup(broker),
    destroy: async () => memory.destroy(),
    // Retained messages: the door stores them in the engine and sends them itself after SUBACK.
    storeRetained: async () => {},
    createRetainedStream: nothing,
    createRetainedStreamCombi: nothing,
    // Subscriptions: the door's sessions keep them (in the engine, for persistent sessions).
    addSubscriptions: async () => {},
    removeSubscriptions: async () => {},
    subscriptionsByClient: async (client: AedesClient) => hooks.restore(client),
    subscriptionsByTopic: async () => [],
    countOffline: async () => ({ subsCount: 0, clientsCount: 0 }),
    cleanSubscriptions: async (client: AedesClient) => hooks.clean(client),
    // Outgoing queues: none; the log is the queue and the session's cursors say where each device is.
    outgoingEnqueue: async () => {},
    outgoingEnqueueCombi: async () => {},
    outgoingUpdate: async () => {},
    outgoingClearMessageId: async (client: AedesClient, packet: Packet) => {
      if (packet.messageId !== undefined) hooks.acked(client, packet.messageId);
      return undefined;
    },
    outgoingStream: nothing,
    // Connection-local protocol state.
    incomingStorePacket: async (client: AedesClient, packet: Packet) =>
      memory.incomingStorePacket(client, packet),
    incomingGetPacket: async (client: AedesClient, packet: Packet) =>
      memory.incomingGetPacket(client, packet),
    incomingDelPacket: async (client: AedesClient, packet: Packet) =>
      memory.incomingDelPacket(client, packet),
    cleanIncoming: async (client: AedesClient) => memory.cleanIncoming(client),
    putWill: async (client: AedesClient, packet: unknown) => memory.putWill(client, packet),
    getWill: async (client: AedesClient) => memory.getWill(client),
    delWill: async (client: AedesClient) => memory.delWill(client),
    streamWill: (brokers?: unknown) => memory.streamWill(brokers),
    getClientList: nothing,
  };
}
