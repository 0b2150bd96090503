/**
 * Delayed delivery (docs/delayed.md): a publish carrying `delayMs` or `deliverAt` is checked like
 * any publish now — topic, system-topic rule, size, event, idempotency key — and stored in the
 * engine's schedule store; when it falls due it is appended (and only then gets its offset).
 *
 * One loop per hub: a timer for the earliest due time it knows of, never longer than `pollMs`, so
 * schedules made on other nodes (Redis) or that fell due while the server was down are found
 * within a poll. Each delivery is the engine's atomic "append and forget" step, so any number of
 * nodes may deliver the same due message and it is appended exactly once.
 */
import type { Engine, RetentionPolicy } from '../engines/engine.js';
import type { ScheduledMessage } from '../engines/schedule-store.js';
import { badRequest, notFound, payloadTooLarge, unavailable } from '../protocol/errors.js';
import type { EngineCall } from './engine-call.js';
import type { HubObserver } from './hub-observer.js';
import type { HubOptions } from './options.js';
import { type DelayFields, dueTime, isScheduleId, newScheduleId } from './schedule-rules.js';
import { assertWritableFromOutside } from './system-topics.js';
import { assertEvent, assertIdempotencyKey, assertTopic } from './validate.js';

export interface ScheduleInput extends DelayFields {
  /** The data as JSON text, as sent. */
  data: string;
  event?: unknown;
  idempotencyKey?: unknown;
}

export interface ScheduleOutcome {
  topic: string;
  /** The schedule id (the original one for a repeated idempotency key). */
  scheduled: string;
  deliverAt: number;
  duplicate: boolean;
}

export interface Schedules {
  /** Schedules one message (403 on system topics, 400 on a bad delay, 413 over the size limit). */
  schedule(topic: string, input: ScheduleInput): Promise<ScheduleOutcome>;
  /** A topic's pending schedules in due order. */
  list(topic: string, limit?: number): Promise<ScheduledMessage[]>;
  /** A pending schedule; 404 when unknown or already delivered. */
  get(id: unknown): Promise<ScheduledMessage>;
  /** Cancels a pending schedule; 404 when unknown or already delivered. */
  cancel(id: unknown): Promise<ScheduledMessage>;
  /** Pending schedules in the store (all nodes). */
  pending(): Promise<number>;
  /** Appends every message due now, in due order; answers how many this hub appended. */
  deliverDue(): Promise<number>;
  /** Stops the loop (drain); `stopped` resolves when a delivery in progress has finished. */
  stop(): void;
  stopped(): Promise<void>;
}

export interface CreateSchedulesOptions {
  engine: Engine;
  options: HubOptions;
  retentionFor(topic: string): RetentionPolicy;
  engineCall: EngineCall;
  observer?: HubObserver | undefined;
  /** Longest sleep between looks at the store. @default 1_000 */
  pollMs?: number;
  onError?(error: unknown): void;
}

/** Due messages taken per engine read; a batch's deliveries are queued together (one commit). */
const DELIVERY_BATCH = 256;
export const MAX_LIST = 1_000;

export function createSchedules(settings: CreateSchedulesOptions): Schedules {
  const { engine, options, retentionFor, engineCall, observer } = settings;
  const { now, limits } = options;
  const pollMs = settings.pollMs ?? 1_000;
  const onError = settings.onError ?? (() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const arm = (at: number): void => {
    if (stopped) return;
    const target = Math.min(at, now() + pollMs);
    if (timer !== undefined && timerAt <= target) return;
    if (timer !== undefined) clearTimeout(timer);
    timerAt = target;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        runLoop();
      },
      Math.max(0, target - now()),
    );
    timer.unref?.();
  };

  const deliverDue = async (): Promise<number> => {
    let appended = 0;
    for (;;) {
      const at = now();
      const due = await engineCall('read due scheduled messages', () =>
        engine.dueScheduled(at, DELIVERY_BATCH),
      );
      if (due.length === 0 || stopped) return appended;
      // Issued together, in due order: every engine runs them in call order (SQLite's write queue,
      // one Redis connection, the memory engine's synchronous steps), so order holds per topic.
      const results = await Promise.all(
        due.map((message) =>
          engineCall('append a scheduled message', () =>
            engine.deliverScheduled({
              id: message.id,
              topic: message.topic,
              now: now(),
              dedupeWindowMs: options.dedupeWindowMs,
              retention: retentionFor(message.topic),
            }),
          ),
        ),
      );
      results.forEach((result, i) => {
        if (result === null) return; // another node (or an earlier run) appended it
        appended++;
        observer?.published?.(due[i]!.topic, 1);
      });
      if (due.length < DELIVERY_BATCH) return appended;
    }
  };

  const runOnce = async (): Promise<void> => {
    try {
      await deliverDue();
    } catch (error) {
      onError(error); // the next poll retries: a due message stays scheduled until appended
    }
    let next: number | null = null;
    try {
      next = await engine.nextScheduledAt();
    } catch (error) {
      onError(error);
    }
    arm(next ?? Number.POSITIVE_INFINITY);
  };

  function runLoop(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await runOnce();
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
  }

  const find = async (id: unknown): Promise<ScheduledMessage> => {
    const missing = () =>
      notFound(
        `scheduled message ${JSON.stringify(id)} does not exist: it was delivered, canceled, or never made`,
      );
    if (!isScheduleId(id)) throw missing();
    const message = await engineCall('read the scheduled message', () => engine.getScheduled(id));
    if (!message) throw missing();
    return message;
  };

  runLoop(); // what fell due while the server was down goes out now, in due order

  return {
    async schedule(topic, input) {
      assertTopic(topic);
      assertWritableFromOutside(topic, 'publish to');
      if (stopped) throw unavailable('the server is shutting down; publish again in a moment');
      const created = now();
      const deliverAt = dueTime(input, created);
      const bytes = Buffer.byteLength(input.data);
      if (bytes > limits.maxMessageBytes) {
        throw payloadTooLarge(
          `message data is ${bytes} bytes; the limit is ${limits.maxMessageBytes} (limits.maxMessageBytes): send less, or a reference to it`,
        );
      }
      const message: ScheduledMessage = {
        id: newScheduleId(created),
        topic,
        deliverAt,
        createdAt: created,
        event: assertEvent(input.event),
        data: input.data,
        idempotencyKey: assertIdempotencyKey(input.idempotencyKey),
      };
      const stored = await engineCall('store the scheduled message', () =>
        engine.addScheduled(message, options.dedupeWindowMs),
      );
      if (!stored.duplicate) arm(deliverAt);
      return { topic, scheduled: stored.id, deliverAt: stored.deliverAt, duplicate: stored.duplicate };
    },

    async list(topic, limit = MAX_LIST) {
      assertTopic(topic);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST) {
        throw badRequest(`limit must be a whole number from 1 to ${MAX_LIST}`);
      }
      return engineCall('list scheduled messages', () => engine.listScheduled(topic, limit));
    },

    get: find,

    async cancel(id) {
      const message = await find(id);
      const canceled = await engineCall('cancel the scheduled message', () =>
        engine.cancelScheduled(message.id),
      );
      if (!canceled) throw notFound(`scheduled message "${message.id}" was delivered or canceled meanwhile`);
      return message;
    },

    pending: () => engineCall('count scheduled messages', () => engine.countScheduled()),
    deliverDue,

    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },

    async stopped() {
      await running;
    },
  };
}
