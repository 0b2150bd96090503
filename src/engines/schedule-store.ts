/**
 * Delayed delivery as an engine capability: messages waiting for their time, kept durably so a
 * restart loses none (docs/delayed.md). The scheduler in `src/core/schedules.ts` decides when to
 * look; engines store, list and — the part that needs the store's own atomicity — append a due
 * message and forget its schedule in one step, so with several nodes (Redis) or after a crash each
 * scheduled message is appended exactly once.
 */
import type { AppendResult, RetentionPolicy } from './engine.js';

export interface ScheduledMessage {
  /** `sch_<time><sequence><random>`: sorts in creation order, so ties in `deliverAt` keep it. */
  id: string;
  topic: string;
  /** When it is due (ms epoch). */
  deliverAt: number;
  createdAt: number;
  event: string | undefined;
  /** Raw JSON text of the data, already validated. */
  data: string;
  /** The publisher's idempotency key: a repeat within the dedupe window answers this schedule. */
  idempotencyKey: string | undefined;
}

export interface AddScheduledResult {
  /** The new schedule's id, or the one that already had the topic's idempotency key. */
  id: string;
  deliverAt: number;
  duplicate: boolean;
}

export interface DeliverScheduledRequest {
  id: string;
  topic: string;
  now: number;
  dedupeWindowMs: number;
  retention: RetentionPolicy;
}

export interface ScheduleStore {
  /**
   * Stores a schedule, unless its topic already has one with the same idempotency key created within
   * `dedupeWindowMs` (delivered since or not): then nothing is written and that one is answered.
   */
  addScheduled(message: ScheduledMessage, dedupeWindowMs: number): Promise<AddScheduledResult>;
  getScheduled(id: string): Promise<ScheduledMessage | null>;
  /** A topic's pending schedules in due order (`deliverAt`, then id), at most `limit`. */
  listScheduled(topic: string, limit: number): Promise<ScheduledMessage[]>;
  /** Pending schedules due at `now` or before, in due order, at most `limit`. */
  dueScheduled(now: number, limit: number): Promise<ScheduledMessage[]>;
  /** The earliest pending `deliverAt`, or null when nothing is scheduled. */
  nextScheduledAt(): Promise<number | null>;
  countScheduled(): Promise<number>;
  /** Forgets a pending schedule; false when it is unknown or already delivered. */
  cancelScheduled(id: string): Promise<boolean>;
  /**
   * In one atomic step: appends the scheduled message through the engine's own append path and
   * forgets the schedule. Null (nothing written) when it was delivered or canceled already — by
   * another node, or before a crash.
   */
  deliverScheduled(request: DeliverScheduledRequest): Promise<AppendResult | null>;
}
