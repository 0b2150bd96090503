/**
 * Web Push subscriptions on Redis, laid out like webhooks (and written by the same scripts):
 *
 *   <prefix>:push:<id>             hash   r (the record as JSON), v (revision)
 *   <prefix>:push-subscriptions    zset   subscription ids by creation time (registration order)
 */
import type { PushSubscriptionRecord, PushSubscriptionStore } from '../push-store.js';
import { RECORD_CAS_SCRIPT, RECORD_CREATE_SCRIPT } from './job-scripts.js';
import { withJobScripts } from './jobs.js';
import { runScript } from './scripts/define.js';
import type { RedisWebhookAccess } from './webhooks.js';

export function createRedisPushStore({ keys, call }: RedisWebhookAccess): PushSubscriptionStore {
  const p = keys.prefix;
  const recordKey = (id: string) => `${p}:push:${id}`;
  const index = `${p}:push-subscriptions`;

  return {
    createPushSubscription: (record) =>
      call('store the push subscription', async (r) => {
        const created = await runScript(
          withJobScripts(r),
          RECORD_CREATE_SCRIPT,
          [recordKey(record.id), index],
          [record.revision, JSON.stringify(record), record.createdAt, record.id],
        );
        return created === 1;
      }),
    getPushSubscription: (id) =>
      call('read the push subscription', async (r) => {
        const text = await r.hget(recordKey(id), 'r');
        return text === null ? null : (JSON.parse(text) as PushSubscriptionRecord);
      }),
    listPushSubscriptions: () =>
      call('list push subscriptions', async (r) => {
        const ids = await r.zrange(index, 0, -1);
        if (ids.length === 0) return [];
        const pipeline = r.pipeline();
        for (const id of ids) pipeline.hget(recordKey(id), 'r');
        const records: PushSubscriptionRecord[] = [];
        for (const [error, text] of (await pipeline.exec()) ?? []) {
          if (error) throw error;
          if (typeof text === 'string') records.push(JSON.parse(text) as PushSubscriptionRecord);
        }
        return records;
      }),
    updatePushSubscription: (record, expectedRevision) =>
      call('update the push subscription', async (r) => {
        const written = await runScript(
          withJobScripts(r),
          RECORD_CAS_SCRIPT,
          [recordKey(record.id)],
          [expectedRevision, record.revision, JSON.stringify(record)],
        );
        return written === 1;
      }),
    deletePushSubscription: (id) =>
      call('delete the push subscription', async (r) => {
        const [[, removed] = [null, 0]] = (await r.multi().del(recordKey(id)).zrem(index, id).exec()) ?? [];
        return removed === 1;
      }),
  };
}
