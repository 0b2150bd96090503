import { LUA_HELPERS, type LuaScript } from './define.js';

/**
 * The append step as a Lua function, shared by the append script and the group claim script (which
 * appends to the dead letter in the same atomic step). Redis scripts cannot call each other.
 *
 * appendEntries(k, topic, freshEpoch, now, windowMs, maxCount, channel, node, entries) where
 * k = { meta, log, dedupe, dedupeTimes } and entries = { { event, data, key, replyTo? }, … }
 * ('' for no event / no key; replyTo nil or '' for no inbox). Returns epoch, floor, last, outcomes (flat offset/time/duplicate triples).
 *
 * In one step: creates the log (new epoch; the caller lists it in the directory, directory.ts) on first append; answers a
 * key seen within the window with its original offset; XADDs the rest with explicit IDs
 * `<last+1>-0`, so offsets are contiguous whatever node runs the script; trims to `maxCount` and
 * records the floor; and PUBLISHes the wake-up, so other nodes hear of the append exactly when it
 * is visible to their reads. Reads come first and writes last, so a refused write (OOM) cannot
 * leave half a batch behind.
 */
export const LUA_APPEND_FUNCTION = `
local function appendEntries(k, topic, freshEpoch, now, windowMs, maxCount, channel, node, entries)
  local cutoff = tonumber(now) - tonumber(windowMs)
  local state = redis.call('HMGET', k.meta, 'epoch', 'floor', 'last')
  local epoch = state[1]
  local floor, last = tonumber(state[2]) or 0, tonumber(state[3]) or 0
  local created = false
  if not epoch then
    epoch = freshEpoch
    created = true
  end

  -- Decide every outcome before writing anything.
  local plan, outcomes, assigned = {}, {}, {}
  for _, entry in ipairs(entries) do
    local key = entry[3]
    local original = nil
    if key ~= '' then
      original = assigned[key]
      if not original and not created then
        local seen = redis.call('HGET', k.dedupe, key)
        if seen then
          local offset, time = string.match(seen, '^(%d+):(%d+)$')
          if tonumber(time) >= cutoff then original = { offset, time } end
        end
      end
    end
    if original then
      outcomes[#outcomes + 1] = original[1]
      outcomes[#outcomes + 1] = original[2]
      outcomes[#outcomes + 1] = 1
    else
      last = last + 1
      plan[#plan + 1] = { last, entry[1], entry[2], key, entry[4] }
      if key ~= '' then assigned[key] = { int(last), now } end
      outcomes[#outcomes + 1] = int(last)
      outcomes[#outcomes + 1] = now
      outcomes[#outcomes + 1] = 0
    end
  end

  if #plan > 0 then
    if created then
      -- Leftovers of a log whose meta vanished (evicted) would collide with the new offsets.
      redis.call('DEL', k.log, k.dedupe, k.dedupeTimes)
      redis.call('HSET', k.meta, 'epoch', epoch, 'floor', '0')
    end
    for _, item in ipairs(plan) do
      local fields = { 't', now, 'd', item[3] }
      if item[2] ~= '' then
        fields[#fields + 1] = 'e'
        fields[#fields + 1] = item[2]
      end
      -- A request's inbox (request-reply); absent on every other entry.
      if item[5] and item[5] ~= '' then
        fields[#fields + 1] = 'r'
        fields[#fields + 1] = item[5]
      end
      redis.call('XADD', k.log, entryId(item[1]), unpack(fields))
      if item[4] ~= '' then
        redis.call('HSET', k.dedupe, item[4], int(item[1]) .. ':' .. now)
        redis.call('ZADD', k.dedupeTimes, now, item[4])
      end
    end
    if last - floor > maxCount then
      -- Count retention: one HSET records both the new end and the new floor.
      floor = last - maxCount
      redis.call('XTRIM', k.log, 'MINID', entryId(floor + 1))
      redis.call('HSET', k.meta, 'last', int(last), 'floor', int(floor))
    else
      redis.call('HSET', k.meta, 'last', int(last))
    end
    redis.call('PUBLISH', channel,
      '{"node":"' .. node .. '","topic":"' .. topic .. '","epoch":"' .. epoch .. '","last":' .. int(last) .. '}')
  end
  return epoch, floor, last, outcomes
end
`;

/**
 * Appends one atomic batch to a topic log.
 *
 * KEYS: meta, log, dedupe, dedupeTimes (one slot: the topic's hash tag)
 * ARGV: topic, freshEpoch, now, dedupeWindowMs, maxCount, channel, node, count,
 *       then per entry: event ('' for none), data, idempotencyKey ('' for none), replyTo ('' for none)
 * Returns: { epoch, floor, last, offset1, time1, dup1, offset2, … } (strings, dup 0/1)
 */
export const APPEND_SCRIPT: LuaScript = {
  name: 'switchboardAppend',
  keys: 4,
  lua: `${LUA_HELPERS}${LUA_APPEND_FUNCTION}
local k = { meta = KEYS[1], log = KEYS[2], dedupe = KEYS[3], dedupeTimes = KEYS[4] }
local entries = {}
for i = 0, tonumber(ARGV[8]) - 1 do
  entries[#entries + 1] = { ARGV[9 + i * 4], ARGV[10 + i * 4], ARGV[11 + i * 4], ARGV[12 + i * 4] }
end
local epoch, floor, last, outcomes =
  appendEntries(k, ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7], entries)
local reply = { epoch, int(floor), int(last) }
for _, value in ipairs(outcomes) do reply[#reply + 1] = value end
return reply
`,
};
