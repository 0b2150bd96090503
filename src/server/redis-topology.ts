/**
 * How a node finds Redis beyond one URL: `--redis-cluster h:p,…` (a Redis Cluster's seed nodes),
 * `--redis-sentinels h:p,… --redis-sentinel-name NAME` (Redis Sentinel names the current master) and `--redis-wait-replicas N` (acknowledge a write once
 * N replicas have it). Checked once at startup; see docs/scaling.md.
 */
import type { ClusterTarget, SentinelTarget } from '../engines/redis/connection.js';
import { ConfigError, type ServerConfig } from './config.js';

type RedisTopologyConfig = Pick<
  ServerConfig,
  'engine' | 'redisSentinels' | 'redisSentinelName' | 'redisWaitReplicas' | 'redisCluster'
>;

/** `host:port` or `[v6]:port`; the port defaults to Sentinel's 26379. */
export function parseSentinelAddress(text: string): { host: string; port: number } {
  return parseAddress(text, 26_379, '--redis-sentinels', '10.0.0.5:26379');
}

/** `host:port` or `[v6]:port`; the port defaults to Redis's 6379. */
export function parseClusterAddress(text: string): { host: string; port: number } {
  return parseAddress(text, 6_379, '--redis-cluster', '10.0.0.5:7000');
}

function parseAddress(text: string, defaultPort: number, flag: string, example: string) {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const port = Number(match?.[3] ?? defaultPort);
  if (!match || port < 1 || port > 65_535) {
    throw new ConfigError(`${flag} takes host:port,host:port (e.g. ${example}), got "${text}"`);
  }
  return { host: (match[1] ?? match[2])!, port };
}

/** Validates the Sentinel and WAIT settings; Sentinel implies `--engine redis`. Mutates `config`. */
export function validateRedisTopology(config: RedisTopologyConfig): void {
  if (!(Number.isSafeInteger(config.redisWaitReplicas) && config.redisWaitReplicas >= 0)) {
    throw new ConfigError(`redisWaitReplicas must be 0 or more, got ${config.redisWaitReplicas}`);
  }
  if (config.redisCluster.length > 0) {
    for (const address of config.redisCluster) parseClusterAddress(address);
    if (config.redisSentinels.length > 0) {
      throw new ConfigError(
        'choose --redis-cluster or --redis-sentinels, not both (a Cluster fails over by itself)',
      );
    }
    if (config.redisWaitReplicas > 0) {
      throw new ConfigError(
        "--redis-wait-replicas is not supported with --redis-cluster yet: WAIT counts one master's replicas (docs/scaling.md)",
      );
    }
    if (config.engine === 'memory') {
      throw new ConfigError('--redis-cluster needs --engine redis (it implies it), got --engine memory');
    }
    config.engine = 'redis';
    return;
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

/** The engine's Cluster target, when configured. */
export function clusterTarget(config: RedisTopologyConfig): ClusterTarget | undefined {
  if (config.redisCluster.length === 0) return undefined;
  return { nodes: config.redisCluster.map(parseClusterAddress) };
}
