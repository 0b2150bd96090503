/**
 * Lua shared by the consumer-group scripts: the same steps as `../../group-logic.ts` (which memory
 * and SQLite run), over the keys listed in `../keys.ts`. Each script that includes these runs as
 * one atomic step, so every node sees a group's cursor and leases change all at once.
 *
 * A pending entry is the string "attempts|dueAt|member|errorJson": member '' means released (nacked
 * or its member left), errorJson '' means no error yet. Member names cannot contain '|', and the
 * error's JSON text comes last, so it may.
 *
 * Callers define `g` = { record, pending, due, offsets, members } and `meta`/`log` of the topic.
 */
export const LUA_GROUP_HELPERS = `
local function decodeEntry(text)
  local attempts, dueAt, member, err = string.match(text, '^(%d+)|(%-?%d+)|([^|]*)|(.*)$')
  return { attempts = tonumber(attempts), dueAt = dueAt, member = member, error = err }
end

local function putEntry(g, offset, entry)
  local id = int(offset)
  redis.call('HSET', g.pending, id,
    int(entry.attempts) .. '|' .. entry.dueAt .. '|' .. entry.member .. '|' .. entry.error)
  redis.call('ZADD', g.due, entry.dueAt, id)
  redis.call('ZADD', g.offsets, offset, id)
end

local function deleteEntry(g, offset)
  local id = int(offset)
  redis.call('HDEL', g.pending, id)
  redis.call('ZREM', g.due, id)
  redis.call('ZREM', g.offsets, id)
end

local function loadGroup(g)
  local f = redis.call('HMGET', g.record, 'start', 'maxAttempts', 'createdAt', 'epoch', 'origin',
    'cursor', 'deadLettered')
  if not f[1] then return nil end
  return { start = f[1], maxAttempts = tonumber(f[2]), createdAt = f[3], epoch = f[4] or '',
    origin = tonumber(f[5]) or 0, cursor = tonumber(f[6]) or 0, deadLettered = tonumber(f[7]) or 0 }
end

local function logState(meta)
  local s = redis.call('HMGET', meta, 'epoch', 'floor', 'last')
  return { epoch = s[1] or '', floor = tonumber(s[2]) or 0, last = tonumber(s[3]) or 0 }
end

-- A group whose cursor belongs to a deleted (maybe recreated) log starts over on the current one:
-- the old offsets now name other messages, so old leases and the cursor mean nothing.
local function syncEpoch(g, record, meta)
  local log = logState(meta)
  if record.epoch == log.epoch then return log end
  if record.epoch ~= '' then
    record.cursor = 0
    record.origin = 0
    redis.call('DEL', g.pending, g.due, g.offsets)
  end
  record.epoch = log.epoch
  redis.call('HSET', g.record, 'epoch', record.epoch, 'cursor', int(record.cursor),
    'origin', int(record.origin))
  return log
end

-- Highest offset such that everything up to it is acked, dead-lettered or trimmed.
local function committedOf(g, record, log)
  local lowest = redis.call('ZRANGE', g.offsets, 0, 0)[1]
  if lowest then return tonumber(lowest) - 1 end
  return math.max(record.cursor, log.floor)
end

-- The stream entry's fields { 't', time, 'd', data [, 'e', event] }, or nil once trimmed.
local function messageFields(log, offset)
  local found = redis.call('XRANGE', log, entryId(offset), entryId(offset))[1]
  if found then return found[2] end
  return nil
end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end
`;
