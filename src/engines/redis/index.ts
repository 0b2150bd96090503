/**
 * The Redis engine: several Switchboard nodes share one Redis. Each topic is a stream whose entry
 * IDs are the offsets, plus a meta hash (epoch, floor, last) and a dedupe hash; every state change
 * is one Lua script, so offsets stay contiguous whichever node appends. Cross-node wake-ups go over
 * pub/sub (see signal.ts); readers always read the stream.
 *
 * An append is acknowledged once Redis has executed the script: how durable that is depends on
 * Redis's AOF settings, which `open()` checks and warns about (see persistence.ts, docs/scaling.md).
 */
import { randomBytes } from 'node:crypto';
import { unavailable } from '../../protocol/errors.js';
import type {
  AppendedListener,
  AppendRequest,
  AppendResult,
  Engine,
  LogState,
  ReadResult,
  SweepRequest,
  TopicSummary,
} from '../engine.js';
import { newEpoch } from '../epoch.js';
import { AppendedSignal } from '../listeners.js';
import {
  type ClusterTarget,
  closeConnection,
  createConnection,
  describeCluster,
  describeRedisUrl,
  describeSentinels,
  dropConnection,
  type RedisClient,
  redisFailure,
  type SentinelTarget,
  withDeadline,
} from './connection.js';
import { createTopicDirectory } from './directory.js';
import { createRedisGroupStore, GROUP_SCRIPTS } from './groups.js';
import { createRedisJobStore } from './jobs.js';
import { DEFAULT_KEY_PREFIX, keyLayout } from './keys.js';
import { type StreamEntry, toAppendResult, toLogState, toMessages } from './messages.js';
import { createRedisMqttStore } from './mqtt.js';
import { persistenceWarnings } from './persistence.js';
import { createRedisPresenceStore } from './presence.js';
import { createRedisPushStore } from './push.js';
import { type CallOptions, createReplicaBarrier } from './replicas.js';
import { createRedisReplyStore } from './replies.js';
import { createRedisScheduleStore } from './schedules.js';
import { APPEND_SCRIPT } from './scripts/append.js';
import { defineScripts, runScript } from './scripts/define.js';
import { DELETE_TOPIC_SCRIPT } from './scripts/delete-topic.js';
import { READ_SCRIPT } from './scripts/read.js';
import { SWEEP_SCRIPT } from './scripts/sweep.js';
import { subscribeWakeUps, type WakeUps } from './signal.js';
import { createRedisWebhookStore } from './webhooks.js';

export interface RedisEngineOptions {
  /** e.g. `redis://127.0.0.1:6379`, `redis://:password@host:6379/2`, `rediss://…` for TLS. */
  url: string;
  /** Prefix of every key and of the wake-up channel: hubs with different prefixes share nothing. */
  keyPrefix?: string;
  /** @default 2_000 */
  connectTimeoutMs?: number;
  /** A command without a reply after this long fails (503), instead of hanging. @default 5_000 */
  commandTimeoutMs?: number;
  /**
   * Find the master through Redis Sentinel (`--redis-sentinels`, `--redis-sentinel-name`) instead of
   * `url`'s host; `url` then only supplies the password, database and TLS.
   */
  sentinel?: SentinelTarget;
  /**
   * Use a Redis Cluster (`--redis-cluster h:p,…`, its seed nodes) instead of one Redis; `url` then
   * only supplies the password and TLS. Every script touches one slot (keys.ts, docs/scaling.md).
   */
  cluster?: ClusterTarget;
  /**
   * Replicas that must confirm an append (and a job or group write) before it is acknowledged:
   * `WAIT N` once per batch of concurrent writes. 503 when fewer confirm in time. @default 0
   */
  waitReplicas?: number;
  /** How long the WAIT above may block. @default 1_000 */
  waitReplicasTimeoutMs?: number;
  /** Receives the startup warnings (weak persistence). @default writes them to stderr */
  warn?: (message: string) => void;
}

/** A nack or release on another node made messages of `group` claimable at `at` (ms). */
export type GroupReadyListener = (topic: string, group: string, at: number) => void;

export interface RedisEngine extends Engine {
  readonly name: 'redis';
  /**
   * Cross-node group wake-ups, beyond the Engine contract: a claim held on this node may listen
   * here to learn of nacks and releases on other nodes at once (lease expiries it learns through
   * `nextDueAt`, and new messages through `onAppended`).
   */
  onGroupReady(listener: GroupReadyListener): () => void;
  /** Random id of this engine instance (this node), carried by its wake-ups. */
  readonly nodeId: string;
  /** Warnings found by `open()` about Redis's persistence settings (empty when they are sound). */
  warnings(): readonly string[];
}

const isCommandTimeout = (error: unknown): boolean =>
  error instanceof Error && error.message === 'Command timed out';

/**
 * A command that got no answer within the command timeout means a hung Redis or a half-open link
 * (the peer gone without a reset: ioredis would keep writing into it forever). Start a fresh
 * connection; commands fail at once meanwhile (no offline queue), as during any outage.
 */
const reconnecting = new WeakSet<RedisClient>();
function dropHalfOpen(connection: RedisClient): void {
  if (reconnecting.has(connection)) return;
  reconnecting.add(connection);
  connection.disconnect(true);
  setTimeout(() => reconnecting.delete(connection), 1_000).unref();
}

/** An append that gave out offset 1 created the log (a new topic, or a new epoch after a wipe). */
const createdLog = (result: AppendResult): boolean =>
  result.outcomes.some((outcome) => !outcome.duplicate && outcome.offset === 1);

const SCRIPTS = [APPEND_SCRIPT, READ_SCRIPT, SWEEP_SCRIPT, DELETE_TOPIC_SCRIPT, ...GROUP_SCRIPTS];

export function createRedisEngine(options: RedisEngineOptions): RedisEngine {
  const keys = keyLayout(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
  const server = options.cluster
    ? describeCluster(options.cluster)
    : options.sentinel
      ? describeSentinels(options.sentinel)
      : describeRedisUrl(options.url);
  if (options.cluster && options.sentinel) {
    throw new Error('choose Redis Cluster or Sentinel, not both (Cluster has its own failover)');
  }
  if (options.cluster && (options.waitReplicas ?? 0) > 0) {
    // WAIT counts the writes of one connection to one master; a Cluster spreads them over several.
    throw new Error('--redis-wait-replicas is not supported with --redis-cluster yet (docs/scaling.md)');
  }
  const directory = createTopicDirectory(keys);
  const nodeId = randomBytes(6).toString('base64url');
  const warn = options.warn ?? ((message) => process.stderr.write(`switchboard: warning: ${message}\n`));
  const signal = new AppendedSignal();
  const groupReady = new Set<GroupReadyListener>();
  const settings = {
    url: options.url,
    sentinel: options.sentinel,
    cluster: options.cluster,
    connectTimeoutMs: options.connectTimeoutMs ?? 2_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 5_000,
  };
  const replicas = createReplicaBarrier({
    replicas: options.waitReplicas ?? 0,
    timeoutMs: options.waitReplicasTimeoutMs ?? 1_000,
  });
  let redis: RedisClient | undefined;
  let subscriber: RedisClient | undefined;
  let wakeUps: WakeUps | undefined;
  let warnings: string[] = [];

  const client = (): RedisClient => {
    if (!redis) throw unavailable(`the Redis engine for ${server} is not open`);
    return redis;
  };

  /** Runs one Redis operation; any failure becomes a 503 saying what did not happen. */
  const call = async <T>(
    what: string,
    operation: (redis: RedisClient) => Promise<T>,
    callOptions?: CallOptions,
  ): Promise<T> => {
    const connection = client();
    try {
      const socket = 'stream' in connection ? connection.stream : undefined;
      const result = await operation(connection);
      if (callOptions?.replicated && 'stream' in connection) {
        await replicas.wait(connection);
        // WAIT counts only this socket's writes: one on a reconnected socket proves nothing.
        if (connection.stream !== socket) throw replicas.unconfirmed('the connection to Redis was replaced');
      }
      return result;
    } catch (error) {
      if (isCommandTimeout(error)) dropHalfOpen(connection);
      throw redisFailure(server, connection, what, error);
    }
  };

  const emit = (topic: string, last: number): void => {
    try {
      signal.emit(topic, last);
    } catch {
      // a listener's failure must not turn a stored append into an error
    }
  };

  const topics = (): Promise<TopicSummary[]> =>
    call('list topics', async (r) => {
      const names = await directory.names(r);
      // One command per topic, sent together, back to back on each shard's connection.
      const states = await Promise.all(
        names.map((name) => r.hmget(keys.topic(name).meta, 'epoch', 'floor', 'last')),
      );
      const summaries: TopicSummary[] = [];
      names.forEach((topic, i) => {
        const state = toLogState(states[i] as Array<string | null>);
        // A listed name without a log: a node died between listing and creating it (directory.ts).
        if (state.epoch !== null) summaries.push({ topic, ...state, epoch: state.epoch });
      });
      return summaries;
    });

  const replies = createRedisReplyStore({ keys, nodeId, call });
  const presence = createRedisPresenceStore({ keys, call });

  const groups = createRedisGroupStore({
    keys,
    nodeId,
    call,
    directory,
    newEpoch,
    emitAppended: emit,
  });

  return {
    ...groups,
    ...createRedisJobStore({ keys, nodeId, call, directory, newEpoch, emitAppended: emit }),
    ...createRedisWebhookStore({ keys, call }),
    ...createRedisPushStore({ keys, call }),
    ...createRedisMqttStore({ keys, call }),
    ...createRedisScheduleStore({ keys, nodeId, call, directory, newEpoch, emitAppended: emit }),
    replies,
    presence,
    name: 'redis',
    location: `${server} (keys ${keys.prefix}:*)`,
    nodeId,
    warnings: () => warnings,

    async open() {
      if (redis) return;
      const command = createConnection({ ...settings, connectionName: `switchboard-${nodeId}` });
      const listener = createConnection({ ...settings, connectionName: `switchboard-${nodeId}-wake` });
      try {
        // Sentinel mode retries the sentinels forever: at startup, give up instead of hanging.
        const startup = settings.connectTimeoutMs * 3;
        await withDeadline(command.connect(), startup, 'connect');
        defineScripts(command, SCRIPTS);
        redis = command;
        subscriber = listener;
        wakeUps = await withDeadline(
          subscribeWakeUps({
            subscriber: listener,
            channel: keys.appendedChannel,
            nodeId,
            deliver: emit,
            deliverGroup: (topic, group, at) => {
              for (const notify of groupReady) notify(topic, group, at);
            },
            // Missed wake-ups while disconnected: wake every topic once; readers compare with the log.
            resync: () => {
              topics().then(
                (all) => {
                  for (const topic of all) emit(topic.topic, topic.last);
                },
                () => {}, // Redis went away again: the next reconnect resyncs
              );
            },
            heartbeatMs: 5_000,
          }),
          startup,
          'subscribe to wake-ups',
        );
        presence.attach(command);
        await replies.attach(command, listener);
        warnings = await persistenceWarnings(command, server);
      } catch (error) {
        redis = undefined;
        subscriber = undefined;
        dropConnection(command);
        dropConnection(listener);
        throw redisFailure(server, command, 'open the engine', error);
      }
      for (const warning of warnings) warn(warning);
    },

    async close() {
      await wakeUps?.close();
      const connections = [redis, subscriber].filter((c): c is RedisClient => c !== undefined);
      redis = undefined;
      subscriber = undefined;
      wakeUps = undefined;
      await Promise.all(connections.map(closeConnection));
    },

    async ping() {
      await call('answer PING', (r) => r.ping());
    },

    async append(request: AppendRequest): Promise<AppendResult> {
      const { topic, entries, now, dedupeWindowMs, retention } = request;
      const k = keys.topic(topic);
      const args: Array<string | number> = [
        topic,
        newEpoch(),
        now,
        dedupeWindowMs,
        retention.maxCount,
        keys.appendedChannel,
        nodeId,
        entries.length,
      ];
      for (const entry of entries) {
        args.push(entry.event ?? '', entry.data, entry.idempotencyKey ?? '', entry.replyTo ?? '');
      }
      return call(
        'store the message (it may or may not be stored: retry with the same idempotency key)',
        async (r) => {
          await directory.ensure(r, topic);
          const reply = await runScript(r, APPEND_SCRIPT, [k.meta, k.log, k.dedupe, k.dedupeTimes], args);
          const result = toAppendResult(reply as Array<string | number>);
          if (createdLog(result)) await directory.created(r, topic);
          // Other nodes hear the script's PUBLISH; this node wakes its own readers at once (even
          // when the replica WAIT that follows fails: the message is in the log).
          if (result.outcomes.some((o) => !o.duplicate)) emit(topic, result.last);
          return result;
        },
        { replicated: true },
      );
    },

    async read(topic: string, after: number, limit: number): Promise<ReadResult> {
      const k = keys.topic(topic);
      const reply = (await call('read the log', (r) =>
        runScript(r, READ_SCRIPT, [k.meta, k.log], [after, limit]),
      )) as [string, string, string, StreamEntry[]] | [];
      if (reply.length === 0) return { epoch: null, floor: 0, last: 0, messages: [] };
      const [epoch, floor, last, entries] = reply;
      return { epoch, floor: Number(floor), last: Number(last), messages: toMessages(topic, entries) };
    },

    async state(topic: string): Promise<LogState> {
      const fields = await call('read the log state', (r) =>
        r.hmget(keys.topic(topic).meta, 'epoch', 'floor', 'last'),
      );
      return toLogState(fields);
    },

    topics,

    async deleteTopic(topic: string): Promise<boolean> {
      const k = keys.topic(topic);
      const existed = await call('delete the topic', async (r) => {
        const deleted = await runScript(r, DELETE_TOPIC_SCRIPT, [k.meta, k.log, k.dedupe, k.dedupeTimes], []);
        await directory.remove(r, topic);
        return deleted;
      });
      return existed === 1;
    },

    async sweep({ now, retentionFor, dedupeWindowMs }: SweepRequest): Promise<void> {
      await call('sweep retention', async (r) => {
        const names = await directory.names(r);
        // Every topic's sweep script sent together, back to back on each shard's connection.
        await Promise.all(
          names.map((topic) => {
            const k = keys.topic(topic);
            return runScript(
              r,
              SWEEP_SCRIPT,
              [k.meta, k.log, k.dedupe, k.dedupeTimes],
              [now - retentionFor(topic).maxAgeMs, now - dedupeWindowMs],
            );
          }),
        );
      });
    },

    onAppended(listener: AppendedListener): () => void {
      return signal.add(listener);
    },

    onGroupReady(listener: GroupReadyListener): () => void {
      groupReady.add(listener);
      return () => groupReady.delete(listener);
    },
  };
}
