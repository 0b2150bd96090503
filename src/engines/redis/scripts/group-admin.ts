import { LUA_HELPERS, type LuaScript } from './define.js';
import { LUA_GROUP_HELPERS } from './group-lua.js';

/**
 * Creates a group when missing (an existing group keeps its position; a given maxAttempts updates it).
 *
 * KEYS: record, groupNames, meta
 * ARGV: group, start ('earliest' | 'latest'), maxAttempts ('' keeps / uses the default),
 *       defaultMaxAttempts, now
 * Returns: { created (1/0), start, maxAttempts, createdAt }
 */
export const ENSURE_GROUP_SCRIPT: LuaScript = {
  name: 'switchboardEnsureGroup',
  keys: 3,
  lua: `
local existing = redis.call('HMGET', KEYS[1], 'start', 'maxAttempts', 'createdAt')
if existing[1] then
  if ARGV[3] ~= '' and ARGV[3] ~= existing[2] then
    redis.call('HSET', KEYS[1], 'maxAttempts', ARGV[3])
    existing[2] = ARGV[3]
  end
  return { 0, existing[1], existing[2], existing[3] }
end
local log = redis.call('HMGET', KEYS[3], 'epoch', 'last')
local cursor = '0'
if ARGV[2] == 'latest' then cursor = log[2] or '0' end
local maxAttempts = ARGV[3]
if maxAttempts == '' then maxAttempts = ARGV[4] end
redis.call('HSET', KEYS[1], 'start', ARGV[2], 'maxAttempts', maxAttempts, 'createdAt', ARGV[5],
  'epoch', log[1] or '', 'origin', cursor, 'cursor', cursor, 'deadLettered', '0')
redis.call('SADD', KEYS[2], ARGV[1])
return { 1, ARGV[2], maxAttempts, ARGV[5] }
`,
};

/**
 * Makes everything a member holds claimable at once (it disconnected), and wakes other nodes.
 *
 * KEYS: record, pending, due
 * ARGV: member, now, channel, node, topic, group
 * Returns: how many entries were released.
 */
export const RELEASE_MEMBER_SCRIPT: LuaScript = {
  name: 'switchboardReleaseMember',
  keys: 3,
  lua: `${LUA_HELPERS}${LUA_GROUP_HELPERS}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local g = { pending = KEYS[2], due = KEYS[3] }
local all = redis.call('HGETALL', g.pending)
local released = 0
for i = 1, #all, 2 do
  local entry = decodeEntry(all[i + 1])
  if entry.member == ARGV[1] then
    redis.call('HSET', g.pending, all[i],
      int(entry.attempts) .. '|' .. ARGV[2] .. '|' .. '' .. '|' .. entry.error)
    redis.call('ZADD', g.due, ARGV[2], all[i])
    released = released + 1
  end
end
if released > 0 then
  redis.call('PUBLISH', ARGV[3], '{"node":"' .. ARGV[4] .. '","topic":"' .. ARGV[5] ..
    '","group":"' .. ARGV[6] .. '","at":' .. ARGV[2] .. '}')
end
return released
`,
};

/**
 * A group's state, read in one consistent step. A group whose log was replaced is reported as it
 * will be once it starts over (like group-logic.ts's groupState).
 *
 * KEYS: record, pending, due, offsets, members, meta
 * ARGV: now, forgetMembersBefore
 * Returns: nil without the group, else { start, maxAttempts, createdAt, committed, delivered,
 *   pending, ready, last, deadLettered, { member, held, … }, { member, lastSeen, … newest first } }
 */
export const GROUP_STATE_SCRIPT: LuaScript = {
  name: 'switchboardGroupState',
  keys: 6,
  lua: `${LUA_HELPERS}${LUA_GROUP_HELPERS}
local g = { record = KEYS[1], pending = KEYS[2], due = KEYS[3], offsets = KEYS[4], members = KEYS[5] }
local record = loadGroup(g)
if not record then return false end
local log = logState(KEYS[6])
local stale = record.epoch ~= '' and record.epoch ~= log.epoch
local count, ready, cursor, held = 0, 0, record.cursor, {}
local committed
if stale then
  cursor = 0
  committed = math.max(0, log.floor)
else
  count = redis.call('HLEN', g.pending)
  ready = redis.call('ZCOUNT', g.due, '-inf', ARGV[1])
  committed = committedOf(g, record, log)
  local byMember = {}
  for _, text in ipairs(redis.call('HVALS', g.pending)) do
    local entry = decodeEntry(text)
    if entry.member ~= '' then byMember[entry.member] = (byMember[entry.member] or 0) + 1 end
  end
  for name, n in pairs(byMember) do
    held[#held + 1] = name
    held[#held + 1] = n
  end
end
local members = redis.call('ZREVRANGEBYSCORE', g.members, '+inf', ARGV[2], 'WITHSCORES')
return { record.start, int(record.maxAttempts), record.createdAt, int(committed), int(cursor), count,
  ready, int(log.last), int(record.deadLettered), held, members }
`,
};

/**
 * Deletes a group with its pending entries and members.
 *
 * KEYS: record, pending, due, offsets, members, groupNames
 * ARGV: group
 * Returns: 1 when the group existed, else 0.
 */
export const DELETE_GROUP_SCRIPT: LuaScript = {
  name: 'switchboardDeleteGroup',
  keys: 6,
  lua: `
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('SREM', KEYS[6], ARGV[1])
return existed
`,
};
