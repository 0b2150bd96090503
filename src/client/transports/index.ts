/**
 * The transport table. Fallback order is data, not an if/else chain (engine.io's
 * `transports/index.ts`): the client tries `DEFAULT_TRANSPORTS` in order, or the list the caller
 * passes (one name forces that transport).
 */
import { longPollTransport, shortPollTransport } from './poll.js';
import { sseTransport } from './sse.js';
import type { TransportFactory, TransportName } from './types.js';
import { websocketTransport } from './websocket.js';

export const TRANSPORTS: Readonly<Record<TransportName, TransportFactory>> = {
  websocket: websocketTransport,
  sse: sseTransport,
  longpoll: longPollTransport,
  poll: shortPollTransport,
};

/** Best first: push with ops both ways, push one way, held requests, requests on a timer. */
export const DEFAULT_TRANSPORTS: readonly TransportName[] = ['websocket', 'sse', 'longpoll', 'poll'];

export type { GroupDelivery, Transport, TransportFactory, TransportName } from './types.js';
