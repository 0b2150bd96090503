import type { LuaScript } from './define.js';

/**
 * Removes a topic's log, messages and dedupe keys (the caller unlists it from the directory).
 *
 * KEYS: meta, log, dedupe, dedupeTimes
 * Returns: 1 when the log existed, else 0. The next append creates a new epoch.
 */
export const DELETE_TOPIC_SCRIPT: LuaScript = {
  name: 'switchboardDeleteTopic',
  keys: 4,
  lua: `
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return existed
`,
};
