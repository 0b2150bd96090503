/**
 * Webhook delivery state, settings and leases for the memory engine: plain maps, one synchronous
 * step per method (so each compare-and-set is atomic by construction).
 */
import type { WebhookRecord, WebhookStore } from '../webhook-store.js';

export function createMemoryWebhookStore(assertOpen: () => void): WebhookStore {
  const webhooks = new Map<string, WebhookRecord>();
  const settings = new Map<string, string>();
  const leases = new Map<string, { holder: string; until: number }>();
  const run = async <T>(step: () => T): Promise<T> => {
    assertOpen();
    return step();
  };

  return {
    createWebhook: (record) =>
      run(() => {
        if (webhooks.has(record.id)) return false;
        webhooks.set(record.id, { ...record });
        return true;
      }),
    getWebhook: (id) => run(() => (webhooks.has(id) ? { ...webhooks.get(id)! } : null)),
    listWebhooks: () => run(() => [...webhooks.values()].map((record) => ({ ...record }))),
    updateWebhook: (record, expectedRevision) =>
      run(() => {
        if (webhooks.get(record.id)?.revision !== expectedRevision) return false;
        webhooks.set(record.id, { ...record });
        return true;
      }),
    deleteWebhook: (id) => run(() => webhooks.delete(id)),
    ensureSetting: (name, value) =>
      run(() => {
        if (!settings.has(name)) settings.set(name, value);
        return settings.get(name)!;
      }),
    acquireLease: (name, holder, now, ttlMs) =>
      run(() => {
        const lease = leases.get(name);
        if (lease && lease.holder !== holder && lease.until > now) return false;
        leases.set(name, { holder, until: now + ttlMs });
        return true;
      }),
  };
}
