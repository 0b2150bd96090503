/**
 * Server configuration: defaults, then a JSON config file, then `SWITCHBOARD_*` environment
 * variables (and `PORT`), then command-line flags. Every value is checked once, here.
 */
import { readFileSync } from 'node:fs';
import { WS_AUTH_DEADLINE_MS } from '../core/auth.js';
import type { RetentionRule } from '../core/options.js';
import { DEFAULT_PUSH_RETRY_SCHEDULE_MS } from '../core/push/push.js';
import { assertVapidKeys } from '../core/push/vapid.js';
import { DEFAULT_RETRY_SCHEDULE_MS, isValidSchedule } from '../core/webhooks/retry-schedule.js';
import { assertSecret } from '../core/webhooks/sign.js';
import { validateRedisTopology } from './redis-topology.js';

export type EngineName = 'memory' | 'sqlite' | 'redis';
export type AuthMode = 'open' | 'token';

export interface ServerConfig {
  host: string;
  port: number;
  engine: EngineName;
  dataDir: string;
  redisUrl: string;
  /** Sentinels (`host:port`) that name the Redis master; implies engine redis (docs/scaling.md). */
  redisSentinels: string[];
  /** The master name the sentinels monitor; required with redisSentinels. */
  redisSentinelName: string | undefined;
  /** Seed nodes (`host:port`) of a Redis Cluster; implies engine redis (docs/scaling.md#cluster). */
  redisCluster: string[];
  /** Replicas that must confirm a write (Redis WAIT) before it is acknowledged; 0 = off. @default 0 */
  redisWaitReplicas: number;
  auth: AuthMode;
  /** HS256 secret (at least 32 bytes) for token mode. */
  jwtSecret: string | undefined;
  /** RS/ES/EdDSA public key for token mode: a PEM or JWK file path, or the PEM/JWK text itself. */
  jwtPublicKey: string | undefined;
  /** JWKS endpoint for token mode (https, or http on loopback); keys are cached for 10 minutes. */
  jwksUrl: string | undefined;
  /** Required `aud` claim, when set. */
  jwtAudience: string | undefined;
  /** Required `iss` claim, when set. */
  jwtIssuer: string | undefined;
  /** Clock skew allowed on `exp`/`nbf`, 0-30 s. @default 30 */
  jwtClockToleranceSeconds: number;
  /** `GET /metrics` without a token in token mode (else it needs an admin token). @default false */
  metricsPublic: boolean;
  /** Publishes per second per token `sub` (per address in open mode); 0 = unlimited. @default 1_000 */
  publishRate: number;
  /** Publishes a client may make at once above the rate. @default 2_000 */
  publishBurst: number;
  /** Published bytes (request bodies, WebSocket frames) per second per client; 0 = unlimited. @default 8_388_608 (8 MiB) */
  publishBytesPerSecond: number;
  /** Bytes a client may publish at once above the byte rate. @default 16_777_216 (16 MiB) */
  publishBytesBurst: number;
  /** Open TCP connections in total; more are answered 503 and closed. 0 = unlimited. @default 20_000 */
  maxConnections: number;
  /** Open TCP connections per address (IPv6: per /64); more are answered 429. 0 = unlimited. @default 2_000 */
  maxConnectionsPerIp: number;
  /** Long polls held at once; more answer 503. @default 20_000 */
  maxLongPolls: number;
  /** Message bytes one topic may store (an estimate; 507 past it). 0 = no cap. @default 0 */
  maxTopicBytes: number;
  /** Message bytes all topics may store together (an estimate; 507 past it). 0 = no cap. @default 0 */
  maxStoredBytes: number;
  /** Browser origins allowed besides the server's own; `*` allows any. */
  allowedOrigins: string[];
  /** Host names a loopback-bound server answers besides localhost, 127.x.y.z and [::1] (DNS-rebinding guard). */
  allowedHosts: string[];
  allowPrivateWebhooks: boolean;
  // Jobs and webhooks: see docs/jobs.md and docs/webhooks.md.
  /** Finished jobs are kept this long, then removed with their status topics. @default 604_800_000 (7 days) */
  jobRetentionMs: number;
  /** Signs job callbacks submitted without a callbackSecret (`whsec_…`); generated once per store when unset. */
  callbackSecret: string | undefined;
  /** Delays between webhook delivery attempts; after the last one the message is dead-lettered. */
  webhookRetryScheduleMs: number[];
  /** A webhook receiver must answer within this. @default 10_000 (10 s) */
  webhookTimeoutMs: number;
  // Web Push: see docs/push.md.
  /** VAPID key pair, base64url (both or neither); generated once per data directory when unset. */
  vapidPublicKey: string | undefined;
  vapidPrivateKey: string | undefined;
  /** VAPID `sub`: a `mailto:` or `https:` contact push services may use to reach the operator. */
  vapidSubject: string | undefined;
  /** Delays between push delivery attempts; after the last one the message is dead-lettered. */
  pushRetryScheduleMs: number[];
  logLevel: string;
  /** Largest request body. @default 1_048_576 (1 MiB) */
  maxBodyBytes: number;
  /** Largest serialized message data. @default 65_536 (64 KiB) */
  maxMessageBytes: number;
  retention: { maxCount: number; maxAgeMs: number; rules: RetentionRule[] };
  dedupeWindowMs: number;
  /** Topic patterns whose subscribers' joins and leaves are published on `{topic}.presence` (docs/presence.md). */
  presenceEvents: string[];
  /** With several nodes, a crashed node's clients leave the presence lists this long after its last heartbeat. */
  presenceTtlMs: number;
  /** Time allowed for a client to send a request's headers (slow-loris guard). @default 10_000 (10 s) */
  headersTimeoutMs: number;
  /** Time allowed for a client to send a whole request. @default 30_000 (30 s) */
  requestTimeoutMs: number;
  /** Idle time before a keep-alive connection is closed. @default 65_000 (65 s) */
  keepAliveTimeoutMs: number;
  /** Largest request head (request line + headers). @default 16_384 (16 KiB) */
  maxHeaderBytes: number;
  // Server push (SSE and WebSocket): see docs/protocol.md.
  /** Interval of SSE keep-alive comments (proxies drop idle streams). @default 15_000 (15 s) */
  sseKeepAliveMs: number;
  /** `retry:` hint sent to EventSource clients (reconnect delay). @default 2_000 (2 s) */
  sseRetryMs: number;
  /** Interval of WebSocket pings; a peer that misses one ping is terminated. @default 25_000 (25 s) */
  wsPingIntervalMs: number;
  /**
   * Largest WebSocket frame answered normally; larger ones (up to twice this) get an error reply,
   * still larger ones close the connection with 1009. 0 = maxMessageBytes + 16 KiB of envelope.
   * @default 0
   */
  wsMaxPayloadBytes: number;
  /**
   * Bytes a push connection may have queued and unsent; past this it is a slow consumer and is closed
   * (WebSocket 4001, SSE `close` event) to resume from its last offset. @default 1_048_576 (1 MiB)
   */
  pushMaxBufferedBytes: number;
  /** Topics one WebSocket or SSE connection may subscribe to. @default 100 */
  maxTopicsPerConnection: number;
  /** TCP port of the MQTT broker (docs/mqtt.md); 0 = any free port; unset = MQTT over TCP off. */
  mqttPort: number | undefined;
  /**
   * WebSocket subscribe/unsubscribe/auth ops plus malformed frames per second per connection
   * (bursts of twice this pass); more closes the connection with 4429. @default 100
   */
  wsControlOpsPerSecond: number;
  /**
   * Token mode: a WebSocket that connected without a token and sent no valid `auth` op within this
   * time is closed with 4401. @default 10_000 (10 s)
   */
  wsAuthDeadlineMs: number;
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 8080,
  engine: 'sqlite',
  dataDir: './data',
  redisUrl: 'redis://127.0.0.1:6379',
  redisSentinels: [],
  redisSentinelName: undefined,
  redisCluster: [],
  redisWaitReplicas: 0,
  auth: 'open',
  jwtSecret: undefined,
  jwtPublicKey: undefined,
  jwksUrl: undefined,
  jwtAudience: undefined,
  jwtIssuer: undefined,
  jwtClockToleranceSeconds: 30,
  metricsPublic: false,
  publishRate: 1_000,
  publishBurst: 2_000,
  publishBytesPerSecond: 8_388_608,
  publishBytesBurst: 16_777_216,
  maxConnections: 20_000,
  maxConnectionsPerIp: 2_000,
  maxLongPolls: 20_000,
  maxTopicBytes: 0,
  maxStoredBytes: 0,
  allowedOrigins: [],
  allowedHosts: [],
  allowPrivateWebhooks: false,
  jobRetentionMs: 7 * 24 * 3_600_000,
  callbackSecret: undefined,
  webhookRetryScheduleMs: [...DEFAULT_RETRY_SCHEDULE_MS],
  webhookTimeoutMs: 10_000,
  vapidPublicKey: undefined,
  vapidPrivateKey: undefined,
  vapidSubject: undefined,
  pushRetryScheduleMs: [...DEFAULT_PUSH_RETRY_SCHEDULE_MS],
  logLevel: 'info',
  maxBodyBytes: 1_048_576,
  maxMessageBytes: 65_536,
  retention: { maxCount: 10_000, maxAgeMs: 7 * 24 * 3_600_000, rules: [] },
  dedupeWindowMs: 600_000,
  presenceEvents: [],
  presenceTtlMs: 20_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  maxHeaderBytes: 16_384,
  sseKeepAliveMs: 15_000,
  sseRetryMs: 2_000,
  wsPingIntervalMs: 25_000,
  wsMaxPayloadBytes: 0,
  pushMaxBufferedBytes: 1_048_576,
  maxTopicsPerConnection: 100,
  mqttPort: undefined,
  wsControlOpsPerSecond: 100,
  wsAuthDeadlineMs: WS_AUTH_DEADLINE_MS,
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
  ['redisSentinels', 'SWITCHBOARD_REDIS_SENTINELS'],
  ['redisSentinelName', 'SWITCHBOARD_REDIS_SENTINEL_NAME'],
  ['redisCluster', 'SWITCHBOARD_REDIS_CLUSTER'],
  ['redisWaitReplicas', 'SWITCHBOARD_REDIS_WAIT_REPLICAS'],
  ['auth', 'SWITCHBOARD_AUTH'],
  ['jwtSecret', 'SWITCHBOARD_JWT_SECRET'],
  ['jwtPublicKey', 'SWITCHBOARD_JWT_PUBLIC_KEY'],
  ['jwksUrl', 'SWITCHBOARD_JWKS_URL'],
  ['jwtAudience', 'SWITCHBOARD_JWT_AUDIENCE'],
  ['jwtIssuer', 'SWITCHBOARD_JWT_ISSUER'],
  ['jwtClockToleranceSeconds', 'SWITCHBOARD_JWT_CLOCK_TOLERANCE_SECONDS'],
  ['metricsPublic', 'SWITCHBOARD_METRICS_PUBLIC'],
  ['publishRate', 'SWITCHBOARD_PUBLISH_RATE'],
  ['publishBurst', 'SWITCHBOARD_PUBLISH_BURST'],
  ['publishBytesPerSecond', 'SWITCHBOARD_PUBLISH_BYTES_PER_SECOND'],
  ['publishBytesBurst', 'SWITCHBOARD_PUBLISH_BYTES_BURST'],
  ['maxConnections', 'SWITCHBOARD_MAX_CONNECTIONS'],
  ['maxConnectionsPerIp', 'SWITCHBOARD_MAX_CONNECTIONS_PER_IP'],
  ['maxLongPolls', 'SWITCHBOARD_MAX_LONG_POLLS'],
  ['maxTopicBytes', 'SWITCHBOARD_MAX_TOPIC_BYTES'],
  ['maxStoredBytes', 'SWITCHBOARD_MAX_STORED_BYTES'],
  ['headersTimeoutMs', 'SWITCHBOARD_HEADERS_TIMEOUT_MS'],
  ['requestTimeoutMs', 'SWITCHBOARD_REQUEST_TIMEOUT_MS'],
  ['keepAliveTimeoutMs', 'SWITCHBOARD_KEEP_ALIVE_TIMEOUT_MS'],
  ['maxHeaderBytes', 'SWITCHBOARD_MAX_HEADER_BYTES'],
  ['dedupeWindowMs', 'SWITCHBOARD_DEDUPE_WINDOW_MS'],
  ['presenceEvents', 'SWITCHBOARD_PRESENCE_EVENTS'],
  ['presenceTtlMs', 'SWITCHBOARD_PRESENCE_TTL_MS'],
  ['allowedOrigins', 'SWITCHBOARD_ALLOWED_ORIGINS'],
  ['allowedHosts', 'SWITCHBOARD_ALLOWED_HOSTS'],
  ['allowPrivateWebhooks', 'SWITCHBOARD_ALLOW_PRIVATE_WEBHOOKS'],
  ['jobRetentionMs', 'SWITCHBOARD_JOB_RETENTION_MS'],
  ['callbackSecret', 'SWITCHBOARD_CALLBACK_SECRET'],
  ['webhookRetryScheduleMs', 'SWITCHBOARD_WEBHOOK_RETRY_SCHEDULE_MS'],
  ['webhookTimeoutMs', 'SWITCHBOARD_WEBHOOK_TIMEOUT_MS'],
  ['vapidPublicKey', 'SWITCHBOARD_VAPID_PUBLIC_KEY'],
  ['vapidPrivateKey', 'SWITCHBOARD_VAPID_PRIVATE_KEY'],
  ['vapidSubject', 'SWITCHBOARD_VAPID_SUBJECT'],
  ['pushRetryScheduleMs', 'SWITCHBOARD_PUSH_RETRY_SCHEDULE_MS'],
  ['logLevel', 'SWITCHBOARD_LOG_LEVEL'],
  ['maxBodyBytes', 'SWITCHBOARD_MAX_BODY_BYTES'],
  ['maxMessageBytes', 'SWITCHBOARD_MAX_MESSAGE_BYTES'],
  ['sseKeepAliveMs', 'SWITCHBOARD_SSE_KEEP_ALIVE_MS'],
  ['wsMaxPayloadBytes', 'SWITCHBOARD_WS_MAX_PAYLOAD_BYTES'],
  ['pushMaxBufferedBytes', 'SWITCHBOARD_PUSH_MAX_BUFFERED_BYTES'],
  ['maxTopicsPerConnection', 'SWITCHBOARD_MAX_TOPICS_PER_CONNECTION'],
  ['mqttPort', 'SWITCHBOARD_MQTT_PORT'],
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
  if (
    key === 'allowedOrigins' ||
    key === 'allowedHosts' ||
    key === 'presenceEvents' ||
    key === 'redisSentinels' ||
    key === 'redisCluster'
  ) {
    target[key] = String(value)
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean);
  } else if (key === 'webhookRetryScheduleMs' || key === 'pushRetryScheduleMs') {
    target[key] = String(value)
      .split(',')
      .map((delay) => delay.trim())
      .filter(Boolean)
      .map(Number);
  } else if (typeof current === 'number' || key === 'mqttPort') {
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
  if (config.mqttPort !== undefined && !(config.mqttPort >= 0 && config.mqttPort <= 65_535))
    throw new ConfigError(`mqttPort must be 0-65535, got ${config.mqttPort}`);
  if (!['memory', 'sqlite', 'redis'].includes(config.engine)) {
    throw new ConfigError(`engine must be memory, sqlite or redis, got "${config.engine}"`);
  }
  validateRedisTopology(config);
  if (!['open', 'token'].includes(config.auth)) {
    throw new ConfigError(`auth must be open or token, got "${config.auth}"`);
  }
  validateAuth(config);
  if (!(config.presenceTtlMs >= 300 && config.presenceTtlMs <= 30_000)) {
    throw new ConfigError(
      `presenceTtlMs must be 300-30000 (a crashed node's clients leave within it), got ${config.presenceTtlMs}`,
    );
  }
  validateLimits(config);
  validateJobsAndWebhooks(config);
  validatePush(config);
  if (config.maxMessageBytes < 1 || config.maxBodyBytes < config.maxMessageBytes) {
    throw new ConfigError('maxBodyBytes must be at least maxMessageBytes, and both positive');
  }
  for (const key of [
    'sseKeepAliveMs',
    'sseRetryMs',
    'wsPingIntervalMs',
    'pushMaxBufferedBytes',
    'wsAuthDeadlineMs',
  ] as const) {
    if (config[key] < 1) throw new ConfigError(`${key} must be positive, got ${config[key]}`);
  }
  if (config.maxTopicsPerConnection < 1 || config.wsControlOpsPerSecond < 1) {
    throw new ConfigError('maxTopicsPerConnection and wsControlOpsPerSecond must be at least 1');
  }
  if (config.wsMaxPayloadBytes !== 0 && config.wsMaxPayloadBytes < config.maxMessageBytes + 1_024) {
    throw new ConfigError(
      `wsMaxPayloadBytes must be 0 (automatic) or at least maxMessageBytes + 1024 (${config.maxMessageBytes + 1_024}), got ${config.wsMaxPayloadBytes}`,
    );
  }
  return config;
}

function validateAuth(config: ServerConfig): void {
  if (config.auth === 'token' && !config.jwtSecret && !config.jwtPublicKey && !config.jwksUrl) {
    throw new ConfigError(
      'auth=token needs --jwt-secret, --jwt-public-key or --jwks-url (or SWITCHBOARD_JWT_SECRET, …)',
    );
  }
  if (config.jwtSecret !== undefined && Buffer.byteLength(config.jwtSecret) < 32) {
    throw new ConfigError('jwtSecret must be at least 32 bytes; generate one with: openssl rand -base64 32');
  }
  if (config.jwtPublicKey && config.jwksUrl) {
    throw new ConfigError('give either --jwt-public-key or --jwks-url, not both');
  }
  if (config.jwksUrl) {
    let url: URL;
    try {
      url = new URL(config.jwksUrl);
    } catch {
      throw new ConfigError(`jwksUrl is not a URL: "${config.jwksUrl}"`);
    }
    // Keys fetched over plain HTTP could be swapped in transit; allow it only on this machine.
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
      throw new ConfigError('jwksUrl must use https (plain http only on localhost)');
    }
  }
  if (config.jwtClockToleranceSeconds < 0 || config.jwtClockToleranceSeconds > 30) {
    throw new ConfigError(`jwtClockToleranceSeconds must be 0-30, got ${config.jwtClockToleranceSeconds}`);
  }
}

function validateLimits(config: ServerConfig): void {
  for (const key of [
    'publishRate',
    'publishBytesPerSecond',
    'maxTopicBytes',
    'maxStoredBytes',
    'maxConnections',
    'maxConnectionsPerIp',
  ] as const) {
    if (config[key] < 0) throw new ConfigError(`${key} must be 0 (unlimited) or more, got ${config[key]}`);
  }
  for (const key of [
    'publishBurst',
    'publishBytesBurst',
    'maxLongPolls',
    'headersTimeoutMs',
    'requestTimeoutMs',
  ] as const) {
    if (config[key] < 1) throw new ConfigError(`${key} must be at least 1, got ${config[key]}`);
  }
}

function validateJobsAndWebhooks(config: ServerConfig): void {
  if (!Number.isSafeInteger(config.jobRetentionMs) || config.jobRetentionMs < 0) {
    throw new ConfigError(
      `jobRetentionMs must be a whole number of milliseconds, got ${config.jobRetentionMs}`,
    );
  }
  if (!isValidSchedule(config.webhookRetryScheduleMs)) {
    throw new ConfigError(
      'webhookRetryScheduleMs must be a list of at most 50 delays in milliseconds (0 to 7 days each), e.g. 5000,300000,1800000',
    );
  }
  if (config.webhookTimeoutMs < 1 || config.webhookTimeoutMs > 300_000) {
    throw new ConfigError(`webhookTimeoutMs must be 1-300000, got ${config.webhookTimeoutMs}`);
  }
  if (config.callbackSecret !== undefined) {
    try {
      assertSecret(config.callbackSecret, 'callbackSecret');
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
}

function validatePush(config: ServerConfig): void {
  if (!isValidSchedule(config.pushRetryScheduleMs)) {
    throw new ConfigError(
      'pushRetryScheduleMs must be a list of at most 50 delays in milliseconds (0 to 7 days each), e.g. 5000,30000,120000',
    );
  }
  const { vapidPublicKey, vapidPrivateKey, vapidSubject } = config;
  if (Boolean(vapidPublicKey) !== Boolean(vapidPrivateKey)) {
    throw new ConfigError('give both vapidPublicKey and vapidPrivateKey (one pair), or neither');
  }
  if (vapidPublicKey && vapidPrivateKey) {
    try {
      assertVapidKeys({ publicKey: vapidPublicKey, privateKey: vapidPrivateKey });
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  if (vapidSubject !== undefined && !/^(mailto:|https:\/\/)\S+$/.test(vapidSubject)) {
    throw new ConfigError(`vapidSubject must be a mailto: or https: URL, got "${vapidSubject}"`);
  }
}
