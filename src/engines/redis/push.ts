/**
 * Web Push subscriptions on Redis, laid out like webhooks (and written by the same scripts):
 *
 *   <prefix>:push:<id>             hash   r (the record as JSON), v (revision)
 *   <prefix>:push-subscriptions    zset   subscription ids by creation time (registration order)
 */
import type { PushSubscriptionRecord, PushSubscriptionStore } from '../push-store.js';
import { redisRecordCollection } from './records.js';
import type { RedisWebhookAccess } from './webhooks.js';

export function createRedisPushStore({ keys, call }: RedisWebhookAccess): PushSubscriptionStore {
  const subscriptions = redisRecordCollection<PushSubscriptionRecord>({
    call,
    recordKey: (id) => `${keys.prefix}:push:${id}`,
    index: `${keys.prefix}:push-subscriptions`,
    noun: 'push subscription',
  });
  return {
    createPushSubscription: subscriptions.create,
    getPushSubscription: subscriptions.get,
    listPushSubscriptions: subscriptions.list,
    updatePushSubscription: subscriptions.update,
    deletePushSubscription: subscriptions.remove,
  };
}
