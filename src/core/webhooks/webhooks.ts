/**
 * Webhooks, the business rules: registration (topic name, SSRF guard, secret), inspection and
 * deletion, plus the job callbacks that ride on the same machinery — a callback is a webhook of
 * kind `callback` on the job's status topic that delivers only the terminal status. Delivery itself
 * is the scheduler's (scheduler.ts, runner.ts).
 */

import { randomBytes } from 'node:crypto';
import type { WebhookRecord } from '../../engines/webhook-store.js';
import { notFound } from '../../protocol/errors.js';
import { createEngineCall } from '../engine-call.js';
import type { Hub } from '../hub.js';
import { jobJson } from '../jobs/job-json.js';
import { isFinished } from '../jobs/transitions.js';
import { assertTopic } from '../validate.js';
import { messageJson } from '../wire-json.js';
import { postWebhook } from './deliver.js';
import { DEFAULT_RETRY_SCHEDULE_MS } from './retry-schedule.js';
import type { DeliveryMetric } from './runner.js';
import { DeliveryScheduler, type DeliverySettings } from './scheduler.js';
import { assertSecret, generateSecret, signatureHeaders } from './sign.js';
import { assertDestination } from './ssrf-guard.js';

export const WEBHOOK_DEFAULTS: DeliverySettings = {
  retryScheduleMs: DEFAULT_RETRY_SCHEDULE_MS,
  timeoutMs: 10_000,
  maxResponseBytes: 65_536,
  maxRedirects: 3,
  allowPrivate: false,
  maxConcurrent: 256,
};

/** A webhook is `failing` after this many failed attempts in a row (and `active` again on success). */
export const FAILING_AFTER = 3;

export interface WebhookState {
  id: string;
  topic: string;
  url: string;
  state: 'active' | 'failing';
  createdAt: number;
  delivered: number;
  failed: number;
  failedAttempts: number;
  /** Messages after the cursor: waiting, or being retried. */
  backlog: number;
  cursor: number;
  attempt: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  lastDeliveredAt: number | null;
}

export interface CallbackJob {
  id: string;
  /** The job's status topic. */
  topic: string;
  callbackUrl: string | null;
  callbackSecret: string | null;
}

export interface CreateWebhooksOptions extends Partial<DeliverySettings> {
  hub: Hub;
  /** The operator's callback secret; without one, one is generated once and kept in the engine. */
  callbackSecret?: string | undefined;
  onOutcome?(outcome: DeliveryMetric): void;
  onError?(error: unknown, record: WebhookRecord): void;
  refreshIntervalMs?: number;
}

const CALLBACK_SECRET_SETTING = 'callbackSecret';
const ID_RE = /^wh_[A-Za-z0-9_-]{1,64}$/;

export type Webhooks = ReturnType<typeof createWebhooks>;

export function createWebhooks(options: CreateWebhooksOptions) {
  const { hub } = options;
  const settings: DeliverySettings = { ...WEBHOOK_DEFAULTS, ...definedOnly(options) };
  const engine = hub.engine;
  let secret: { value: string; generated: boolean } | undefined;
  const callbackSecret = (): string => {
    if (!secret) throw new Error('webhooks are not started');
    return secret.value;
  };
  const scheduler = new DeliveryScheduler<WebhookRecord>({
    ...settings,
    hub,
    leaseName: 'webhook-dispatcher',
    list: () => engine.listWebhooks(),
    store: { get: (id) => engine.getWebhook(id), update: (r, rev) => engine.updateWebhook(r, rev) },
    send: async (record, message, messageId) => {
      // A callback's body is the job itself, as the job store has it (never the status message's
      // data: the store is the truth); a webhook's is the message.
      const job = record.kind === 'callback' ? await callbackJob(record) : undefined;
      const body = job ? jobJson(job) : messageJson(message);
      return postWebhook({
        url: record.url,
        body,
        headers: signatureHeaders(record.secret ?? callbackSecret(), messageId, body, Date.now()),
        timeoutMs: settings.timeoutMs,
        maxResponseBytes: settings.maxResponseBytes,
        maxRedirects: settings.maxRedirects,
        allowPrivate: settings.allowPrivate,
      });
    },
    // A callback fires only on a terminal status the job store confirms.
    relevant: async (record, message) => {
      if (record.kind !== 'callback') return true;
      const job = await callbackJob(record);
      return job !== undefined && isFinished(job) && job.status === message.event;
    },
    deadLetterFields: (record) =>
      `"webhook":${JSON.stringify(record.id)},"url":${JSON.stringify(record.url)}`,
    onOutcome: options.onOutcome,
    onError: options.onError,
    refreshIntervalMs: options.refreshIntervalMs,
    sharedEngine: engine.name === 'redis', // the one engine several nodes share
  });

  const engineCall = createEngineCall(engine.name);
  /** The job a callback reports on: its status topic is `jobs.<queue>.<id>`. */
  const callbackJob = async (record: WebhookRecord) =>
    (await engine.getJob(record.topic.slice(record.topic.lastIndexOf('.') + 1))) ?? undefined;

  const stateOf = async (stored: WebhookRecord): Promise<WebhookState> => {
    const record = scheduler.current(stored.id) ?? stored;
    const log = await engineCall('read the topic', () => engine.state(record.topic));
    const sameLog = record.epoch === null || record.epoch === log.epoch;
    return {
      id: record.id,
      topic: record.topic,
      url: record.url,
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

  const find = async (id: unknown): Promise<WebhookRecord> => {
    const record =
      typeof id === 'string' && ID_RE.test(id)
        ? await engineCall('read the webhook', () => engine.getWebhook(id))
        : null;
    if (record?.kind !== 'topic') {
      throw notFound(`webhook ${JSON.stringify(id)} does not exist; GET /v1/webhooks lists them`);
    }
    return record;
  };

  const newRecord = (fields: Pick<WebhookRecord, 'id' | 'kind' | 'topic' | 'url' | 'secret'>) => ({
    ...fields,
    createdAt: hub.options.now(),
    epoch: null,
    cursor: 0,
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
  });

  return {
    settings,

    /** The callback secret in use, and whether it was generated by this start (show it once). */
    get callbackSecret(): { value: string; generated: boolean } {
      if (!secret) throw new Error('webhooks are not started');
      return secret;
    },

    async start(): Promise<void> {
      if (options.callbackSecret) {
        secret = { value: assertSecret(options.callbackSecret, 'callbackSecret'), generated: false };
      } else {
        const fresh = generateSecret();
        const value = await engine.ensureSetting(CALLBACK_SECRET_SETTING, fresh);
        secret = { value, generated: value === fresh };
      }
      await scheduler.start();
    },

    stop: () => scheduler.stop(),

    /** Registers a webhook that receives the topic's messages published from now on. */
    async register(topic: string, body: { url?: unknown; secret?: unknown }) {
      assertTopic(topic);
      const url = await assertDestination(body.url, { allowPrivate: settings.allowPrivate });
      const webhookSecret =
        body.secret === undefined || body.secret === null ? generateSecret() : assertSecret(body.secret);
      const log = await engineCall('read the topic', () => engine.state(topic));
      const record: WebhookRecord = {
        ...newRecord({
          id: `wh_${randomBytes(16).toString('base64url')}`,
          kind: 'topic',
          topic,
          url: url.toString(),
          secret: webhookSecret,
        }),
        epoch: log.epoch,
        cursor: log.last,
      };
      await engineCall('store the webhook', () => engine.createWebhook(record));
      scheduler.add(record);
      return { id: record.id, url: record.url, topic, secret: webhookSecret };
    },

    async list(): Promise<WebhookState[]> {
      const records = await engineCall('list webhooks', () => engine.listWebhooks());
      return Promise.all(records.filter((record) => record.kind === 'topic').map(stateOf));
    },

    async get(id: unknown): Promise<WebhookState> {
      return stateOf(await find(id));
    },

    async delete(id: unknown): Promise<void> {
      const record = await find(id);
      await engineCall('delete the webhook', () => engine.deleteWebhook(record.id));
      scheduler.remove(record.id);
    },

    /** The SSRF guard for a job's callbackUrl at submit time (400 naming the reason). */
    async checkCallbackUrl(url: unknown): Promise<string> {
      return (
        await assertDestination(url, { allowPrivate: settings.allowPrivate, what: 'callbackUrl' })
      ).toString();
    },

    /**
     * Makes sure the job's callback exists (idempotent: a callback that already delivered stays
     * done). It reads the status topic from its start, so it may be created late.
     */
    async ensureCallback(job: CallbackJob): Promise<void> {
      if (!job.callbackUrl) return;
      const id = `cb_${job.id}`;
      if (await engineCall('read the callback', () => engine.getWebhook(id))) return;
      const record: WebhookRecord = newRecord({
        id,
        kind: 'callback',
        topic: job.topic,
        url: job.callbackUrl,
        secret: job.callbackSecret,
      });
      if (await engineCall('store the callback', () => engine.createWebhook(record))) scheduler.add(record);
    },

    /** Drops a job's callback state (the job is removed by retention). */
    async forgetCallback(jobId: string): Promise<void> {
      const id = `cb_${jobId}`;
      scheduler.remove(id);
      await engineCall('delete the callback', () => engine.deleteWebhook(id));
    },
  };
}

function definedOnly(options: CreateWebhooksOptions): Partial<DeliverySettings> {
  const keys: Array<keyof DeliverySettings> = [
    'retryScheduleMs',
    'timeoutMs',
    'maxResponseBytes',
    'maxRedirects',
    'allowPrivate',
    'maxConcurrent',
  ];
  return Object.fromEntries(
    keys.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]),
  );
}
