/**
 * The startup check of Redis's durability settings. The contract acknowledges a publish once Redis
 * has it; what survives a Redis restart depends on these settings, so say so when they are weak.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connection.js';

async function configValue(redis: Redis, name: string): Promise<string> {
  const reply = (await redis.call('CONFIG', 'GET', name)) as string[];
  return reply[1] ?? '';
}

/** Every master of a Cluster is checked (each holds its own share of the topics). */
export async function persistenceWarnings(redis: RedisClient, location: string): Promise<string[]> {
  if (!(redis instanceof Cluster)) return serverWarnings(redis, location);
  const masters = redis.nodes('master');
  const all = await Promise.all(
    masters.map((node) =>
      serverWarnings(node, `${location} (master ${node.options.host}:${node.options.port})`),
    ),
  );
  return all.flat();
}

async function serverWarnings(redis: Redis, location: string): Promise<string[]> {
  let values: string[];
  try {
    values = await Promise.all(
      ['appendonly', 'appendfsync', 'save', 'maxmemory-policy'].map((name) => configValue(redis, name)),
    );
  } catch (error) {
    // Managed Redis services often disable CONFIG: we cannot tell, so say what to check by hand.
    return [
      `cannot read the persistence settings of Redis at ${location} (CONFIG GET failed: ${(error as Error).message}); make sure appendonly is yes, or acknowledged messages are lost when Redis restarts`,
    ];
  }
  const [appendonly = '', appendfsync = '', save = '', evictionPolicy = ''] = values;
  const warnings: string[] = [];
  if (appendonly !== 'yes' && save.trim() === '') {
    warnings.push(
      `Redis persistence is off at ${location} (appendonly no, save ""): a Redis restart loses every topic and clients are told "reset"; set appendonly yes (docs/scaling.md)`,
    );
  } else if (appendonly !== 'yes') {
    warnings.push(
      `Redis at ${location} only writes RDB snapshots (save "${save}"): a Redis crash loses acknowledged messages published since the last snapshot; set appendonly yes (docs/scaling.md)`,
    );
  } else if (appendfsync === 'no') {
    warnings.push(
      `Redis at ${location} has appendfsync no: a host crash can lose about 30 s of acknowledged messages; use appendfsync everysec or always (docs/scaling.md)`,
    );
  }
  if (evictionPolicy !== 'noeviction') {
    warnings.push(
      `Redis at ${location} may evict keys (maxmemory-policy ${evictionPolicy}): an evicted topic loses its messages; set maxmemory-policy noeviction`,
    );
  }
  return warnings;
}
