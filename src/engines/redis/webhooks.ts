/**
 * Webhook delivery state, settings and leases on Redis:
 *
 *   <prefix>:webhook:<id>     hash   r (the record as JSON), v (revision)
 *   <prefix>:webhooks         zset   webhook ids by creation time (registration order)
 *   <prefix>:settings         hash   server-wide settings (the generated callback secret)
 *   <prefix>:lease:<name>     string the holder, expiring with the lease (PX)
 */
import type { Redis } from 'ioredis';
import type { WebhookRecord, WebhookStore } from '../webhook-store.js';
import { LEASE_SCRIPT, RECORD_CAS_SCRIPT, RECORD_CREATE_SCRIPT } from './job-scripts.js';
import { withJobScripts } from './jobs.js';
import type { KeyLayout } from './keys.js';
import { runScript } from './scripts/define.js';

export interface RedisWebhookAccess {
  keys: KeyLayout;
  call<T>(what: string, operation: (redis: Redis) => Promise<T>): Promise<T>;
}

export function createRedisWebhookStore({ keys, call }: RedisWebhookAccess): WebhookStore {
  const p = keys.prefix;
  const recordKey = (id: string) => `${p}:webhook:${id}`;
  const index = `${p}:webhooks`;
  const settings = `${p}:settings`;

  return {
    createWebhook: (record) =>
      call('store the webhook', async (r) => {
        const created = await runScript(
          withJobScripts(r),
          RECORD_CREATE_SCRIPT,
          [recordKey(record.id), index],
          [record.revision, JSON.stringify(record), record.createdAt, record.id],
        );
        return created === 1;
      }),
    getWebhook: (id) =>
      call('read the webhook', async (r) => {
        const text = await r.hget(recordKey(id), 'r');
        return text === null ? null : (JSON.parse(text) as WebhookRecord);
      }),
    listWebhooks: () =>
      call('list webhooks', async (r) => {
        const ids = await r.zrange(index, 0, -1);
        if (ids.length === 0) return [];
        const pipeline = r.pipeline();
        for (const id of ids) pipeline.hget(recordKey(id), 'r');
        const replies = (await pipeline.exec()) ?? [];
        const records: WebhookRecord[] = [];
        for (const [error, text] of replies) {
          if (error) throw error;
          if (typeof text === 'string') records.push(JSON.parse(text) as WebhookRecord);
        }
        return records;
      }),
    updateWebhook: (record, expectedRevision) =>
      call('update the webhook', async (r) => {
        const written = await runScript(
          withJobScripts(r),
          RECORD_CAS_SCRIPT,
          [recordKey(record.id)],
          [expectedRevision, record.revision, JSON.stringify(record)],
        );
        return written === 1;
      }),
    deleteWebhook: (id) =>
      call('delete the webhook', async (r) => {
        const [[, removed] = [null, 0]] = (await r.multi().del(recordKey(id)).zrem(index, id).exec()) ?? [];
        return removed === 1;
      }),
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
