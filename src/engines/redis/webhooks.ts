/**
 * Webhook delivery state, settings and leases on Redis:
 *
 *   <prefix>:{webhooks}:webhook:<id>  hash   r (the record as JSON), v (revision)
 *   <prefix>:{webhooks}:index         zset   webhook ids by creation time (registration order)
 *   <prefix>:settings         hash   server-wide settings (the generated callback secret)
 *   <prefix>:lease:<name>     string the holder, expiring with the lease (PX)
 *
 * The records and their index share one hash tag, so a create (record + index) is one script on one
 * slot in Redis Cluster; webhooks are few, so one slot holds them all. Settings and leases are
 * single keys.
 */

import type { WebhookRecord, WebhookStore } from '../webhook-store.js';
import type { RedisClient } from './connection.js';
import { LEASE_SCRIPT } from './job-scripts.js';
import { withJobScripts } from './jobs.js';
import type { KeyLayout } from './keys.js';
import { redisRecordCollection } from './records.js';
import { runScript } from './scripts/define.js';

export interface RedisWebhookAccess {
  keys: KeyLayout;
  call<T>(what: string, operation: (redis: RedisClient) => Promise<T>): Promise<T>;
}

export function createRedisWebhookStore({ keys, call }: RedisWebhookAccess): WebhookStore {
  const p = keys.prefix;
  const settings = `${p}:settings`;

  const webhooks = redisRecordCollection<WebhookRecord>({
    call,
    recordKey: (id) => `${keys.family('webhooks')}:webhook:${id}`,
    index: `${keys.family('webhooks')}:index`,
    noun: 'webhook',
  });

  return {
    createWebhook: webhooks.create,
    getWebhook: webhooks.get,
    listWebhooks: webhooks.list,
    updateWebhook: webhooks.update,
    deleteWebhook: webhooks.remove,
    ensureSetting: (name, value) =>
      call('store a setting', async (r) => {
        await r.hsetnx(settings, name, value);
        return (await r.hget(settings, name)) ?? value;
      }),
    acquireLease: (name, holder, _now, ttlMs) =>
      call('take a lease', async (r) => {
        const held = await runScript(
          withJobScripts(r),
          LEASE_SCRIPT,
          [`${p}:lease:${name}`],
          [holder, ttlMs],
        );
        return held === 1;
      }),
  };
}
