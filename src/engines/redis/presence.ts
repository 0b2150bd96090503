/**
 * Presence across nodes (see ../presence-store.ts). Per topic, a hash of records and a zset of
 * their expiry times, both under the topic's hash tag; plus one set of topics that have records:
 *
 *   <prefix>:{<topic>}:presence      hash  record id → record JSON
 *   <prefix>:{<topic>}:presence-exp  zset  record id scored by when it expires (ms)
 *   <prefix>:{presence}:topics       set   topics with records (for the expiry sweep)
 *
 * The topic set is in another slot (Redis Cluster), so it is kept outside the scripts: a put adds
 * the topic first, a sweep that left a topic empty removes it after. A put racing that removal is
 * listed again by its node's next heartbeat, which re-puts every record.
 *
 * Each node re-puts its own records on a heartbeat; a crashed node's records pass their expiry,
 * disappear from lists at once, and are removed by the next sweep on any node (one script per
 * topic, so each expired record is removed, and reported for its `leave`, exactly once).
 */

import type { PresenceRecord, PresenceStore } from '../presence-store.js';
import type { RedisClient } from './connection.js';
import type { KeyLayout } from './keys.js';
import { defineScripts, type LuaScript, runScript } from './scripts/define.js';

/**
 * KEYS: records hash, expiry zset (one slot). ARGV: now.
 * Returns { '1' when no record is left else '0', the removed records' JSON… }.
 */
const EXPIRE_SCRIPT: LuaScript = {
  name: 'switchboardPresenceExpire',
  keys: 2,
  lua: `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local removed = { '0' }
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[2], id)
  local record = redis.call('HGET', KEYS[1], id)
  redis.call('HDEL', KEYS[1], id)
  if record then removed[#removed + 1] = record end
end
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  removed[1] = '1'
end
return removed
`,
};

export interface RedisPresenceStore extends PresenceStore {
  attach(command: RedisClient): void;
}

export function createRedisPresenceStore(options: {
  keys: KeyLayout;
  call: <T>(what: string, operation: (redis: RedisClient) => Promise<T>) => Promise<T>;
}): RedisPresenceStore {
  const { keys, call } = options;
  const topicsKey = `${keys.family('presence')}:topics`;
  const keysOf = (topic: string) => {
    const { meta } = keys.topic(topic); // `<prefix>:{<topic>}:meta`: reuse the topic's hash tag
    const tag = meta.slice(0, -':meta'.length);
    return { records: `${tag}:presence`, expiry: `${tag}:presence-exp` };
  };
  const parse = (text: string): PresenceRecord | undefined => {
    try {
      return JSON.parse(text) as PresenceRecord;
    } catch {
      return undefined;
    }
  };

  return {
    attach(command) {
      defineScripts(command, [EXPIRE_SCRIPT]);
    },

    async putPresence(records, expiresAt) {
      if (records.length === 0) return;
      const byTopic = new Map<string, PresenceRecord[]>();
      for (const record of records) {
        const list = byTopic.get(record.topic);
        if (list) list.push(record);
        else byTopic.set(record.topic, [record]);
      }
      await call('store presence', async (r) => {
        await r.sadd(topicsKey, ...byTopic.keys());
        // One pipeline per topic (its two keys share a slot); the topics' pipelines run together.
        await Promise.all(
          [...byTopic].map(async ([topic, list]) => {
            const k = keysOf(topic);
            const replies =
              (await r
                .pipeline()
                .hset(k.records, ...list.flatMap((record) => [record.id, JSON.stringify(record)]))
                .zadd(k.expiry, ...list.flatMap((record) => [expiresAt, record.id]))
                .exec()) ?? [];
            const failed = replies.find(([error]) => error);
            if (failed) throw failed[0];
          }),
        );
      });
    },

    async removePresence(topic, id) {
      const k = keysOf(topic);
      await call('remove presence', (r) => r.pipeline().zrem(k.expiry, id).hdel(k.records, id).exec());
    },

    async listPresence(topic, now) {
      const k = keysOf(topic);
      const [records, alive] = await call('list presence', async (r) => {
        const replies =
          (await r.pipeline().hgetall(k.records).zrangebyscore(k.expiry, `(${now}`, '+inf').exec()) ?? [];
        const failed = replies.find(([error]) => error);
        if (failed) throw failed[0];
        return [replies[0]![1] as Record<string, string>, new Set(replies[1]![1] as string[])] as const;
      });
      const present: PresenceRecord[] = [];
      for (const [id, text] of Object.entries(records)) {
        if (!alive.has(id)) continue;
        const record = parse(text);
        if (record) present.push(record);
      }
      return present;
    },

    async expirePresence(now) {
      return call('expire presence', async (r) => {
        const topics = await r.smembers(topicsKey);
        if (topics.length === 0) return [];
        const replies = (await Promise.all(
          topics.map((topic) => {
            const k = keysOf(topic);
            return runScript(r, EXPIRE_SCRIPT, [k.records, k.expiry], [now]);
          }),
        )) as string[][];
        const removed: PresenceRecord[] = [];
        const empty: string[] = [];
        replies.forEach(([left, ...texts], i) => {
          if (left === '1') empty.push(topics[i] as string);
          for (const text of texts) {
            const record = parse(text);
            if (record) removed.push(record);
          }
        });
        if (empty.length > 0) await r.srem(topicsKey, ...empty);
        return removed;
      });
    },
  };
}
