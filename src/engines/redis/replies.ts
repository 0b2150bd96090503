/**
 * Request-reply inboxes across nodes (see ../reply-store.ts). An inbox is one key,
 * `<prefix>:inbox:<id>` = `open:<node>` with a TTL; the reply script turns it into `closed` and
 * PUBLISHes the reply on the caller node's own channel `<prefix>:replies:<node>`, in one atomic step,
 * so exactly one reply wins whichever nodes the responders are on. A closed inbox is kept for
 * CLOSED_INBOX_MEMORY_MS so a second or late reply is told 409 instead of 404.
 *
 * Pub/sub is at-most-once: a reply lost with a dropped link ends as the caller's timeout, the same
 * answer as a responder that never came.
 */

import {
  CLOSED_INBOX_MEMORY_MS,
  type ReplyListener,
  type ReplyOutcome,
  type ReplyStore,
} from '../reply-store.js';
import type { RedisClient } from './connection.js';
import type { KeyLayout } from './keys.js';
import { defineScripts, type LuaScript, runScript } from './scripts/define.js';

/**
 * KEYS: inbox key. ARGV: channel prefix, message (inbox id, newline, data), closed TTL ms.
 * Returns 1 delivered, 2 closed, 0 unknown.
 */
const REPLY_SCRIPT: LuaScript = {
  name: 'switchboardReply',
  keys: 1,
  lua: `
local state = redis.call('GET', KEYS[1])
if not state then return 0 end
if string.sub(state, 1, 5) ~= 'open:' then return 2 end
redis.call('SET', KEYS[1], 'closed', 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[1] .. string.sub(state, 6), ARGV[2])
return 1
`,
};

export interface RedisReplyStore extends ReplyStore {
  /** Subscribes this node's reply channel on the engine's subscriber connection (at open). */
  attach(command: RedisClient, subscriber: RedisClient): Promise<void>;
}

export function createRedisReplyStore(options: {
  keys: KeyLayout;
  nodeId: string;
  call: <T>(what: string, operation: (redis: RedisClient) => Promise<T>) => Promise<T>;
}): RedisReplyStore {
  const { keys, nodeId, call } = options;
  const inboxKey = (inbox: string): string => `${keys.prefix}:inbox:${inbox}`;
  const channelPrefix = `${keys.prefix}:replies:`;
  const channel = channelPrefix + nodeId;
  const listeners = new Set<ReplyListener>();

  return {
    async attach(command, subscriber) {
      defineScripts(command, [REPLY_SCRIPT]);
      subscriber.on('message', (from: string, text: string) => {
        if (from !== channel) return;
        const newline = text.indexOf('\n');
        if (newline === -1) return;
        const inbox = text.slice(0, newline);
        const data = text.slice(newline + 1);
        for (const listener of listeners) listener(inbox, data);
      });
      // After a reconnect the subscription is gone: subscribe again (ioredis's own resubscribe is off).
      subscriber.on('ready', () => {
        subscriber.subscribe(channel).catch(() => {});
      });
      await subscriber.subscribe(channel);
    },

    async openInbox(inbox, ttlMs) {
      await call('open the reply inbox', (r) => r.set(inboxKey(inbox), `open:${nodeId}`, 'PX', ttlMs));
    },

    async closeInbox(inbox) {
      await call('close the reply inbox', (r) =>
        r.set(inboxKey(inbox), 'closed', 'PX', CLOSED_INBOX_MEMORY_MS, 'XX'),
      );
    },

    async deliverReply(inbox, data): Promise<ReplyOutcome> {
      const result = await call('deliver the reply', (r) =>
        runScript(
          r,
          REPLY_SCRIPT,
          [inboxKey(inbox)],
          [channelPrefix, `${inbox}\n${data}`, CLOSED_INBOX_MEMORY_MS],
        ),
      );
      return result === 1 ? 'delivered' : result === 2 ? 'closed' : 'unknown';
    },

    onReply(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
