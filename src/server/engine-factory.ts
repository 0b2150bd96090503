import type { Engine } from '../engines/engine.js';
import { createMemoryEngine } from '../engines/memory/index.js';
import { createRedisEngine } from '../engines/redis/index.js';
import { createSqliteEngine } from '../engines/sqlite/index.js';
import type { ServerConfig } from './config.js';
import { ConfigError } from './config.js';
import { clusterTarget, sentinelTarget } from './redis-topology.js';

export function createEngine(
  config: Pick<
    ServerConfig,
    | 'engine'
    | 'dataDir'
    | 'redisUrl'
    | 'redisSentinels'
    | 'redisSentinelName'
    | 'redisWaitReplicas'
    | 'redisCluster'
  >,
): Engine {
  switch (config.engine) {
    case 'memory':
      return createMemoryEngine();
    case 'sqlite':
      return createSqliteEngine({ dataDir: config.dataDir });
    case 'redis':
      if (!/^rediss?:\/\//.test(config.redisUrl)) {
        throw new ConfigError(
          // Not echoed whole: the URL may carry a password.
          `--redis-url must start with redis:// or rediss:// (e.g. redis://127.0.0.1:6379), got one starting "${config.redisUrl.slice(0, 8)}"`,
        );
      }
      // Persistence warnings (AOF off, eviction on) go to stderr when the engine opens.
      return createRedisEngine({
        url: config.redisUrl,
        sentinel: sentinelTarget(config),
        cluster: clusterTarget(config),
        waitReplicas: config.redisWaitReplicas,
      });
  }
}
