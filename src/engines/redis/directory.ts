/**
 * The topic directory: which topics exist, for `GET /v1/topics`, the retention sweep and the
 * resync after a lost subscriber link. It is split into DIRECTORY_SHARDS sets (keys.ts) by a hash
 * of the topic name, so in Redis Cluster no single key or shard lists every topic.
 *
 * A set in another slot cannot be written by the append script (Cluster refuses CROSSSLOT), so the
 * directory is kept beside the log, in two idempotent steps that together never lose a topic:
 * - before a script may create a log, `ensure` adds the name (once per topic per node: cached), so a
 *   node killed between the two steps leaves a listed topic without a log (listing skips it), never
 *   a log nobody lists (which no sweep would ever trim);
 * - after an append that created the log (offset 1: a new log or a new epoch), `created` adds it
 *   again, for the case where another node deleted the topic while this node's cache said listed.
 */
import type { RedisClient } from './connection.js';
import type { KeyLayout } from './keys.js';

/** Forget the cache past this many names (it only saves round trips; memory stays bounded). */
const CACHE_LIMIT = 100_000;

export interface TopicDirectory {
  /** Lists `topic` unless this node already did: call before any script that may create its log. */
  ensure(redis: RedisClient, topic: string): Promise<void>;
  /** Lists `topic` again: call after an append that created its log. */
  created(redis: RedisClient, topic: string): Promise<void>;
  /** Unlists `topic` (after its log was deleted). */
  remove(redis: RedisClient, topic: string): Promise<void>;
  /** Every listed name, sorted (a listed topic may have no log: check its meta). */
  names(redis: RedisClient): Promise<string[]>;
}

/** FNV-1a: a stable spread of names over the shards (any node computes the same shard). */
function shardOf(topic: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) {
    hash ^= topic.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

export function createTopicDirectory(keys: KeyLayout): TopicDirectory {
  const shards = keys.topicDirectory;
  const setOf = (topic: string): string => shards[shardOf(topic, shards.length)] as string;
  const listed = new Set<string>();
  const add = async (redis: RedisClient, topic: string): Promise<void> => {
    await redis.sadd(setOf(topic), topic);
    if (listed.size >= CACHE_LIMIT) listed.clear();
    listed.add(topic);
  };
  return {
    ensure: (redis, topic) => (listed.has(topic) ? Promise.resolve() : add(redis, topic)),
    created: add,
    async remove(redis, topic) {
      listed.delete(topic);
      await redis.srem(setOf(topic), topic);
    },
    async names(redis) {
      const lists = await Promise.all(shards.map((key) => redis.smembers(key)));
      return lists.flat().sort();
    },
  };
}
