/**
 * The Redis key layout. Every key of one topic carries the topic as a hash tag (`{orders}`), so
 * Redis Cluster puts all of a topic's keys on one shard and each Lua script touches one slot.
 *
 *   <prefix>:{<topic>}:meta     hash   epoch, floor, last
 *   <prefix>:{<topic>}:log      stream one entry per retained message, ID `<offset>-0`,
 *                                      fields t (time), d (data text), e (event, only when set)
 *   <prefix>:{<topic>}:dedupe   hash   idempotency key → "<offset>:<time>"
 *   <prefix>:{<topic>}:dedupe-t zset   idempotency key scored by its time (for the window sweep)
 *   <prefix>:{<topic>}:groups   set    consumer-group names of the topic
 *   <prefix>:{<topic>}:g:<group>          hash   settings, epoch, origin, cursor, deadLettered
 *   <prefix>:{<topic>}:g-pending:<group>  hash   offset → "attempts|dueAt|member|errorJson"
 *   <prefix>:{<topic>}:g-due:<group>      zset   offset scored by when it may be claimed (again)
 *   <prefix>:{<topic>}:g-offsets:<group>  zset   offset scored by itself (the lowest is `committed`)
 *   <prefix>:{<topic>}:g-members:<group>  zset   named member scored by when it was last seen
 *   <prefix>:topics             set    topic names (the directory for listing and sweeping)
 *   <prefix>:appended           pub/sub channel for cross-node wake-ups (not a key)
 *
 * A dead-letter topic `<topic>.dead-letter` keeps its base topic's hash tag
 * (`<prefix>:{<topic>}.dead-letter:meta`), so a claim can move a message to the dead letter in one
 * script on one shard. Topic names only use `[A-Za-z0-9_.-]` and group names `[A-Za-z0-9_-]`, so
 * neither can contain a brace (a second hash tag) or a glob character.
 */
import { DEAD_LETTER_SUFFIX } from '../../protocol/message.js';

export interface TopicKeys {
  meta: string;
  log: string;
  dedupe: string;
  dedupeTimes: string;
}

export interface GroupKeys {
  record: string;
  pending: string;
  due: string;
  offsets: string;
  members: string;
}

export interface KeyLayout {
  readonly prefix: string;
  /** The set of topic names. The only key without a topic hash tag (see docs/scaling.md). */
  readonly topics: string;
  /** The pub/sub channel carrying `{node, topic, last}` wake-ups. */
  readonly appendedChannel: string;
  topic(topic: string): TopicKeys;
  /** The set of a topic's group names. */
  groupNames(topic: string): string;
  group(topic: string, group: string): GroupKeys;
}

export const DEFAULT_KEY_PREFIX = 'sb';

const PREFIX_RULE = /^[A-Za-z0-9_.:-]{1,64}$/;

export function keyLayout(prefix: string = DEFAULT_KEY_PREFIX): KeyLayout {
  // A brace in the prefix would become the hash tag and put every topic on one shard.
  if (!PREFIX_RULE.test(prefix)) {
    throw new Error(`Redis key prefix ${JSON.stringify(prefix)} is invalid: use 1-64 of [A-Za-z0-9_.:-]`);
  }
  const topicTag = (topic: string): string =>
    topic.endsWith(DEAD_LETTER_SUFFIX)
      ? `${prefix}:{${topic.slice(0, -DEAD_LETTER_SUFFIX.length)}}${DEAD_LETTER_SUFFIX}`
      : `${prefix}:{${topic}}`;
  return {
    prefix,
    topics: `${prefix}:topics`,
    appendedChannel: `${prefix}:appended`,
    groupNames: (topic) => `${topicTag(topic)}:groups`,
    group(topic, group) {
      const tag = topicTag(topic);
      return {
        record: `${tag}:g:${group}`,
        pending: `${tag}:g-pending:${group}`,
        due: `${tag}:g-due:${group}`,
        offsets: `${tag}:g-offsets:${group}`,
        members: `${tag}:g-members:${group}`,
      };
    },
    topic(topic) {
      const tag = topicTag(topic);
      return {
        meta: `${tag}:meta`,
        log: `${tag}:log`,
        dedupe: `${tag}:dedupe`,
        dedupeTimes: `${tag}:dedupe-t`,
      };
    },
  };
}

/** The stream entry ID of an offset. Offsets start at 1, so `1-0` is always a valid first ID. */
export const entryId = (offset: number): string => `${offset}-0`;
