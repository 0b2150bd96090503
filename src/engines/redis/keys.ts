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
 *   <prefix>:{topics-<n>}:names set    topic names, in DIRECTORY_SHARDS sets (the directory for listing
 *                                      and sweeping; see directory.ts)
 *   <prefix>:appended           pub/sub channel for cross-node wake-ups (not a key)
 *
 * Topics that the hub writes in the same atomic step as another topic share that topic's hash tag
 * (`tagOf`), so the step is one script on one shard in Redis Cluster:
 * - a dead letter `<topic>.dead-letter` and a presence topic `<topic>.presence` keep `<topic>`'s tag
 *   (`<prefix>:{<topic>}.dead-letter:meta`): a claim moves a message to the dead letter in one script;
 * - a job's status topic `jobs.<queue>.<job id>` has its queue's tag `{jobs.<queue>}`: one job write
 *   appends to the queue topic and the status topic and updates the job, all in one slot.
 * Topic names only use `[A-Za-z0-9_.-]` and group names `[A-Za-z0-9_-]`, so neither can contain a
 * brace (a second hash tag) or a glob character.
 *
 * State that is not a topic's (webhooks, push subscriptions, MQTT sessions, schedules) lives under
 * one tag per family (`family(name)`: `<prefix>:{<name>}`) or per unit, as its store documents.
 */
import { DEAD_LETTER_SUFFIX, PRESENCE_TOPIC_SUFFIX } from '../../protocol/message.js';

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
  /** The sets of topic names (the directory), one per shard: see directory.ts. */
  readonly topicDirectory: readonly string[];
  /** `<prefix>:{<tag>}`: the start of every key that must share the slot of topic `topic`. */
  tag(topic: string): string;
  /** `<prefix>:{<name>}`: the start of every key of a family of state kept in one slot (e.g. `webhooks`). */
  family(name: string): string;
  /** The pub/sub channel carrying `{node, topic, last}` wake-ups. */
  readonly appendedChannel: string;
  topic(topic: string): TopicKeys;
  /** The set of a topic's group names. */
  groupNames(topic: string): string;
  group(topic: string, group: string): GroupKeys;
}

export const DEFAULT_KEY_PREFIX = 'sb';

/** How many sets the topic directory is split into, so no single key (and shard) lists every topic. */
export const DIRECTORY_SHARDS = 16;

/** Job ids as src/core/jobs/job-rules.ts makes them (the engine does not import the core). */
const JOB_STATUS_TOPIC = /^(jobs\.[A-Za-z0-9_.-]+)\.job_[A-Za-z0-9_-]{22}$/;

/** The hash tag of a topic: the topic whose atomic steps it takes part in (see above). */
export function tagOf(topic: string): string {
  if (topic.endsWith(DEAD_LETTER_SUFFIX)) return tagOf(topic.slice(0, -DEAD_LETTER_SUFFIX.length));
  if (topic.endsWith(PRESENCE_TOPIC_SUFFIX)) return tagOf(topic.slice(0, -PRESENCE_TOPIC_SUFFIX.length));
  const job = JOB_STATUS_TOPIC.exec(topic);
  return job ? (job[1] as string) : topic;
}

const PREFIX_RULE = /^[A-Za-z0-9_.:-]{1,64}$/;

export function keyLayout(prefix: string = DEFAULT_KEY_PREFIX): KeyLayout {
  // A brace in the prefix would become the hash tag and put every topic on one shard.
  if (!PREFIX_RULE.test(prefix)) {
    throw new Error(`Redis key prefix ${JSON.stringify(prefix)} is invalid: use 1-64 of [A-Za-z0-9_.:-]`);
  }
  // The keys of a topic: its tag, then the topic's own name after it when the tag is another's.
  const topicTag = (topic: string): string => {
    const tag = tagOf(topic);
    return tag === topic ? `${prefix}:{${topic}}` : `${prefix}:{${tag}}${topic.slice(tag.length)}`;
  };
  return {
    prefix,
    topicDirectory: Array.from({ length: DIRECTORY_SHARDS }, (_, n) => `${prefix}:{topics-${n}}:names`),
    tag: (topic) => `${prefix}:{${tagOf(topic)}}`,
    family: (name) => `${prefix}:{${name}}`,
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
