/**
 * How a node finds Redis beyond one URL: `--redis-sentinels h:p,… --redis-sentinel-name NAME`
 * (Redis Sentinel names the current master) and `--redis-wait-replicas N` (acknowledge a write once
 * N replicas have it). Checked once at startup; see docs/scaling.md.
 */
import type { SentinelTarget } from '../engines/redis/connection.js';
import { ConfigError, type ServerConfig } from './config.js';

type RedisTopologyConfig = Pick<
  ServerConfig,
  'engine' | 'redisSentinels' | 'redisSentinelName' | 'redisWaitReplicas'
>;

/** `host:port` or `[v6]:port`; the port defaults to Sentinel's 26379. */
export function parseSentinelAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const port = Number(match?.[3] ?? 26_379);
  if (!match || port < 1 || port > 65_535) {
    throw new ConfigError(`--redis-sentinels takes host:port,host:port (e.g. 10.0.0.5:26379), got "${text}"`);
  }
  return { host: (match[1] ?? match[2])!, port };
}

/** Validates the Sentinel and WAIT settings; Sentinel implies `--engine redis`. Mutates `config`. */
export function validateRedisTopology(config: RedisTopologyConfig): void {
  if (!(Number.isSafeInteger(config.redisWaitReplicas) && config.redisWaitReplicas >= 0)) {
    throw new ConfigError(`redisWaitReplicas must be 0 or more, got ${config.redisWaitReplicas}`);
  }
  if (config.redisSentinels.length === 0) {
    if (config.redisSentinelName !== undefined) {
      throw new ConfigError('--redis-sentinel-name needs --redis-sentinels (the sentinels to ask)');
    }
    return;
  }
  for (const address of config.redisSentinels) parseSentinelAddress(address);
  if (!config.redisSentinelName) {
    throw new ConfigError(
      '--redis-sentinels needs --redis-sentinel-name (the master name in "sentinel monitor NAME …")',
    );
  }
  if (config.engine === 'memory') {
    throw new ConfigError('--redis-sentinels needs --engine redis (it implies it), got --engine memory');
  }
  config.engine = 'redis';
}

/** The engine's Sentinel target, when configured. */
export function sentinelTarget(config: RedisTopologyConfig): SentinelTarget | undefined {
  if (config.redisSentinels.length === 0 || !config.redisSentinelName) return undefined;
  return { sentinels: config.redisSentinels.map(parseSentinelAddress), name: config.redisSentinelName };
}
