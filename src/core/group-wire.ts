/** Group deliveries as JSON, built around the message's cached JSON (data is never re-serialized). */
import type { GroupDelivery } from '../engines/group-store.js';
import { messageJson } from './wire-json.js';

/**
 * `{…message fields…, "attempt":N}`, plus `"group"` when given (push transports name the group;
 * an HTTP claim answer already does). WebSocket: `'{"op":"message",' + groupDeliveryJson(d, g).slice(1)`.
 */
export function groupDeliveryJson(delivery: GroupDelivery, group?: string): string {
  const named = group === undefined ? '' : `,"group":"${group}"`; // group names need no escaping
  return `${messageJson(delivery.message).slice(0, -1)}${named},"attempt":${delivery.attempt}}`;
}
