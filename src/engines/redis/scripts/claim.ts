import { LUA_APPEND_FUNCTION } from './append.js';
import { LUA_HELPERS, type LuaScript } from './define.js';
import { LUA_GROUP_HELPERS } from './group-lua.js';

/**
 * Claim with lease: redeliveries first (due entries, oldest offset first), then new offsets after
 * the cursor, each leased to `member` until now + leaseMs. An entry out of attempts moves to the
 * dead-letter topic in the same step (the shared append function keeps its offsets contiguous);
 * a dead-letter topic shares its base topic's hash tag, so this stays one slot in Redis Cluster.
 *
 * KEYS: record, pending, due, offsets, members, meta, log,
 *       dlMeta, dlLog, dlDedupe, dlDedupeTimes (without a dead letter: any keys of the
 *       same slot, unused)
 * ARGV: member, recordMember (1/0), max, leaseMs, now, forgetMembersBefore,
 *       hasDeadLetter (1/0), dlTopic, dlMaxCount, dlWindowMs, freshEpoch, channel, node,
 *       topicJson, groupJson
 * Returns: nil without the group, else
 *   { last, nextDueAt or '', dlLast or '', { deadLetteredOffset… }, { { offset, attempt, leaseEnd, fields }… } }
 */
export const CLAIM_SCRIPT: LuaScript = {
  name: 'switchboardClaim',
  keys: 11,
  lua: `${LUA_HELPERS}${LUA_APPEND_FUNCTION}${LUA_GROUP_HELPERS}
local g = { record = KEYS[1], pending = KEYS[2], due = KEYS[3], offsets = KEYS[4], members = KEYS[5] }
local meta, log = KEYS[6], KEYS[7]
local dl = { meta = KEYS[8], log = KEYS[9], dedupe = KEYS[10], dedupeTimes = KEYS[11] }
local member, max, now = ARGV[1], tonumber(ARGV[3]), ARGV[5]
local leaseEnd = int(tonumber(now) + tonumber(ARGV[4]))

local record = loadGroup(g)
if not record then return false end
local state = syncEpoch(g, record, meta)

if ARGV[2] == '1' then
  -- Like SQLite, skip the write when the member was seen within the last second.
  local seen = tonumber(redis.call('ZSCORE', g.members, member))
  if not seen or seen < tonumber(now) - 1000 then redis.call('ZADD', g.members, now, member) end
  redis.call('ZREMRANGEBYSCORE', g.members, '-inf', '(' .. ARGV[6])
end

local deliveries, deadLettered, dlLast = {}, {}, ''
local recordChanged = false

-- Redeliveries: every due entry, oldest offset first.
local due = redis.call('ZRANGEBYSCORE', g.due, '-inf', now)
for i, id in ipairs(due) do due[i] = tonumber(id) end
table.sort(due)
for _, offset in ipairs(due) do
  if #deliveries >= max then break end
  local entry = decodeEntry(redis.call('HGET', g.pending, int(offset)))
  local fields = messageFields(log, offset)
  if not fields then
    deleteEntry(g, offset) -- removed by retention while in flight
  elseif entry.attempts >= record.maxAttempts then
    deleteEntry(g, offset)
    record.deadLettered = record.deadLettered + 1
    recordChanged = true
    deadLettered[#deadLettered + 1] = int(offset)
    if ARGV[7] == '1' then
      local errorPart = ''
      if entry.error ~= '' then errorPart = ',"error":' .. entry.error end
      local data = '{"topic":' .. ARGV[14] .. ',"offset":' .. int(offset) .. ',"group":' .. ARGV[15] ..
        ',"attempts":' .. int(entry.attempts) .. errorPart .. ',"data":' .. field(fields, 'd') .. '}'
      local _, _, last = appendEntries(dl, ARGV[8], ARGV[11], now, ARGV[10], tonumber(ARGV[9]),
        ARGV[12], ARGV[13], { { field(fields, 'e') or '', data, '' } })
      dlLast = int(last)
    end
  else
    entry.member = member
    entry.attempts = entry.attempts + 1
    entry.dueAt = leaseEnd
    putEntry(g, offset, entry)
    deliveries[#deliveries + 1] = { int(offset), int(entry.attempts), leaseEnd, fields }
  end
end

-- Then new offsets after the cursor; messages trimmed before the group read them are skipped.
if #deliveries < max then
  local from = math.max(record.cursor, state.floor)
  local cursor = from
  if from < state.last then
    local fresh = redis.call('XRANGE', log, entryId(from + 1), '+', 'COUNT', max - #deliveries)
    for _, found in ipairs(fresh) do
      local offset = tonumber(string.match(found[1], '^(%d+)'))
      putEntry(g, offset, { attempts = 1, dueAt = leaseEnd, member = member, error = '' })
      deliveries[#deliveries + 1] = { int(offset), '1', leaseEnd, found[2] }
      cursor = offset
    end
  end
  if cursor ~= record.cursor then
    record.cursor = cursor
    recordChanged = true
  end
end
if recordChanged then
  redis.call('HSET', g.record, 'cursor', int(record.cursor), 'deadLettered', int(record.deadLettered))
end

local nextDue = redis.call('ZRANGEBYSCORE', g.due, '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)[2] or ''
return { int(state.last), nextDue, dlLast, deadLettered, deliveries }
`,
};
