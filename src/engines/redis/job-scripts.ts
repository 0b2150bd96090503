/**
 * Lua for jobs and webhooks on Redis. A job write is one script: compare the revision, write the
 * record, keep the indexes, and append the status message with the engine's own append function
 * (so the status topic's offsets stay contiguous whichever node writes, and other nodes are woken
 * by the same PUBLISH as any append).
 */
import { LUA_APPEND_FUNCTION } from './scripts/append.js';
import { LUA_HELPERS, type LuaScript } from './scripts/define.js';

/**
 * Creates (mode `create`) or compare-and-sets (mode `update`) a job. A create also appends the
 * submission to the queue topic and records its offset in the job (the record's `"offset":null`).
 *
 * KEYS (one slot: every key carries the queue topic's tag {jobs.<queue>}, keys.ts):
 *       job, idempotencyKeys, leases, finished, active, queued,
 *       statusMeta, statusLog, statusDedupe, statusDedupeTimes,
 *       queueMeta, queueLog, queueDedupe, queueDedupeTimes (update: any keys of the slot, unused),
 *       queueCounts (a hash status → jobs)
 * ARGV: mode, id, expectedRevision, revision, recordJson, payload, idempotencyKey ('' for none),
 *       queue, status, leaseExpiresAt (''), finishedAt (''), offset (''), createdAt,
 *       hasStatus (1/0), statusTopic, freshEpoch, now, dedupeWindowMs, maxCount, channel, node,
 *       event, data, hasSubmission (1/0), queueTopic, queueMaxCount, queueWindowMs,
 *       submissionEvent, submissionData, queueFreshEpoch
 * Returns: { 1, statusLast or '', offset or '' } when written; { 0, existingId } when a create
 *          finds the idempotency key (or id) taken; { 0, '' } when an update finds the job gone or
 *          its revision moved on.
 */
export const JOB_WRITE_SCRIPT: LuaScript = {
  name: 'switchboardJobWrite',
  keys: 15,
  lua: `${LUA_HELPERS}${LUA_APPEND_FUNCTION}
local job, idem, leases, finished, active, queued = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local mode, id, key, queue, status = ARGV[1], ARGV[2], ARGV[7], ARGV[8], ARGV[9]
local record, offset = ARGV[5], ARGV[12]
local previous = nil

if mode == 'create' then
  if key ~= '' then
    local existing = redis.call('HGET', idem, key)
    if existing then return { 0, existing } end
  end
  if redis.call('EXISTS', job) == 1 then return { 0, id } end
  if ARGV[24] == '1' then
    local q = { meta = KEYS[11], log = KEYS[12], dedupe = KEYS[13], dedupeTimes = KEYS[14] }
    local _, _, appended = appendEntries(q, ARGV[25], ARGV[30], ARGV[17], ARGV[27], tonumber(ARGV[26]),
      ARGV[20], ARGV[21], { { ARGV[28], ARGV[29], '' } })
    offset = int(appended)
    record = (string.gsub(record, '"offset":null', '"offset":' .. offset, 1))
  end
  redis.call('HSET', job, 'p', ARGV[6], 'r', record, 'v', ARGV[4])
  if key ~= '' then redis.call('HSET', idem, key, id) end
else
  if redis.call('HGET', job, 'v') ~= ARGV[3] then return { 0, '' } end
  previous = cjson.decode(redis.call('HGET', job, 'r')).status
  redis.call('HSET', job, 'r', record, 'v', ARGV[4])
end
if previous ~= status then
  if previous then redis.call('HINCRBY', KEYS[15], previous, -1) end
  redis.call('HINCRBY', KEYS[15], status, 1)
end

if status == 'running' then redis.call('ZADD', leases, ARGV[10], id) else redis.call('ZREM', leases, id) end
if ARGV[11] ~= '' then redis.call('ZADD', finished, ARGV[11], id) else redis.call('ZREM', finished, id) end
if status == 'queued' then
  redis.call('ZADD', queued, offset == '' and 0 or offset, id)
else
  redis.call('ZREM', queued, id)
end
if status == 'queued' or status == 'running' then
  redis.call('ZADD', active, ARGV[13], id)
else
  redis.call('ZREM', active, id)
end

local last = ''
if ARGV[14] == '1' then
  local k = { meta = KEYS[7], log = KEYS[8], dedupe = KEYS[9], dedupeTimes = KEYS[10] }
  local _, _, appended = appendEntries(k, ARGV[15], ARGV[16], ARGV[17], ARGV[18], tonumber(ARGV[19]),
    ARGV[20], ARGV[21], { { ARGV[22], ARGV[23], '' } })
  last = int(appended)
end
return { 1, last, offset }
`,
};

/**
 * Compare-and-set of a record stored as `r` (JSON) and `v` (revision) in a hash.
 * KEYS: record; ARGV: expectedRevision, revision, recordJson. Returns 1 when written, else 0.
 */
export const RECORD_CAS_SCRIPT: LuaScript = {
  name: 'switchboardRecordCas',
  keys: 1,
  lua: `
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'r', ARGV[3], 'v', ARGV[2])
return 1
`,
};

/**
 * Creates a record unless it exists, and indexes it. KEYS: record, index; ARGV: revision,
 * recordJson, score, id. Returns 1 when created, else 0.
 */
export const RECORD_CREATE_SCRIPT: LuaScript = {
  name: 'switchboardRecordCreate',
  keys: 2,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'r', ARGV[2], 'v', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
`,
};

/**
 * Takes or renews a named lease (ttlMs 0: gives it up). KEYS: lease; ARGV: holder, ttlMs.
 * Returns 1 when held (or given up), else 0.
 * Redis's own expiry ends a lease whose holder stopped renewing it.
 */
export const LEASE_SCRIPT: LuaScript = {
  name: 'switchboardLease',
  keys: 1,
  lua: `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`,
};

export const JOB_SCRIPTS = [JOB_WRITE_SCRIPT, RECORD_CAS_SCRIPT, RECORD_CREATE_SCRIPT, LEASE_SCRIPT];
