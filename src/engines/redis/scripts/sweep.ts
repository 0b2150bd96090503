import { LUA_HELPERS, type LuaScript } from './define.js';

/**
 * Age retention and dedupe-window expiry for one topic.
 *
 * KEYS: meta, log, dedupe, dedupeTimes
 * ARGV: oldestKeptTime (now - maxAgeMs), oldestKeptKeyTime (now - dedupeWindowMs)
 * Returns: the floor after the sweep (0 when the topic has no log).
 *
 * The newest expired message is found by binary search over offsets (one XRANGE of a single ID per
 * step), which assumes times never decrease along the log. Within one node they cannot; across
 * nodes they can by the clock skew between nodes, which only moves an expiry by that much.
 * Dedupe keys are forgotten in slices, so one sweep never builds a huge reply inside Redis.
 */
export const SWEEP_SCRIPT: LuaScript = {
  name: 'switchboardSweep',
  keys: 4,
  lua: `${LUA_HELPERS}
local meta, log, dedupe, dedupeTimes = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local oldestKept, oldestKey = tonumber(ARGV[1]), ARGV[2]

local expiredKeys = redis.call('ZRANGEBYSCORE', dedupeTimes, '-inf', '(' .. oldestKey, 'LIMIT', 0, 1000)
while #expiredKeys > 0 do
  redis.call('HDEL', dedupe, unpack(expiredKeys))
  redis.call('ZREM', dedupeTimes, unpack(expiredKeys))
  expiredKeys = redis.call('ZRANGEBYSCORE', dedupeTimes, '-inf', '(' .. oldestKey, 'LIMIT', 0, 1000)
end

local state = redis.call('HMGET', meta, 'floor', 'last')
if not state[2] then return 0 end
local floor, last = tonumber(state[1]) or 0, tonumber(state[2])

local function timeOf(offset)
  local entry = redis.call('XRANGE', log, entryId(offset), entryId(offset))[1]
  if not entry then return nil end
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 't' then return tonumber(fields[i + 1]) end
  end
  return nil
end

local low, high, newestExpired = floor + 1, last, floor
while low <= high do
  local middle = math.floor((low + high) / 2)
  local time = timeOf(middle)
  if time == nil or time < oldestKept then
    newestExpired = middle
    low = middle + 1
  else
    high = middle - 1
  end
end
if newestExpired > floor then
  redis.call('XTRIM', log, 'MINID', entryId(newestExpired + 1))
  redis.call('HSET', meta, 'floor', int(newestExpired))
  floor = newestExpired
end
return floor
`,
};
