/**
 * Web Push subscriptions on Redis, laid out like webhooks (and written by the same scripts):
 *
 *   <prefix>:{push}:push:<id>   hash   r (the record as JSON), v (revision)
 *   <prefix>:{push}:index       zset   subscription ids by creation time (registration order)
 * (one hash tag: a create is one script on one slot in Redis Cluster)
 */
import type { PushSubscriptionRecord, PushSubscriptionStore } from '../push-store.js';
import { redisRecordCollection } from './records.js';
import type { RedisWebhookAccess } from './webhooks.js';

export function createRedisPushStore({ keys, call }: RedisWebhookAccess): PushSubscriptionStore {
  const subscriptions = redisRecordCollection<PushSubscriptionRecord>({
    call,
    recordKey: (id) => `${keys.family('push')}:push:${id}`,
    index: `${keys.family('push')}:index`,
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
