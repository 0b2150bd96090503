/**
 * Scheduled messages for the memory engine: a map by id, an array kept in due order (binary
 * insertion), and the idempotency keys in creation order (so expired ones leave from the front).
 * Every step is synchronous, so delivering is append + forget with nothing in between.
 */
import type { AppendRequest, AppendResult } from '../engine.js';
import type { ScheduledMessage, ScheduleStore } from '../schedule-store.js';

export interface MemoryScheduleAccess {
  append(request: AppendRequest): AppendResult;
  assertOpen(): void;
}

interface KeyRecord {
  id: string;
  deliverAt: number;
  createdAt: number;
}

export const dueOrder = (a: ScheduledMessage, b: ScheduledMessage): number =>
  a.deliverAt - b.deliverAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function createMemoryScheduleStore({ append, assertOpen }: MemoryScheduleAccess): ScheduleStore {
  const byId = new Map<string, ScheduledMessage>();
  const ordered: ScheduledMessage[] = [];
  const keys = new Map<string, KeyRecord>();
  const run = async <T>(step: () => T): Promise<T> => {
    assertOpen();
    return step();
  };

  const insert = (message: ScheduledMessage): void => {
    let low = 0;
    let high = ordered.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (dueOrder(ordered[middle]!, message) < 0) low = middle + 1;
      else high = middle;
    }
    ordered.splice(low, 0, message);
  };

  const remove = (id: string): ScheduledMessage | undefined => {
    const message = byId.get(id);
    if (!message) return undefined;
    byId.delete(id);
    // Due deliveries take from the front, so this is usually index 0.
    const index = ordered[0]?.id === id ? 0 : ordered.findIndex((m) => m.id === id);
    if (index === 0) ordered.shift();
    else if (index > 0) ordered.splice(index, 1);
    return message;
  };

  const forgetKeysBefore = (cutoff: number): void => {
    for (const [name, record] of keys) {
      if (record.createdAt >= cutoff) break;
      keys.delete(name);
    }
  };

  return {
    addScheduled: (message, dedupeWindowMs) =>
      run(() => {
        forgetKeysBefore(message.createdAt - dedupeWindowMs);
        const keyName =
          message.idempotencyKey === undefined ? undefined : `${message.topic}\n${message.idempotencyKey}`;
        const seen = keyName === undefined ? undefined : keys.get(keyName);
        if (seen) return { id: seen.id, deliverAt: seen.deliverAt, duplicate: true };
        const stored = { ...message };
        byId.set(stored.id, stored);
        insert(stored);
        if (keyName !== undefined) {
          keys.set(keyName, { id: stored.id, deliverAt: stored.deliverAt, createdAt: stored.createdAt });
        }
        return { id: stored.id, deliverAt: stored.deliverAt, duplicate: false };
      }),
    getScheduled: (id) => run(() => (byId.has(id) ? { ...byId.get(id)! } : null)),
    listScheduled: (topic, limit) =>
      run(() => {
        const found: ScheduledMessage[] = [];
        for (const message of ordered) {
          if (found.length >= limit) break;
          if (message.topic === topic) found.push({ ...message });
        }
        return found;
      }),
    dueScheduled: (now, limit) =>
      run(() => {
        const found: ScheduledMessage[] = [];
        for (const message of ordered) {
          if (found.length >= limit || message.deliverAt > now) break;
          found.push({ ...message });
        }
        return found;
      }),
    nextScheduledAt: () => run(() => ordered[0]?.deliverAt ?? null),
    countScheduled: () => run(() => byId.size),
    cancelScheduled: (id) => run(() => remove(id) !== undefined),
    deliverScheduled: ({ id, topic, now, dedupeWindowMs, retention }) =>
      run(() => {
        const message = byId.get(id);
        if (!message || message.topic !== topic) return null;
        remove(id);
        return append({
          topic,
          entries: [{ event: message.event, data: message.data }],
          now,
          dedupeWindowMs,
          retention,
        });
      }),
  };
}
