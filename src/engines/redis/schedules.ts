/**
 * Scheduled messages on Redis. Each schedule lives beside its topic, under the topic's hash tag, so
 * its delivery is one script on one slot in Redis Cluster:
 *
 *   <topic keys>:scheduled              zset   the topic's pending ids by due time (ties: by id)
 *   <topic keys>:scheduled-data         hash   id → the schedule as JSON
 *   <topic keys>:scheduled-key:<key>    string "<id>|<deliverAt>", expiring with the dedupe window
 *   <prefix>:{scheduled}:due            zset   every pending id by due time: the index the scheduler scans
 *   <prefix>:{scheduled}:topic          hash   id → topic (where an id's schedule lives)
 *
 * Delivery is one script on the topic's slot: it appends through the engine's own Lua append step
 * and removes the schedule in the same atomic step, and answers nothing when the schedule is already
 * gone. So every node may look for due messages, and each is appended exactly once.
 *
 * The index is kept in a second step (it lives in another slot) and is only a hint: a schedule is
 * written first and indexed after, and unindexed after it is delivered or canceled. An index entry
 * whose schedule is gone (a node died between the steps) is dropped by the next scan; a schedule
 * whose node died before indexing it was never acknowledged.
 */

import type { ScheduledMessage, ScheduleStore } from '../schedule-store.js';
import type { RedisClient } from './connection.js';
import type { TopicDirectory } from './directory.js';
import type { KeyLayout } from './keys.js';
import { toAppendResult } from './messages.js';
import { LUA_APPEND_FUNCTION } from './scripts/append.js';
import { defineScripts, LUA_HELPERS, type LuaScript, runScript } from './scripts/define.js';

export interface RedisScheduleAccess {
  keys: KeyLayout;
  nodeId: string;
  call<T>(what: string, operation: (redis: RedisClient) => Promise<T>): Promise<T>;
  /** Lists a topic before a script may create its log (directory.ts). */
  directory: TopicDirectory;
  newEpoch(): string;
  emitAppended(topic: string, last: number): void;
}

/**
 * KEYS: topicIds, data, key (one slot) ARGV: id, deliverAt, record JSON, dedupeWindowMs, hasKey
 * Returns { id, deliverAt, duplicate (0/1) }.
 */
const ADD_SCRIPT: LuaScript = {
  name: 'switchboardScheduleAdd',
  keys: 3,
  lua: `
if ARGV[5] == '1' then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    local id, at = string.match(seen, '^(.+)|(%d+)$')
    return { id, at, 1 }
  end
  if tonumber(ARGV[4]) > 0 then
    redis.call('SET', KEYS[3], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[4])
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return { ARGV[1], ARGV[2], 0 }
`,
};

/**
 * KEYS: topicIds, data, meta, log, dedupe, dedupeTimes (one slot: the topic's tag)
 * ARGV: id, topic, freshEpoch, now, dedupeWindowMs, maxCount, channel, node
 * Returns the append script's reply, or {} when the schedule is gone.
 */
const DELIVER_SCRIPT: LuaScript = {
  name: 'switchboardScheduleDeliver',
  keys: 6,
  lua: `${LUA_HELPERS}${LUA_APPEND_FUNCTION}
local text = redis.call('HGET', KEYS[2], ARGV[1])
if not text then return {} end
local record = cjson.decode(text)
if record.topic ~= ARGV[2] then return {} end
local event = record.event
if type(event) ~= 'string' then event = '' end
local k = { meta = KEYS[3], log = KEYS[4], dedupe = KEYS[5], dedupeTimes = KEYS[6] }
local epoch, floor, last, outcomes = appendEntries(k, ARGV[2], ARGV[3], ARGV[4], ARGV[5],
  tonumber(ARGV[6]), ARGV[7], ARGV[8], { { event, record.data, '', '' } })
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
local reply = { epoch, int(floor), int(last) }
for _, value in ipairs(outcomes) do reply[#reply + 1] = value end
return reply
`,
};

/** KEYS: topicIds, data ARGV: id. Returns 1 when it was pending. */
const CANCEL_SCRIPT: LuaScript = {
  name: 'switchboardScheduleCancel',
  keys: 2,
  lua: `
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`,
};

const SCHEDULE_SCRIPTS = [ADD_SCRIPT, DELIVER_SCRIPT, CANCEL_SCRIPT];
const defined = new WeakSet<RedisClient>();
function withScheduleScripts(redis: RedisClient): RedisClient {
  if (!defined.has(redis)) {
    defineScripts(redis, SCHEDULE_SCRIPTS);
    defined.add(redis);
  }
  return redis;
}

interface StoredSchedule {
  id: string;
  topic: string;
  deliverAt: number;
  createdAt: number;
  event?: string;
  data: string;
  key?: string;
}

const toJson = (message: ScheduledMessage): string => {
  const stored: StoredSchedule = {
    id: message.id,
    topic: message.topic,
    deliverAt: message.deliverAt,
    createdAt: message.createdAt,
    data: message.data,
  };
  if (message.event !== undefined) stored.event = message.event;
  if (message.idempotencyKey !== undefined) stored.key = message.idempotencyKey;
  return JSON.stringify(stored);
};

const fromJson = (text: string): ScheduledMessage => {
  const stored = JSON.parse(text) as StoredSchedule;
  return {
    id: stored.id,
    topic: stored.topic,
    deliverAt: stored.deliverAt,
    createdAt: stored.createdAt,
    event: stored.event,
    data: stored.data,
    idempotencyKey: stored.key,
  };
};

export function createRedisScheduleStore(access: RedisScheduleAccess): ScheduleStore {
  const { keys, call, nodeId } = access;
  const index = `${keys.family('scheduled')}:due`;
  const topicOf = `${keys.family('scheduled')}:topic`;
  const topicKeys = (topic: string) => {
    const base = keys.topic(topic).meta.slice(0, -':meta'.length);
    return {
      ids: `${base}:scheduled`,
      data: `${base}:scheduled-data`,
      key: (k: string) => `${base}:scheduled-key:${k}`,
    };
  };

  /** Drops index entries whose schedule is gone (delivered or canceled; see the header). */
  const unindex = async (r: RedisClient, ids: string[]): Promise<void> => {
    if (ids.length === 0) return;
    await Promise.all([r.zrem(index, ...ids), r.hdel(topicOf, ...ids)]);
  };

  /** The schedules of `ids`, in the given order; ids whose schedule is gone are unindexed. */
  const records = async (r: RedisClient, ids: string[]): Promise<ScheduledMessage[]> => {
    if (ids.length === 0) return [];
    const topics = await r.hmget(topicOf, ...ids);
    const texts = await Promise.all(
      ids.map((id, i) => {
        const topic = topics[i];
        return topic ? r.hget(topicKeys(topic).data, id) : Promise.resolve(null);
      }),
    );
    const gone = ids.filter((_, i) => texts[i] === null);
    await unindex(r, gone);
    return texts.filter((text): text is string => text !== null).map(fromJson);
  };

  const find = async (r: RedisClient, id: string): Promise<ScheduledMessage | null> => {
    const topic = await r.hget(topicOf, id);
    if (topic === null) return null;
    const text = await r.hget(topicKeys(topic).data, id);
    return text === null ? null : fromJson(text);
  };

  return {
    addScheduled: (message, dedupeWindowMs) =>
      call('store the scheduled message', async (r) => {
        const key = message.idempotencyKey;
        const t = topicKeys(message.topic);
        const reply = (await runScript(
          withScheduleScripts(r),
          ADD_SCRIPT,
          [t.ids, t.data, t.key(key ?? '')],
          [message.id, message.deliverAt, toJson(message), dedupeWindowMs, key === undefined ? 0 : 1],
        )) as [string, string | number, number];
        const duplicate = reply[2] === 1;
        // Indexed after it is stored, so a scan never drops a schedule that is being added.
        if (!duplicate) {
          await r.hset(topicOf, message.id, message.topic);
          await r.zadd(index, message.deliverAt, message.id);
        }
        return { id: reply[0], deliverAt: Number(reply[1]), duplicate };
      }),
    getScheduled: (id) => call('read the scheduled message', (r) => find(r, id)),
    listScheduled: (topic, limit) =>
      call('list scheduled messages', async (r) => {
        const t = topicKeys(topic);
        const ids = await r.zrange(t.ids, 0, limit - 1);
        if (ids.length === 0) return [];
        const texts = await r.hmget(t.data, ...ids);
        return texts.filter((text): text is string => text !== null).map(fromJson);
      }),
    dueScheduled: (now, limit) =>
      call('read due scheduled messages', async (r) =>
        records(r, await r.zrangebyscore(index, '-inf', now, 'LIMIT', 0, limit)),
      ),
    nextScheduledAt: () =>
      call('read the next due time', async (r) => {
        const first = await r.zrange(index, 0, 0, 'WITHSCORES');
        return first.length < 2 ? null : Number(first[1]);
      }),
    countScheduled: () => call('count scheduled messages', (r) => r.zcard(index)),
    cancelScheduled: (id) =>
      call('cancel the scheduled message', async (r) => {
        const found = await find(r, id);
        if (found === null) return false;
        const t = topicKeys(found.topic);
        const canceled =
          (await runScript(withScheduleScripts(r), CANCEL_SCRIPT, [t.ids, t.data], [id])) === 1;
        await unindex(r, [id]);
        return canceled;
      }),
    deliverScheduled: ({ id, topic, now, dedupeWindowMs, retention }) =>
      call('append the scheduled message (it stays scheduled unless appended)', async (r) => {
        const k = keys.topic(topic);
        const t = topicKeys(topic);
        await access.directory.ensure(r, topic);
        const reply = (await runScript(
          withScheduleScripts(r),
          DELIVER_SCRIPT,
          [t.ids, t.data, k.meta, k.log, k.dedupe, k.dedupeTimes],
          [
            id,
            topic,
            access.newEpoch(),
            now,
            dedupeWindowMs,
            retention.maxCount,
            keys.appendedChannel,
            nodeId,
          ],
        )) as Array<string | number>;
        // Appended now or before (by another node): either way it no longer belongs in the index.
        await unindex(r, [id]);
        if (reply.length === 0) return null;
        const result = toAppendResult(reply);
        access.emitAppended(topic, result.last);
        return result;
      }),
  };
}
