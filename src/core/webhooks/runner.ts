/**
 * One destination's delivery loop (a webhook, a job callback or a Web Push subscription): read the topic's log after the webhook's cursor, POST each message in
 * order, and record the outcome before moving on. A failure schedules the same message again
 * (retry-schedule.ts) and the loop sleeps until then — only this webhook waits; others and the
 * publishers are not affected. After the retry budget the message goes to `{topic}.dead-letter`
 * and the cursor moves past it.
 *
 * The cursor and attempt count are written to the engine after every outcome (compare-and-set), so
 * a restart resumes with the message that was in flight: delivery is at least once, and receivers
 * deduplicate by the `webhook-id` header, which is the same for every attempt of a message.
 *
 * A callback (kind `callback`) follows a job's status topic and delivers only its terminal status
 * message, then is done.
 */

import type { StoredMessage } from '../../engines/engine.js';
import type { WebhookRecord } from '../../engines/webhook-store.js';
import { isSwitchboardError } from '../../protocol/errors.js';
import { DEAD_LETTER_SUFFIX } from '../../protocol/message.js';
import type { Hub } from '../hub.js';
import type { DeliveryOutcome } from './deliver.js';
import { retryDelay } from './retry-schedule.js';

/** `removed`: the destination said it is gone for good (Web Push 404/410) and was deleted. */
export type DeliveryMetric = 'delivered' | 'failed' | 'dead_lettered' | 'removed';

/** The delivery state every kind of destination keeps (see WebhookRecord for each field). */
export type DeliveryRecord = Pick<
  WebhookRecord,
  | 'id'
  | 'topic'
  | 'epoch'
  | 'cursor'
  | 'attempt'
  | 'nextAttemptAt'
  | 'delivered'
  | 'failed'
  | 'failedAttempts'
  | 'consecutiveFailures'
  | 'lastError'
  | 'lastErrorAt'
  | 'lastDeliveredAt'
  | 'done'
  | 'revision'
> & { kind: string };

/** Where a kind of destination keeps its records (compare-and-set on `revision`). */
export interface DeliveryRecordStore<R extends DeliveryRecord> {
  get(id: string): Promise<R | null>;
  /** False (nothing written) when the record is gone or its revision moved on. */
  update(record: R, expectedRevision: number): Promise<boolean>;
}

export interface RunnerContext<R extends DeliveryRecord = WebhookRecord> {
  hub: Hub;
  store: DeliveryRecordStore<R>;
  now(): number;
  schedule: readonly number[];
  /** Sends one message to the destination (signing, limits and the guard are the sender's). */
  send(record: R, message: StoredMessage, messageId: string): Promise<DeliveryOutcome>;
  /** The dead letter's members naming the destination, e.g. `"webhook":"wh_…","url":"…"`. */
  deadLetterFields(record: R): string;
  /**
   * False: the message is not this destination's business and is moved past unsent. Job callbacks
   * use it so that only a terminal status the job store confirms is ever sent (never a forged one).
   */
  relevant?(record: R, message: StoredMessage): Promise<boolean>;
  /** Deletes a destination whose answer said it is gone for good (`outcome.gone`). */
  forget?(record: R): Promise<void>;
  /** False while another node runs deliveries. */
  leading(): boolean;
  onOutcome(outcome: DeliveryMetric): void;
  onError(error: unknown, record: R): void;
}

/** Terminal job statuses are the events a callback waits for. */
const TERMINAL_EVENTS = new Set(['succeeded', 'failed', 'canceled']);
const PAGE = 100;
/**
 * How long to sleep when nothing happens. Appends (on any node) and leadership changes wake the loop
 * at once, so this is only a safety net — long, because a server may hold a callback loop for every
 * job in flight.
 */
const IDLE_MS = 300_000;
const RETRY_AFTER_ERROR_MS = 1_000;
/** A `Retry-After` longer than this is not believed (a day: past any push message's usefulness). */
const MAX_RETRY_AFTER_MS = 86_400_000;

/** `webhook-id`: the same for every attempt of a message, unique per webhook and message, no `.`. */
export const messageIdOf = (webhookId: string, epoch: string, offset: number): string =>
  `${webhookId}_${epoch}_${offset}`;

export class DeliveryRunner<R extends DeliveryRecord = WebhookRecord> {
  #record: R;
  readonly #context: RunnerContext<R>;
  #stopped = false;
  #wake: (() => void) | undefined;
  #woken = false;
  readonly finished: Promise<void>;

  constructor(record: R, context: RunnerContext<R>) {
    this.#record = record;
    this.#context = context;
    this.finished = this.#loop();
  }

  get record(): R {
    return this.#record;
  }

  /** True once stopped (deleted, done, or the scheduler stopped); it may still be finishing a send. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Takes a newer stored state (written by another node while this one was not delivering). */
  refresh(stored: R): void {
    if (stored.revision > this.#record.revision) this.#record = stored;
  }

  /** Something changed (the topic grew, leadership came back): look again now. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  stop(): void {
    this.#stopped = true;
    this.wake();
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#stopped) {
      this.#woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
    this.#woken = false;
  }

  /** Writes the next state; false when the record moved on elsewhere (then it is read again). */
  async #save(changes: Partial<DeliveryRecord>): Promise<boolean> {
    const current = this.#record;
    // Only delivery-state fields change here, so the result is still an R.
    const next = { ...current, ...changes, revision: current.revision + 1 } as R;
    if (await this.#context.store.update(next, current.revision)) {
      this.#record = next;
      return true;
    }
    const stored = await this.#context.store.get(current.id);
    if (!stored) this.#stopped = true;
    else this.#record = stored;
    return false;
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#step();
      } catch (error) {
        this.#context.onError(error, this.#record);
        await this.#sleep(RETRY_AFTER_ERROR_MS);
      }
    }
  }

  async #step(): Promise<void> {
    const { hub, now } = this.#context;
    const record = this.#record;
    if (record.done) {
      this.#stopped = true;
      return;
    }
    if (!this.#context.leading()) return this.#sleep(IDLE_MS);
    const due = record.nextAttemptAt - now();
    if (due > 0) return this.#sleep(due);
    const page = await hub.fetch(record.topic, {
      after: record.cursor,
      limit: PAGE,
      ...(record.epoch === null ? {} : { epoch: record.epoch }),
    });
    if (page.reset) {
      // The topic was deleted and created again: its offsets name other messages now.
      await this.#save({ epoch: page.epoch, cursor: 0, attempt: 0, nextAttemptAt: 0 });
      return;
    }
    if (page.messages.length === 0 || page.epoch === null) return this.#sleep(IDLE_MS);
    for (const message of page.messages) {
      if (this.#stopped || !this.#context.leading()) return;
      const relevant =
        (record.kind !== 'callback' || TERMINAL_EVENTS.has(message.event ?? '')) &&
        (this.#context.relevant === undefined || (await this.#context.relevant(record, message)));
      if (this.#stopped || !this.#context.leading()) return;
      if (!relevant) {
        // Not the callback's business. Moved past in memory only: after a restart it is skipped
        // again for free, while a write here would cost one per progress report.
        this.#record = { ...this.#record, cursor: message.offset, epoch: page.epoch };
        continue;
      }
      if (!(await this.#deliver(message, page.epoch))) return;
    }
  }

  /** Delivers one message and records the outcome; false when the loop must look again first. */
  async #deliver(message: StoredMessage, epoch: string): Promise<boolean> {
    const { now, schedule } = this.#context;
    const record = this.#record;
    const messageId = messageIdOf(record.id, epoch, message.offset);
    const outcome = await this.#context.send(record, message, messageId);
    if (this.#stopped) return false;
    const finishedAt = now();
    const isCallback = record.kind === 'callback';
    if (outcome.gone && this.#context.forget) {
      await this.#context.forget(record);
      this.#context.onOutcome('removed');
      this.#stopped = true;
      return false;
    }
    if (outcome.ok) {
      this.#context.onOutcome('delivered');
      return this.#save({
        epoch,
        cursor: message.offset,
        attempt: 0,
        nextAttemptAt: 0,
        delivered: record.delivered + 1,
        consecutiveFailures: 0,
        lastDeliveredAt: finishedAt,
        done: isCallback,
      });
    }
    this.#context.onOutcome('failed');
    const attempt = record.attempt + 1;
    const failure = {
      epoch,
      failedAttempts: record.failedAttempts + 1,
      consecutiveFailures: record.consecutiveFailures + 1,
      lastError: outcome.error ?? 'failed',
      lastErrorAt: finishedAt,
    };
    const scheduled = retryDelay(schedule, attempt);
    if (scheduled !== undefined) {
      // The destination's `Retry-After` is a floor: never sooner than it asked, never absurdly late.
      const delay = Math.max(scheduled, Math.min(outcome.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
      await this.#save({ ...failure, attempt, nextAttemptAt: finishedAt + delay });
      return false; // sleep until the retry is due
    }
    await this.#deadLetter(message, messageId, attempt, failure.lastError);
    this.#context.onOutcome('dead_lettered');
    return this.#save({
      ...failure,
      cursor: message.offset,
      attempt: 0,
      nextAttemptAt: 0,
      failed: record.failed + 1,
      done: isCallback,
    });
  }

  /** Through the hub's publish path; the message id as idempotency key makes a repeat harmless. */
  async #deadLetter(message: StoredMessage, messageId: string, attempts: number, error: string) {
    const { topic } = message;
    if (topic.endsWith(DEAD_LETTER_SUFFIX)) return; // a dead letter of a dead letter breaks the topic rule
    const destination = this.#context.deadLetterFields(this.#record);
    const head = `{"topic":${JSON.stringify(topic)},"offset":${message.offset},${destination},"attempts":${attempts},"error":${JSON.stringify(error)}`;
    const publish = (data: string) =>
      this.#context.hub.internal.publishInputs(`${topic}${DEAD_LETTER_SUFFIX}`, [
        { data, event: message.event, idempotencyKey: messageId },
      ]);
    try {
      await publish(`${head},"data":${message.data}}`);
    } catch (error) {
      // The original plus the record may pass the size limit: keep the record, point at the original.
      if (!isSwitchboardError(error) || error.code !== 'payload_too_large') throw error;
      await publish(`${head},"data":null,"dataOmitted":"too large; read it at the topic's offset"}`);
    }
  }
}
