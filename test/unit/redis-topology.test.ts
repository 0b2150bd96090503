/** --redis-sentinels / --redis-sentinel-name / --redis-wait-replicas: parsing and checks. */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/server/config.js';
import { sentinelTarget } from '../../src/server/redis-topology.js';

describe('Redis Sentinel and WAIT settings', () => {
  it('sentinels from the environment imply the redis engine', () => {
    const config = resolveConfig(
      {},
      {
        SWITCHBOARD_REDIS_SENTINELS: '10.0.0.5:26379, [::1]:26380,sentinel-c',
        SWITCHBOARD_REDIS_SENTINEL_NAME: 'main',
        SWITCHBOARD_REDIS_WAIT_REPLICAS: '1',
      },
    );
    expect(config.engine).toBe('redis');
    expect(config.redisWaitReplicas).toBe(1);
    expect(sentinelTarget(config)).toEqual({
      name: 'main',
      sentinels: [
        { host: '10.0.0.5', port: 26379 },
        { host: '::1', port: 26380 },
        { host: 'sentinel-c', port: 26379 },
      ],
    });
  });

  it('refuses incomplete or contradictory settings with a clear message', () => {
    expect(() => resolveConfig({ redisSentinels: 'a:1' }, {})).toThrow(/--redis-sentinel-name/);
    expect(() => resolveConfig({ redisSentinelName: 'main' }, {})).toThrow(/needs --redis-sentinels/);
    expect(() => resolveConfig({ redisSentinels: 'a:99999', redisSentinelName: 'm' }, {})).toThrow(
      /host:port/,
    );
    expect(() =>
      resolveConfig({ redisSentinels: 'a:1', redisSentinelName: 'm', engine: 'memory' }, {}),
    ).toThrow(/--engine redis/);
    expect(() => resolveConfig({ redisWaitReplicas: '-1' }, {})).toThrow(/redisWaitReplicas/);
    expect(resolveConfig({}, {}).redisWaitReplicas).toBe(0);
  });
});
