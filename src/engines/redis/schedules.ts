/**
 * Scheduled messages on Redis. Key layout (beside the engine's own, same prefix):
 *
 *   <prefix>:scheduled                    zset   pending schedule ids by due time (ties: by id)
 *   <prefix>:scheduled-data               hash   id → the schedule as JSON
 *   <prefix>:scheduled-topic:<topic>      zset   one topic's pending ids by due time (for listing)
 *   <prefix>:scheduled-key:<topic>:<key>  string "<id>|<deliverAt>", expiring with the dedupe window
 *
 * Delivery is one script: it appends through the engine's own Lua append step and removes the
 * schedule in the same atomic step, and answers nothing when the schedule is already gone. So every
 * node may look for due messages, and each is appended exactly once. Like the jobs' keys these carry
 * no hash tag: they assume one Redis (docs/scaling.md).
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
 * KEYS: all, data, topicIds, key ARGV: id, deliverAt, record JSON, dedupeWindowMs, hasKey
 * Returns { id, deliverAt, duplicate (0/1) }.
 */
const ADD_SCRIPT: LuaScript = {
  name: 'switchboardScheduleAdd',
  keys: 4,
  lua: `
if ARGV[5] == '1' then
  local seen = redis.call('GET', KEYS[4])
  if seen then
    local id, at = string.match(seen, '^(.+)|(%d+)$')
    return { id, at, 1 }
  end
  if tonumber(ARGV[4]) > 0 then
    redis.call('SET', KEYS[4], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[4])
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return { ARGV[1], ARGV[2], 0 }
`,
};

/**
 * KEYS: all, data, topicIds, meta, log, dedupe, dedupeTimes, topics
 * ARGV: id, topic, freshEpoch, now, dedupeWindowMs, maxCount, channel, node
 * Returns the append script's reply, or {} when the schedule is gone.
 */
const DELIVER_SCRIPT: LuaScript = {
  name: 'switchboardScheduleDeliver',
  keys: 8,
  lua: `${LUA_HELPERS}${LUA_APPEND_FUNCTION}
local text = redis.call('HGET', KEYS[2], ARGV[1])
if not text then return {} end
local record = cjson.decode(text)
if record.topic ~= ARGV[2] then return {} end
local event = record.event
if type(event) ~= 'string' then event = '' end
local k = { meta = KEYS[4], log = KEYS[5], dedupe = KEYS[6], dedupeTimes = KEYS[7], topics = KEYS[8] }
local epoch, floor, last, outcomes = appendEntries(k, ARGV[2], ARGV[3], ARGV[4], ARGV[5],
  tonumber(ARGV[6]), ARGV[7], ARGV[8], { { event, record.data, '', '' } })
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local reply = { epoch, int(floor), int(last) }
for _, value in ipairs(outcomes) do reply[#reply + 1] = value end
return reply
`,
};

/** KEYS: all, data, topicIds ARGV: id. Returns 1 when it was pending. */
const CANCEL_SCRIPT: LuaScript = {
  name: 'switchboardScheduleCancel',
  keys: 3,
  lua: `
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
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
  const p = keys.prefix;
  const all = `${p}:scheduled`;
  const data = `${p}:scheduled-data`;
  const topicIds = (topic: string) => `${p}:scheduled-topic:${topic}`;
  const keyOf = (topic: string, key: string) => `${p}:scheduled-key:${topic}:${key}`;

  const records = async (r: RedisClient, ids: string[]): Promise<ScheduledMessage[]> => {
    if (ids.length === 0) return [];
    const texts = await r.hmget(data, ...ids);
    // An id whose record vanished between the two reads was delivered or canceled meanwhile.
    return texts.filter((text): text is string => text !== null).map(fromJson);
  };

  return {
    addScheduled: (message, dedupeWindowMs) =>
      call('store the scheduled message', async (r) => {
        const key = message.idempotencyKey;
        const reply = (await runScript(
          withScheduleScripts(r),
          ADD_SCRIPT,
          [all, data, topicIds(message.topic), keyOf(message.topic, key ?? '')],
          [message.id, message.deliverAt, toJson(message), dedupeWindowMs, key === undefined ? 0 : 1],
        )) as [string, string | number, number];
        return { id: reply[0], deliverAt: Number(reply[1]), duplicate: reply[2] === 1 };
      }),
    getScheduled: (id) =>
      call('read the scheduled message', async (r) => {
        const text = await r.hget(data, id);
        return text === null ? null : fromJson(text);
      }),
    listScheduled: (topic, limit) =>
      call('list scheduled messages', async (r) => records(r, await r.zrange(topicIds(topic), 0, limit - 1))),
    dueScheduled: (now, limit) =>
      call('read due scheduled messages', async (r) =>
        records(r, await r.zrangebyscore(all, '-inf', now, 'LIMIT', 0, limit)),
      ),
    nextScheduledAt: () =>
      call('read the next due time', async (r) => {
        const first = await r.zrange(all, 0, 0, 'WITHSCORES');
        return first.length < 2 ? null : Number(first[1]);
      }),
    countScheduled: () => call('count scheduled messages', (r) => r.zcard(all)),
    cancelScheduled: (id) =>
      call('cancel the scheduled message', async (r) => {
        const text = await r.hget(data, id);
        if (text === null) return false;
        const { topic } = fromJson(text);
        return (
          (await runScript(withScheduleScripts(r), CANCEL_SCRIPT, [all, data, topicIds(topic)], [id])) === 1
        );
      }),
    deliverScheduled: ({ id, topic, now, dedupeWindowMs, retention }) =>
      call('append the scheduled message (it stays scheduled unless appended)', async (r) => {
        const k = keys.topic(topic);
        await access.directory.ensure(r, topic);
        const reply = (await runScript(
          withScheduleScripts(r),
          DELIVER_SCRIPT,
          [all, data, topicIds(topic), k.meta, k.log, k.dedupe, k.dedupeTimes, k.meta], // 8th: was the topic set
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
        if (reply.length === 0) return null;
        const result = toAppendResult(reply);
        access.emitAppended(topic, result.last);
        return result;
      }),
  };
}
