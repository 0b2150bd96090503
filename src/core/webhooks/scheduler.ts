/**
 * Runs every destination's delivery loop (runner.ts): one loop per webhook (or push subscription),
 * so each keeps its order and its own retry timer, while a global cap bounds the requests in
 * flight. Loops are woken by appends to their topic (one hub listener for all of them) and by their
 * retry timers. Webhooks and Web Push each run one scheduler; what differs (how a message is sent,
 * where records live) comes in through the options.
 *
 * With several nodes on one Redis, one node delivers at a time: a named lease in the engine
 * (`acquireLease('webhook-dispatcher')`), renewed every few seconds; the others keep their loops
 * asleep and take over within the lease's lifetime if the holder dies. Every few seconds the list
 * is read again, so destinations registered or deleted on other nodes are picked up.
 */
import { randomBytes } from 'node:crypto';
import type { StoredMessage } from '../../engines/engine.js';
import type { Hub } from '../hub.js';
import type { DeliveryOutcome } from './deliver.js';
import {
  type DeliveryMetric,
  type DeliveryRecord,
  type DeliveryRecordStore,
  DeliveryRunner,
  type RunnerContext,
} from './runner.js';

export interface DeliverySettings {
  retryScheduleMs: readonly number[];
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
  allowPrivate: boolean;
  /** POSTs in flight at once over all webhooks. */
  maxConcurrent: number;
}

export interface SchedulerOptions<R extends DeliveryRecord> {
  hub: Hub;
  retryScheduleMs: readonly number[];
  /** Requests in flight at once over all destinations. */
  maxConcurrent: number;
  /** The engine lease that elects the one delivering node. */
  leaseName: string;
  /** Every record to run (re-read every refresh). */
  list(): Promise<R[]>;
  store: DeliveryRecordStore<R>;
  /** Sends one message (the scheduler bounds how many run at once). */
  send(record: R, message: StoredMessage, messageId: string): Promise<DeliveryOutcome>;
  deadLetterFields: RunnerContext<R>['deadLetterFields'];
  forget?: RunnerContext<R>['forget'];
  relevant?: RunnerContext<R>['relevant'];
  onOutcome?(outcome: DeliveryMetric): void;
  onError?(error: unknown, record: R): void;
  /** How often the list is re-read and the dispatcher lease renewed. @default 5_000 */
  refreshIntervalMs?: number;
  /**
   * True when several nodes share the engine (Redis): only the holder of the dispatcher lease
   * delivers. A single-node engine needs no lease (and must not wait for a dead process's one).
   */
  sharedEngine: boolean;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** A counting semaphore: at most `size` holders; the rest wait in order. */
export class Slots {
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

export class DeliveryScheduler<R extends DeliveryRecord> {
  readonly #options: SchedulerOptions<R>;
  readonly #runners = new Map<string, DeliveryRunner<R>>();
  readonly #byTopic = new Map<string, Set<DeliveryRunner<R>>>();
  readonly #slots: Slots;
  readonly #nodeId = randomBytes(6).toString('base64url');
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #stopListening: (() => void) | undefined;
  #stopped = false;
  readonly #context: RunnerContext<R>;

  constructor(options: SchedulerOptions<R>) {
    this.#options = options;
    this.#slots = new Slots(options.maxConcurrent);
    this.#context = {
      hub: options.hub,
      store: options.store,
      now: () => options.hub.options.now(),
      schedule: options.retryScheduleMs,
      send: (record, message, messageId) => this.#slots.run(() => options.send(record, message, messageId)),
      deadLetterFields: options.deadLetterFields,
      ...(options.forget ? { forget: options.forget } : {}),
      ...(options.relevant ? { relevant: options.relevant } : {}),
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
  add(record: R): void {
    // A stopped runner may still be finishing its last send; a new record of the same id replaces it.
    if (this.#stopped || this.#runners.get(record.id)?.stopped === false || record.done) return;
    const runner = new DeliveryRunner(record, this.#context);
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
  current(id: string): R | undefined {
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
        .acquireLease(this.#options.leaseName, this.#nodeId, this.#options.hub.options.now(), 0)
        .catch(() => false);
    }
    this.#leading = false;
  }

  #forget(id: string, runner: DeliveryRunner<R>): void {
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
      (await engine.acquireLease(
        this.#options.leaseName,
        this.#nodeId,
        hub.options.now(),
        refreshIntervalMs * 3,
      ));
    const records = await this.#options.list();
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
}
