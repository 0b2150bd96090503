import { LUA_HELPERS, type LuaScript } from './define.js';

/**
 * Reads the log state and up to `limit` messages after a cursor, as one consistent snapshot (a
 * retention trim or an append cannot fall between the state and the messages).
 *
 * KEYS: meta, log
 * ARGV: after, limit
 * Returns: {} when the topic has no log, else { epoch, floor, last, entries } where entries is
 * XRANGE's reply: { { "<offset>-0", { "t", time, "d", data [, "e", event] } }, … }
 */
export const READ_SCRIPT: LuaScript = {
  name: 'switchboardRead',
  keys: 2,
  lua: `${LUA_HELPERS}
local state = redis.call('HMGET', KEYS[1], 'epoch', 'floor', 'last')
if not state[1] then return {} end
local after, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local floor, last = tonumber(state[2]) or 0, tonumber(state[3]) or 0
if after >= last or limit < 1 then return { state[1], int(floor), int(last), {} } end
local from = math.max(after, floor) + 1
local entries = redis.call('XRANGE', KEYS[2], entryId(from), '+', 'COUNT', limit)
return { state[1], int(floor), int(last), entries }
`,
};
