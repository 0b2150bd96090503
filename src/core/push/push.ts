/**
 * Web Push, the business rules (docs/push.md): the VAPID keys, registering a browser's push
 * subscription on a topic, inspecting and deleting it. Delivery runs on the webhooks' machinery —
 * one ordered loop per subscription with a persisted cursor, retries with backoff, dead letters,
 * a cap on requests in flight, one delivering node — with sending swapped for send.ts.
 */
import { createHash } from 'node:crypto';
import type { PushSubscriptionRecord } from '../../engines/push-store.js';
import { notFound, unavailable } from '../../protocol/errors.js';
import { createEngineCall } from '../engine-call.js';
import type { Hub } from '../hub.js';
import { assertTopic } from '../validate.js';
import type { DeliveryMetric } from '../webhooks/runner.js';
import { DeliveryScheduler } from '../webhooks/scheduler.js';
import type { Resolver } from '../webhooks/ssrf-guard.js';
import { sendPush } from './send.js';
import { parseSubscription } from './subscription.js';
import { assertVapidKeys, generateVapidKeys, type VapidKeys, VapidSigner } from './vapid.js';

/**
 * After the first failure 5 s, then 30 s, 2 min, 10 min, 30 min and 1 h (±20% jitter): about 1.7
 * hours, then the dead letter. Shorter than webhooks', because a notification loses its worth fast
 * and the push service itself keeps the message for its TTL once it has taken it.
 */
export const DEFAULT_PUSH_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000,
];
/** Subscriptions a server holds at most; any subscriber can add one, so the total is bounded. */
export const MAX_PUSH_SUBSCRIPTIONS = 100_000;
/** A subscription is `failing` after this many failed attempts in a row (as webhooks). */
const FAILING_AFTER = 3;
const VAPID_SETTING = 'vapidKeys';
const ID_RE = /^ps_[A-Za-z0-9_-]{1,64}$/;

export interface CreatePushOptions {
  hub: Hub;
  allowPrivate?: boolean;
  retryScheduleMs?: readonly number[];
  timeoutMs?: number;
  /** Configured keys; without them a pair is generated once and kept in the engine. */
  vapidKeys?: VapidKeys | undefined;
  /** The VAPID `sub` claim: a `mailto:` or `https:` contact for push service operators. */
  vapidSubject?: string | undefined;
  maxConcurrent?: number;
  refreshIntervalMs?: number;
  onOutcome?(outcome: DeliveryMetric): void;
  onError?(error: unknown, record: PushSubscriptionRecord): void;
  /** Replaces the system DNS resolver at registration (tests). */
  resolve?: Resolver;
}

export interface PushSubscriptionState {
  id: string;
  topic: string;
  /** The push service's origin (the endpoint's path is the browser's secret and is not shown). */
  pushService: string;
  ttl: number;
  urgency: string;
  state: 'active' | 'failing';
  createdAt: number;
  delivered: number;
  failed: number;
  failedAttempts: number;
  backlog: number;
  cursor: number;
  attempt: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  lastDeliveredAt: number | null;
}

export type Push = ReturnType<typeof createPush>;

export function createPush(options: CreatePushOptions) {
  const { hub } = options;
  const engine = hub.engine;
  const engineCall = createEngineCall(engine.name);
  const allowPrivate = options.allowPrivate ?? false;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let signer: VapidSigner | undefined;
  const vapid = (): VapidSigner => {
    if (!signer) throw new Error('push is not started');
    return signer;
  };

  const scheduler = new DeliveryScheduler<PushSubscriptionRecord>({
    hub,
    retryScheduleMs: options.retryScheduleMs ?? DEFAULT_PUSH_RETRY_SCHEDULE_MS,
    maxConcurrent: options.maxConcurrent ?? 256,
    leaseName: 'push-dispatcher',
    list: () => engine.listPushSubscriptions(),
    store: {
      get: (id) => engine.getPushSubscription(id),
      update: (record, revision) => engine.updatePushSubscription(record, revision),
    },
    send: (record, message) => sendPush(record, message, vapid(), { timeoutMs, allowPrivate }),
    // Never the endpoint: with the keys it lets anyone notify the browser.
    deadLetterFields: (record) => `"pushSubscription":${JSON.stringify(record.id)}`,
    forget: async (record) => {
      await engine.deletePushSubscription(record.id);
    },
    onOutcome: (outcome) => options.onOutcome?.(outcome),
    onError: (error, record) => options.onError?.(error, record),
    ...(options.refreshIntervalMs === undefined ? {} : { refreshIntervalMs: options.refreshIntervalMs }),
    sharedEngine: engine.name === 'redis',
  });

  const stateOf = async (stored: PushSubscriptionRecord): Promise<PushSubscriptionState> => {
    const record = scheduler.current(stored.id) ?? stored;
    const log = await engineCall('read the topic', () => engine.state(record.topic));
    const sameLog = record.epoch === null || record.epoch === log.epoch;
    return {
      id: record.id,
      topic: record.topic,
      pushService: new URL(record.endpoint).origin,
      ttl: record.ttl,
      urgency: record.urgency,
      state: record.consecutiveFailures >= FAILING_AFTER ? 'failing' : 'active',
      createdAt: record.createdAt,
      delivered: record.delivered,
      failed: record.failed,
      failedAttempts: record.failedAttempts,
      backlog: Math.max(0, log.last - (sameLog ? record.cursor : 0)),
      cursor: record.cursor,
      attempt: record.attempt,
      nextAttemptAt: record.attempt > 0 ? record.nextAttemptAt : null,
      lastError: record.lastError,
      lastErrorAt: record.lastErrorAt,
      lastDeliveredAt: record.lastDeliveredAt,
    };
  };

  return {
    /** The VAPID public key browsers pass to `pushManager.subscribe` (base64url). */
    get publicKey(): string {
      return vapid().publicKey;
    },

    async start(): Promise<{ generated: boolean }> {
      let keys: VapidKeys;
      let generated = false;
      if (options.vapidKeys) keys = assertVapidKeys(options.vapidKeys);
      else {
        const fresh = JSON.stringify(generateVapidKeys());
        const stored = await engine.ensureSetting(VAPID_SETTING, fresh);
        generated = stored === fresh;
        keys = JSON.parse(stored) as VapidKeys;
      }
      signer = new VapidSigner(keys, options.vapidSubject);
      await scheduler.start();
      return { generated };
    },

    stop: () => scheduler.stop(),

    /** The topic's record for a subscription, for authorization before get/delete. */
    async find(id: unknown): Promise<PushSubscriptionRecord> {
      const record =
        typeof id === 'string' && ID_RE.test(id)
          ? await engineCall('read the push subscription', () => engine.getPushSubscription(id))
          : null;
      if (!record) throw notFound(`push subscription ${JSON.stringify(id)} does not exist`);
      return record;
    },

    /**
     * Registers a browser's subscription for the topic's messages published from now on. The same
     * endpoint on the same topic is one subscription (browsers subscribe again on every visit):
     * registering it again keeps its id, and new keys or settings replace the old ones.
     */
    async register(topic: string, body: Record<string, unknown>): Promise<{ id: string }> {
      assertTopic(topic);
      const input = await parseSubscription(body, {
        allowPrivate,
        ...(options.resolve ? { resolve: options.resolve } : {}),
      });
      const id = `ps_${createHash('sha256').update(`${topic}\n${input.endpoint}`).digest('base64url').slice(0, 32)}`;
      const existing = await engineCall('read the push subscription', () => engine.getPushSubscription(id));
      if (existing) {
        const same =
          existing.p256dh === input.p256dh &&
          existing.auth === input.auth &&
          existing.ttl === input.ttl &&
          existing.urgency === input.urgency;
        if (same) return { id };
        scheduler.remove(id);
        await engineCall('replace the push subscription', () => engine.deletePushSubscription(id));
      } else if (scheduler.running >= MAX_PUSH_SUBSCRIPTIONS) {
        throw unavailable(`this server holds ${MAX_PUSH_SUBSCRIPTIONS} push subscriptions, its limit`);
      }
      const log = await engineCall('read the topic', () => engine.state(topic));
      const record: PushSubscriptionRecord = {
        id,
        kind: 'push',
        topic,
        ...input,
        createdAt: hub.options.now(),
        epoch: log.epoch,
        cursor: log.last,
        attempt: 0,
        nextAttemptAt: 0,
        delivered: 0,
        failed: 0,
        failedAttempts: 0,
        consecutiveFailures: 0,
        lastError: null,
        lastErrorAt: null,
        lastDeliveredAt: null,
        done: false,
        revision: 1,
      };
      await engineCall('store the push subscription', () => engine.createPushSubscription(record));
      scheduler.add(record);
      return { id };
    },

    state: stateOf,

    async delete(record: PushSubscriptionRecord): Promise<void> {
      await engineCall('delete the push subscription', () => engine.deletePushSubscription(record.id));
      scheduler.remove(record.id);
    },
  };
}
