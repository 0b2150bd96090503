import type { LuaScript } from './define.js';

/**
 * Removes a topic's log, messages and dedupe keys, and its name from the topic set.
 *
 * KEYS: meta, log, dedupe, dedupeTimes, topics
 * ARGV: topic
 * Returns: 1 when the log existed, else 0. The next append creates a new epoch.
 */
export const DELETE_TOPIC_SCRIPT: LuaScript = {
  name: 'switchboardDeleteTopic',
  keys: 5,
  lua: `
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[5], ARGV[1])
return existed
`,
};
