/**
 * Runs every webhook's delivery loop (runner.ts): one loop per webhook, so each keeps its order and
 * its own retry timer, while a global cap bounds the POSTs in flight. Loops are woken by appends to
 * their topic (one hub listener for all of them) and by their retry timers.
 *
 * With several nodes on one Redis, one node delivers at a time: a named lease in the engine
 * (`acquireLease('webhook-dispatcher')`), renewed every few seconds; the others keep their loops
 * asleep and take over within the lease's lifetime if the holder dies. Every few seconds the list
 * is read again, so webhooks registered or deleted on other nodes are picked up.
 */
import { randomBytes } from 'node:crypto';
import type { StoredMessage } from '../../engines/engine.js';
import type { WebhookRecord } from '../../engines/webhook-store.js';
import type { Hub } from '../hub.js';
import { messageJson } from '../wire-json.js';
import { type DeliveryOutcome, postWebhook } from './deliver.js';
import { type DeliveryMetric, type RunnerContext, WebhookRunner } from './runner.js';
import { signatureHeaders } from './sign.js';

export interface DeliverySettings {
  retryScheduleMs: readonly number[];
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
  allowPrivate: boolean;
  /** POSTs in flight at once over all webhooks. */
  maxConcurrent: number;
}

export interface SchedulerOptions extends DeliverySettings {
  hub: Hub;
  /** Secret for callbacks submitted without their own. */
  callbackSecret(): string;
  onOutcome?(outcome: DeliveryMetric): void;
  onError?(error: unknown, record: WebhookRecord): void;
  /** How often the list is re-read and the dispatcher lease renewed. @default 5_000 */
  refreshIntervalMs?: number;
  /**
   * True when several nodes share the engine (Redis): only the holder of the dispatcher lease
   * delivers. A single-node engine needs no lease (and must not wait for a dead process's one).
   */
  sharedEngine: boolean;
}

const LEASE_NAME = 'webhook-dispatcher';
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** A counting semaphore: at most `size` holders; the rest wait in order. */
class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(size: number) {
    this.#free = size;
  }
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

export class WebhookScheduler {
  readonly #options: SchedulerOptions;
  readonly #runners = new Map<string, WebhookRunner>();
  readonly #byTopic = new Map<string, Set<WebhookRunner>>();
  readonly #slots: Slots;
  readonly #nodeId = randomBytes(6).toString('base64url');
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #stopListening: (() => void) | undefined;
  #stopped = false;
  readonly #context: RunnerContext;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#slots = new Slots(options.maxConcurrent);
    this.#context = {
      hub: options.hub,
      store: options.hub.engine,
      now: () => options.hub.options.now(),
      schedule: options.retryScheduleMs,
      send: (record, message, messageId) => this.#send(record, message, messageId),
      leading: () => this.#leading && !this.#stopped,
      onOutcome: (outcome) => options.onOutcome?.(outcome),
      onError: (error, record) => options.onError?.(error, record),
    };
  }

  get running(): number {
    return this.#runners.size;
  }

  async start(): Promise<void> {
    const { hub } = this.#options;
    this.#stopListening = hub.onAppended((topic) => {
      for (const runner of this.#byTopic.get(topic) ?? []) runner.wake();
    });
    await this.#refresh();
    const interval = this.#options.refreshIntervalMs ?? 5_000;
    const tick = (): void => {
      this.#timer = setTimeout(() => {
        this.#refresh().then(tick, tick);
      }, interval);
      this.#timer.unref();
    };
    tick();
  }

  /** Starts delivering a webhook just stored (on this node). */
  add(record: WebhookRecord): void {
    if (this.#stopped || this.#runners.has(record.id) || record.done) return;
    const runner = new WebhookRunner(record, this.#context);
    this.#runners.set(record.id, runner);
    let set = this.#byTopic.get(record.topic);
    if (!set) {
      set = new Set();
      this.#byTopic.set(record.topic, set);
    }
    set.add(runner);
    void runner.finished.then(() => this.#forget(record.id, runner));
  }

  /** Stops a webhook's loop (it was deleted); a POST in flight finishes but records nothing. */
  remove(id: string): void {
    this.#runners.get(id)?.stop();
  }

  /** The live state of a webhook this node runs (fresher than the store between writes). */
  current(id: string): WebhookRecord | undefined {
    return this.#runners.get(id)?.record;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#stopListening?.();
    const runners = [...this.#runners.values()];
    for (const runner of runners) runner.stop();
    // A POST in flight may take up to the timeout; its outcome is not recorded anyway (at least once).
    await Promise.race([Promise.all(runners.map((runner) => runner.finished)), delay(1_000)]);
    if (this.#leading && this.#options.sharedEngine) {
      // Hand over at once instead of making the other nodes wait for the lease to run out.
      await this.#options.hub.engine
        .acquireLease(LEASE_NAME, this.#nodeId, this.#options.hub.options.now(), 0)
        .catch(() => false);
    }
    this.#leading = false;
  }

  #forget(id: string, runner: WebhookRunner): void {
    if (this.#runners.get(id) === runner) this.#runners.delete(id);
    const set = this.#byTopic.get(runner.record.topic);
    set?.delete(runner);
    if (set?.size === 0) this.#byTopic.delete(runner.record.topic);
  }

  /** Renews the dispatcher lease and re-reads the list (webhooks added or deleted elsewhere). */
  async #refresh(): Promise<void> {
    if (this.#stopped) return;
    const { hub, refreshIntervalMs = 5_000 } = this.#options;
    const engine = hub.engine;
    const wasLeading = this.#leading;
    this.#leading =
      !this.#options.sharedEngine ||
      (await engine.acquireLease(LEASE_NAME, this.#nodeId, hub.options.now(), refreshIntervalMs * 3));
    const records = await engine.listWebhooks();
    const ids = new Set(records.map((record) => record.id));
    for (const [id, runner] of this.#runners) if (!ids.has(id)) runner.stop();
    for (const record of records) {
      const runner = this.#runners.get(record.id);
      if (!runner) this.add(record);
      else if (!wasLeading && this.#leading) {
        runner.refresh(record); // another node delivered meanwhile: continue from its state
        runner.wake();
      }
    }
  }

  #send(record: WebhookRecord, message: StoredMessage, messageId: string): Promise<DeliveryOutcome> {
    const options = this.#options;
    // A callback's body is the job itself (its status message's data); a webhook's is the message.
    const body = record.kind === 'callback' ? message.data : messageJson(message);
    const secret = record.secret ?? options.callbackSecret();
    return this.#slots.run(() =>
      postWebhook({
        url: record.url,
        body,
        headers: signatureHeaders(secret, messageId, body, Date.now()),
        timeoutMs: options.timeoutMs,
        maxResponseBytes: options.maxResponseBytes,
        maxRedirects: options.maxRedirects,
        allowPrivate: options.allowPrivate,
      }),
    );
  }
}
