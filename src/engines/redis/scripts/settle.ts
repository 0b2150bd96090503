import { LUA_HELPERS, type LuaScript } from './define.js';
import { LUA_GROUP_HELPERS } from './group-lua.js';

/**
 * Ack or nack, all or nothing: every offset is checked first; if any is refused nothing changes.
 * Ack deletes the pending entry; nack releases it (no holder) until now + delayMs and keeps the
 * error for the dead-letter record. A nack PUBLISHes a group wake-up, so claims held on other
 * nodes hear that something became claimable.
 *
 * KEYS: record, pending, due, offsets, meta
 * ARGV: mode ('ack' | 'nack'), hasMember (1/0), member, now, delayMs, errorJson ('' keeps the
 *       entry's error), channel, node, topic, group, then the offsets
 * Returns: nil without the group, else { committed, settled (1/0), offset, reason, holder, … }
 */
export const SETTLE_SCRIPT: LuaScript = {
  name: 'switchboardSettle',
  keys: 5,
  lua: `${LUA_HELPERS}${LUA_GROUP_HELPERS}
local g = { record = KEYS[1], pending = KEYS[2], due = KEYS[3], offsets = KEYS[4] }
local mode, checkMember, member, now = ARGV[1], ARGV[2] == '1', ARGV[3], ARGV[4]

local record = loadGroup(g)
if not record then return false end
local state = syncEpoch(g, record, KEYS[5])

local accepted, rejected = {}, {}
for i = 11, #ARGV do
  local offset = tonumber(ARGV[i])
  local text = redis.call('HGET', g.pending, int(offset))
  if not text then
    local handedOut = offset > record.origin and offset <= record.cursor
    rejected[#rejected + 1] = { int(offset), handedOut and 'not-pending' or 'never-delivered', '' }
  else
    local entry = decodeEntry(text)
    if checkMember and entry.member ~= member then
      if entry.member == '' then
        rejected[#rejected + 1] = { int(offset), 'released', '' }
      else
        rejected[#rejected + 1] = { int(offset), 'leased-to-other', entry.member }
      end
    else
      accepted[#accepted + 1] = { offset, entry }
    end
  end
end

local reply = { 0, 0 }
if #rejected > 0 then
  for _, r in ipairs(rejected) do
    reply[#reply + 1] = r[1]
    reply[#reply + 1] = r[2]
    reply[#reply + 1] = r[3]
  end
else
  local dueAt = int(tonumber(now) + tonumber(ARGV[5]))
  for _, item in ipairs(accepted) do
    if mode == 'ack' then
      deleteEntry(g, item[1])
    else
      local entry = item[2]
      entry.member = ''
      entry.dueAt = dueAt
      if ARGV[6] ~= '' then entry.error = ARGV[6] end
      putEntry(g, item[1], entry)
    end
  end
  if mode == 'nack' then
    redis.call('PUBLISH', ARGV[7], '{"node":"' .. ARGV[8] .. '","topic":"' .. ARGV[9] ..
      '","group":"' .. ARGV[10] .. '","at":' .. dueAt .. '}')
  end
  reply[2] = 1
end
reply[1] = int(committedOf(g, record, state))
return reply
`,
};
