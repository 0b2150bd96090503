/**
 * Server configuration: defaults, then a JSON config file, then `SWITCHBOARD_*` environment
 * variables (and `PORT`), then command-line flags. Every value is checked once, here.
 */
import { readFileSync } from 'node:fs';
import type { RetentionRule } from '../core/options.js';

export type EngineName = 'memory' | 'sqlite' | 'redis';
export type AuthMode = 'open' | 'token';

export interface ServerConfig {
  host: string;
  port: number;
  engine: EngineName;
  dataDir: string;
  redisUrl: string;
  auth: AuthMode;
  jwtSecret: string | undefined;
  /** Browser origins allowed besides the server's own; `*` allows any. */
  allowedOrigins: string[];
  allowPrivateWebhooks: boolean;
  logLevel: string;
  /** Largest request body. @default 1_048_576 (1 MiB) */
  maxBodyBytes: number;
  /** Largest serialized message data. @default 65_536 (64 KiB) */
  maxMessageBytes: number;
  retention: { maxCount: number; maxAgeMs: number; rules: RetentionRule[] };
  dedupeWindowMs: number;
  /** Time allowed for a client to send a request's headers (slow-loris guard). @default 10_000 (10 s) */
  headersTimeoutMs: number;
  /** Time allowed for a client to send a whole request. @default 30_000 (30 s) */
  requestTimeoutMs: number;
  /** Idle time before a keep-alive connection is closed. @default 65_000 (65 s) */
  keepAliveTimeoutMs: number;
  /** Largest request head (request line + headers). @default 16_384 (16 KiB) */
  maxHeaderBytes: number;
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 8080,
  engine: 'sqlite',
  dataDir: './data',
  redisUrl: 'redis://127.0.0.1:6379',
  auth: 'open',
  jwtSecret: undefined,
  allowedOrigins: [],
  allowPrivateWebhooks: false,
  logLevel: 'info',
  maxBodyBytes: 1_048_576,
  maxMessageBytes: 65_536,
  retention: { maxCount: 10_000, maxAgeMs: 7 * 24 * 3_600_000, rules: [] },
  dedupeWindowMs: 600_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  maxHeaderBytes: 16_384,
};

export class ConfigError extends Error {
  override name = 'ConfigError' as const;
}

/** Flat, string-valued settings as they come from flags or the environment. */
export type RawSettings = Partial<Record<keyof ServerConfig | 'config', string | boolean | undefined>>;

const ENV_NAMES: Array<[keyof ServerConfig | 'config', string]> = [
  ['host', 'SWITCHBOARD_HOST'],
  ['port', 'SWITCHBOARD_PORT'],
  ['engine', 'SWITCHBOARD_ENGINE'],
  ['dataDir', 'SWITCHBOARD_DATA_DIR'],
  ['redisUrl', 'SWITCHBOARD_REDIS_URL'],
  ['auth', 'SWITCHBOARD_AUTH'],
  ['jwtSecret', 'SWITCHBOARD_JWT_SECRET'],
  ['allowedOrigins', 'SWITCHBOARD_ALLOWED_ORIGINS'],
  ['allowPrivateWebhooks', 'SWITCHBOARD_ALLOW_PRIVATE_WEBHOOKS'],
  ['logLevel', 'SWITCHBOARD_LOG_LEVEL'],
  ['maxBodyBytes', 'SWITCHBOARD_MAX_BODY_BYTES'],
  ['maxMessageBytes', 'SWITCHBOARD_MAX_MESSAGE_BYTES'],
  ['config', 'SWITCHBOARD_CONFIG'],
];

export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const settings: RawSettings = {};
  if (env.PORT) settings.port = env.PORT;
  for (const [key, name] of ENV_NAMES) if (env[name] !== undefined) settings[key] = env[name];
  return settings;
}

/** Merges file < env < flags over the defaults and validates the result. */
export function resolveConfig(flags: RawSettings, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const fromEnv = settingsFromEnv(env);
  const configPath = flags.config ?? fromEnv.config;
  const fromFile = typeof configPath === 'string' ? readConfigFile(configPath) : {};
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...fromFile };
  for (const source of [fromEnv, flags]) {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined || key === 'config') continue;
      applySetting(config, key as keyof ServerConfig, value);
    }
  }
  return validate(config);
}

function readConfigFile(path: string): Partial<ServerConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    const known = new Set(Object.keys(DEFAULT_CONFIG));
    for (const key of Object.keys(value)) {
      if (!known.has(key)) throw new Error(`unknown setting "${key}" (known: ${[...known].join(', ')})`);
    }
    return value as Partial<ServerConfig>;
  } catch (error) {
    throw new ConfigError(`config file ${path} is invalid: ${(error as Error).message}`);
  }
}

function applySetting(config: ServerConfig, key: keyof ServerConfig, value: string | boolean): void {
  const target = config as unknown as Record<string, unknown>;
  const current = DEFAULT_CONFIG[key];
  if (key === 'allowedOrigins') {
    target[key] = String(value)
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean);
  } else if (typeof current === 'number') {
    const number = Number(value);
    if (!Number.isSafeInteger(number)) throw new ConfigError(`${key} must be a whole number, got "${value}"`);
    target[key] = number;
  } else if (typeof current === 'boolean') {
    target[key] = value === true || value === 'true' || value === '1';
  } else {
    target[key] = value;
  }
}

function validate(config: ServerConfig): ServerConfig {
  if (config.port < 0 || config.port > 65_535)
    throw new ConfigError(`port must be 0-65535, got ${config.port}`);
  if (!['memory', 'sqlite', 'redis'].includes(config.engine)) {
    throw new ConfigError(`engine must be memory, sqlite or redis, got "${config.engine}"`);
  }
  if (!['open', 'token'].includes(config.auth)) {
    throw new ConfigError(`auth must be open or token, got "${config.auth}"`);
  }
  if (config.auth === 'token' && !config.jwtSecret) {
    throw new ConfigError('auth=token needs --jwt-secret (or SWITCHBOARD_JWT_SECRET)');
  }
  if (config.maxMessageBytes < 1 || config.maxBodyBytes < config.maxMessageBytes) {
    throw new ConfigError('maxBodyBytes must be at least maxMessageBytes, and both positive');
  }
  return config;
}
