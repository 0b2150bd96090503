/**
 * Web Push subscriptions for the memory engine: one map, one synchronous step per method (so each
 * compare-and-set is atomic by construction).
 */
import type { PushSubscriptionRecord, PushSubscriptionStore } from '../push-store.js';

export function createMemoryPushStore(assertOpen: () => void): PushSubscriptionStore {
  const subscriptions = new Map<string, PushSubscriptionRecord>();
  const run = async <T>(step: () => T): Promise<T> => {
    assertOpen();
    return step();
  };
  return {
    createPushSubscription: (record) =>
      run(() => {
        if (subscriptions.has(record.id)) return false;
        subscriptions.set(record.id, { ...record });
        return true;
      }),
    getPushSubscription: (id) => run(() => (subscriptions.has(id) ? { ...subscriptions.get(id)! } : null)),
    listPushSubscriptions: () => run(() => [...subscriptions.values()].map((record) => ({ ...record }))),
    updatePushSubscription: (record, expectedRevision) =>
      run(() => {
        if (subscriptions.get(record.id)?.revision !== expectedRevision) return false;
        subscriptions.set(record.id, { ...record });
        return true;
      }),
    deletePushSubscription: (id) => run(() => subscriptions.delete(id)),
  };
}
