/**
 * The storage contract every engine (memory, SQLite, Redis) implements, in domain words only:
 * no SQL, keys or scripts leak through it. Every method is async, even in memory, so the one
 * contract suite (test/contract/engine.contract.ts) runs unchanged on each engine.
 *
 * Excluded on purpose: wire formats, auth, limits and validation (the core's job), and live
 * delivery (engines only *signal* that a topic grew, through `onAppended`; readers always read
 * the log, so resume, gaps and duplicates behave the same on every transport and node).
 */
import type { GroupStore } from './group-store.js';
import type { JobStore } from './job-store.js';
import type { MqttStore } from './mqtt-store.js';
import type { PresenceStore } from './presence-store.js';
import type { PushSubscriptionStore } from './push-store.js';
import type { ReplyStore } from './reply-store.js';
import type { ScheduleStore } from './schedule-store.js';
import type { WebhookStore } from './webhook-store.js';

/** A message as stored: `data` is the JSON text exactly as the publisher sent it. */
export interface StoredMessage {
  topic: string;
  offset: number;
  time: number;
  event: string | undefined;
  /** Raw JSON text of the message's `data`. */
  data: string;
  /** Request-reply: the inbox a responder answers to (only on requests; see core/requests.ts). */
  replyTo?: string | undefined;
}

export interface NewEntry {
  event?: string | undefined;
  /** Raw JSON text of the data, already validated. */
  data: string;
  idempotencyKey?: string | undefined;
  /** Request-reply inbox id, stored with the message and delivered by every pattern. */
  replyTo?: string | undefined;
}

export interface RetentionPolicy {
  /** Newest messages kept per topic. */
  maxCount: number;
  /** Messages older than this are removed by the next sweep. */
  maxAgeMs: number;
}

export interface AppendRequest {
  topic: string;
  /** One atomic, ordered batch: all entries get consecutive offsets, or none does. */
  entries: NewEntry[];
  now: number;
  /** A repeated idempotency key younger than this answers the original offset. */
  dedupeWindowMs: number;
  retention: RetentionPolicy;
}

export interface AppendOutcome {
  offset: number;
  time: number;
  duplicate: boolean;
}

export interface LogState {
  /** Null until the topic's first publish creates its log. */
  epoch: string | null;
  /** Highest offset removed by retention (0 when nothing was removed). */
  floor: number;
  /** Highest offset ever assigned (0 when nothing was published). */
  last: number;
}

export interface AppendResult extends LogState {
  epoch: string;
  outcomes: AppendOutcome[];
}

export interface ReadResult extends LogState {
  /** Messages with offset > after, oldest first, at most `limit`. */
  messages: StoredMessage[];
}

export interface TopicSummary extends LogState {
  topic: string;
  epoch: string;
}

export interface SweepRequest {
  now: number;
  retentionFor: (topic: string) => RetentionPolicy;
  dedupeWindowMs: number;
}

export type AppendedListener = (topic: string, last: number) => void;

export interface EngineLifecycle {
  readonly name: 'memory' | 'sqlite' | 'redis';
  /** Where the data lives, for the startup banner ("in memory", a file path, a Redis URL). */
  readonly location: string;
  open(): Promise<void>;
  /** Finishes pending writes, then releases the store. */
  close(): Promise<void>;
  /** Rejects when the store cannot serve requests (for `/readyz`). */
  ping(): Promise<void>;
}

export interface LogStore {
  /** Resolves only once the entries are durable (for the engine's notion of durable). */
  append(request: AppendRequest): Promise<AppendResult>;
  read(topic: string, after: number, limit: number): Promise<ReadResult>;
  state(topic: string): Promise<LogState>;
  topics(): Promise<TopicSummary[]>;
  /** Removes the log, its messages and its dedupe keys; the next publish starts a new epoch. */
  deleteTopic(topic: string): Promise<boolean>;
  /** Applies age retention and forgets idempotency keys older than the dedupe window. */
  sweep(request: SweepRequest): Promise<void>;
  /** Wake-up signal after appends become durable; listeners read the log themselves. */
  onAppended(listener: AppendedListener): () => void;
}

/** Consumer groups, job state and webhook delivery state are part of every engine (see *-store.ts). */
export type Engine = EngineLifecycle &
  LogStore &
  GroupStore &
  JobStore &
  WebhookStore &
  PushSubscriptionStore &
  ScheduleStore &
  MqttStore &
  SharedCapabilities;

/**
 * State shared between nodes beyond the log. Multi-node engines (Redis) provide these; without
 * them the hub keeps the state in process, which is exact for a single node (memory, SQLite).
 */
export interface SharedCapabilities {
  /** Request-reply inboxes (reply-store.ts). */
  readonly replies?: ReplyStore;
  /** Who is subscribed where (presence-store.ts). */
  readonly presence?: PresenceStore;
}

export const firstOffset = (state: LogState): number => (state.last > state.floor ? state.floor + 1 : 0);
export const retainedCount = (state: LogState): number => state.last - state.floor;
