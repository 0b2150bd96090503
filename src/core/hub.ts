/**
 * The Hub: the only API the wire modules (and embedding applications) call. It owns the business
 * rules: names, limits, retention, dedupe, cursors, long-poll waits and subscriber counts.
 */

import type { Engine, LogState, ReadResult, RetentionPolicy, StoredMessage } from '../engines/engine.js';
import { firstOffset, retainedCount } from '../engines/engine.js';
import { createLocalPresenceStore } from '../engines/local-presence.js';
import { createLocalReplyStore } from '../engines/local-replies.js';
import { badRequest, notFound, payloadTooLarge, unavailable } from '../protocol/errors.js';
import type { Message, TopicStats } from '../protocol/message.js';
import { createEngineCall } from './engine-call.js';
import { createFeed, type Feed, type GapNotice, type ResetNotice } from './feed.js';
import type { Groups } from './group-api.js';
import { createGroups } from './groups.js';
import type { HubObserver } from './hub-observer.js';
import { DEFAULT_HUB_OPTIONS, type HubOptions } from './options.js';
import { createPresence, type Presence } from './presence.js';
import { createRequests, type Requests } from './requests.js';
import { createSchedules, type Schedules } from './schedules.js';
import { createStorageQuota } from './storage-quota.js';
import { assertWritableFromOutside } from './system-topics.js';
import { matchTopic } from './topic-pattern.js';
import { assertEvent, assertIdempotencyKey, assertTopic } from './validate.js';
import { type Cancellation, type Waiter, WaiterRegistry } from './waiters.js';
import { toMessage } from './wire-json.js';

export interface PublishInput {
  /** The data as JSON text (wires pass the sender's own text; `publish()` stringifies). */
  data: string;
  event?: unknown;
  idempotencyKey?: unknown;
  /** Delayed delivery (wires hand these to `hub.schedules`; `publishInputs` appends now). */
  delayMs?: unknown;
  deliverAt?: unknown;
}

export interface PublishOutcome {
  offset: number;
  time: number;
  duplicate: boolean;
}

export interface PublishResult {
  topic: string;
  epoch: string;
  outcomes: PublishOutcome[];
}

export interface FetchRequest {
  after: number;
  limit: number;
  /** The epoch the cursor came from, when the client knows it. */
  epoch?: string | undefined;
}

export interface FetchResult {
  topic: string;
  epoch: string | null;
  messages: StoredMessage[];
  next: number;
  first: number;
  last: number;
  gap: boolean;
  reset: boolean;
}

/** The outcome of `Hub.poll`: an error (a contract error, or the store's failure), or the answer. */
export type PollCallback = (error: unknown, result: FetchResult | undefined) => void;

export interface WaitRequest extends FetchRequest {
  waitMs: number;
  /** The caller went away: an AbortSignal or anything emitting `close` (e.g. the HTTP response). */
  signal?: Cancellation;
  /** Transport name for subscriber counts while the request is held. */
  transport?: string;
}

/** An in-process subscription: replay from `after`, then live; each offset once, in order. */
export interface SubscribeOptions {
  /** Replay messages with offset > after first; leave out to receive new messages only. */
  after?: number;
  /** Epoch the `after` cursor came from; a mismatch calls `onReset` and restarts at offset 1. */
  epoch?: string;
  onMessage(message: Message): void;
  onGap?(notice: GapNotice): void;
  onReset?(notice: ResetNotice): void;
  /** A callback threw, or the store failed (the subscription is then closed). */
  onError?(error: unknown): void;
}

export interface Subscription {
  readonly topic: string;
  /** Highest offset delivered so far (-1 until the subscription has started). */
  readonly cursor: number;
  unsubscribe(): void;
}

export interface Hub {
  readonly engine: Engine;
  readonly options: HubOptions;
  /** Consumer groups (competing consumers): claim, ack, nack, state, push members. */
  readonly groups: Groups;
  /** Delayed delivery: schedule, list, cancel; due messages are appended by the hub (docs/delayed.md). */
  readonly schedules: Schedules;
  /** Request-reply (RPC through the log): `request` waits for the first reply; see docs/request-reply.md. */
  readonly requests: Requests;
  /** Who is subscribed to a topic, on every push transport and node; see docs/presence.md. */
  readonly presence: Presence;
  /** Long polls held right now. */
  readonly heldRequests: number;
  /** Publishes one message with plain JS data (the embeddable API). */
  publish(
    topic: string,
    data: unknown,
    options?: { event?: string; idempotencyKey?: string },
  ): Promise<PublishOutcome & { topic: string }>;
  /**
   * Publishes an atomic, ordered batch of inputs whose data is JSON text. System topics (see
   * system-topics.ts) answer 403: doors and embedders write only ordinary topics.
   */
  publishInputs(topic: string, inputs: PublishInput[]): Promise<PublishResult>;
  /**
   * For hub modules only (jobs, dead letters, presence, schedules, request inboxes): the same calls
   * without the system-topic rule. Doors never use it; that is the whole point of the rule.
   */
  readonly internal: InternalHub;
  fetch(topic: string, request: FetchRequest): Promise<FetchResult>;
  /** Long poll: answers at once when messages exist after the cursor, else waits for the next publish. */
  fetchOrWait(topic: string, request: WaitRequest): Promise<FetchResult>;
  /**
   * `fetchOrWait` for wires, with a callback (called once, possibly before `poll` returns) instead of
   * a promise. Polls answered from one read with one cursor share one result object: do not mutate it.
   */
  poll(topic: string, request: WaitRequest, done: PollCallback): void;
  topics(): Promise<TopicStats[]>;
  topic(topic: string): Promise<TopicStats>;
  deleteTopic(topic: string): Promise<void>;
  /** Counts a live subscriber for topic stats; call the returned function when it leaves. */
  trackSubscriber(topic: string, transport: string): () => void;
  /** Listens for appended messages (any topic); returns the unsubscribe function. */
  onAppended(listener: (topic: string, last: number) => void): () => void;
  /** Live subscribers summed over topics, by transport (read-only; for metrics). */
  subscribersByTransport(): Record<string, number>;
  /** The per-topic live feed the push transports share: one log read per topic per append. */
  readonly feed: Feed;
  /** Subscribes in process (the embeddable pub/sub): replay from `after`, then live. */
  subscribe(topic: string, options: SubscribeOptions): Subscription;
  retentionFor(topic: string): RetentionPolicy;
  /** Answers held long polls and stops timers; the engine stays open (see `close`). */
  drain(): void;
  close(): Promise<void>;
}

export interface InternalHub {
  publishInputs(topic: string, inputs: PublishInput[]): Promise<PublishResult>;
  /** Consumer groups on any topic, system topics included (the jobs module's `workers` group). */
  readonly groups: Groups;
}

export interface CreateHubOptions extends Partial<Omit<HubOptions, 'limits'>> {
  engine: Engine;
  limits?: Partial<HubOptions['limits']>;
  /** Told about publishes and engine call latency (metrics); see hub-observer.ts. */
  observer?: HubObserver;
}

export function createHub(options: CreateHubOptions): Hub {
  const { engine, observer } = options;
  const hubOptions: HubOptions = {
    ...DEFAULT_HUB_OPTIONS,
    ...stripUndefined(options),
    limits: { ...DEFAULT_HUB_OPTIONS.limits, ...stripUndefined(options.limits ?? {}) },
  };
  const { limits, now } = hubOptions;
  const waiters = new WaiterRegistry();
  const subscribers = new Map<string, Map<string, number>>();
  // A state read in flight may predate this append: later re-checks must not share it (see fetchOrWait).
  const statesInFlight = new Map<string, StateCheck>();
  const stopWaking = engine.onAppended((topic, last) => {
    statesInFlight.delete(topic);
    dropReads(topic);
    waiters.appended(topic, last);
  });
  let draining = false;
  let feed: Feed | undefined;

  const retentionFor = (topic: string): RetentionPolicy => {
    const rule = hubOptions.retentionRules.find((r) => matchTopic(r.pattern, topic));
    return {
      ...hubOptions.retention,
      ...stripUndefined({ maxCount: rule?.maxCount, maxAgeMs: rule?.maxAgeMs }),
    };
  };

  const internalGroups = createGroups({ engine, options: hubOptions, retentionFor });
  const groups = guardSystemTopics(internalGroups);

  const sweep = async (): Promise<void> => {
    await engine.sweep({ now: now(), retentionFor, dedupeWindowMs: hubOptions.dedupeWindowMs });
    for (const topic of [...readsThisTurn.keys()]) dropReads(topic); // retention may have moved floors
  };
  const sweepTimer = setInterval(() => {
    sweep().catch(() => undefined); // the next sweep retries; readiness reports engine failures
  }, hubOptions.sweepIntervalMs);
  sweepTimer.unref();

  const engineCall = createEngineCall(engine.name, observer?.engineOp?.bind(observer));
  const quota = createStorageQuota(engine, limits); // stored-bytes caps (507): storage-quota.ts
  const schedules = createSchedules({ engine, options: hubOptions, retentionFor, engineCall, observer });

  const toFetchResult = (
    topic: string,
    request: FetchRequest,
    state: LogState,
    messages: StoredMessage[],
  ) => {
    // A cursor past the log's end, or from another epoch, belongs to a log that no longer exists.
    const reset =
      request.after > 0 &&
      (request.after > state.last || (request.epoch !== undefined && request.epoch !== state.epoch));
    const gap = !reset && request.after < state.floor;
    const lastDelivered = messages.at(-1)?.offset;
    return {
      topic,
      epoch: state.epoch,
      messages: reset ? [] : messages,
      next: reset ? 0 : (lastDelivered ?? Math.max(request.after, gap ? state.floor : 0)),
      first: firstOffset(state),
      last: state.last,
      gap,
      reset,
    } satisfies FetchResult;
  };

  // A publish wakes every long poll on a topic at once, mostly with the same cursor, and polls that
  // fell behind re-ask in the same event-loop turn with the same cursor: identical reads share one
  // engine read (and, downstream, one answer and one serialization) while in flight and until the
  // turn ends. An append to the topic drops its shared reads, so a read never misses an append made
  // before it. Long polls (`poll`) wait for a shared read with a callback, not a promise each, and
  // one that settled this turn answers them synchronously.
  const readsThisTurn = new Map<string, Map<string, SharedRead>>();
  let settledReads: Array<[string, string, SharedRead]> = [];
  const forgetSettledReads = (): void => {
    const settled = settledReads;
    settledReads = [];
    for (const [topic, key, read] of settled) {
      const reads = readsThisTurn.get(topic);
      if (reads?.get(key) !== read) continue;
      reads.delete(key);
      if (reads.size === 0) readsThisTurn.delete(topic);
    }
  };
  /**
   * Forgets the topic's shared reads (an append, a sweep or a delete): later reads go to the engine.
   * A poll still waiting on one of them re-checks the log after it registers (see `poll`).
   */
  const dropReads = (topic: string): void => {
    const reads = readsThisTurn.get(topic);
    if (reads === undefined) return;
    for (const read of reads.values()) read.dropped = true;
    readsThisTurn.delete(topic);
  };
  const sharedRead = (topic: string, after: number, limit: number): SharedRead => {
    const key = `${after} ${limit}`;
    let reads = readsThisTurn.get(topic);
    const existing = reads?.get(key);
    if (existing) return existing;
    // One engine call (and one latency sample) per shared read, not per long poll that shares it.
    const shared: SharedRead = {
      promise: engineCall('read', () => engine.read(topic, after, limit)),
      value: undefined,
      waiting: undefined,
      results: undefined,
      dropped: false,
    };
    if (!reads) {
      reads = new Map();
      readsThisTurn.set(topic, reads);
    }
    reads.set(key, shared);
    shared.promise.then(
      (read) => {
        shared.value = read;
        if (settledReads.length === 0) setImmediate(forgetSettledReads);
        settledReads.push([topic, key, shared]);
        settle(shared, undefined, read);
      },
      (error: unknown) => {
        const current = readsThisTurn.get(topic);
        if (current?.get(key) === shared) current.delete(key);
        if (current?.size === 0) readsThisTurn.delete(topic);
        settle(shared, error, undefined);
      },
    );
    return shared;
  };
  const coalescedRead = (topic: string, after: number, limit: number): Promise<ReadResult> =>
    sharedRead(topic, after, limit).promise;
  /** Calls back with the shared read: at once when it settled this turn, else when it does. */
  const readThen = (topic: string, after: number, limit: number, callback: ReadCallback): void => {
    const shared = sharedRead(topic, after, limit);
    if (shared.value !== undefined) callback(undefined, shared.value, shared);
    else if (shared.waiting === undefined) shared.waiting = [callback];
    else shared.waiting.push(callback);
  };

  // The long poll's re-check after registering, shared by the polls registering in the same turn;
  // an append drops the shared read, so a re-check never starts before an append it must see.
  const stateCheck = (topic: string): StateCheck => {
    let check = statesInFlight.get(topic);
    if (!check) {
      const created: StateCheck = { promise: engineCall('read', () => engine.state(topic)), waiters: [] };
      statesInFlight.set(topic, created);
      const forget = (): void => {
        if (statesInFlight.get(topic) === created) statesInFlight.delete(topic);
      };
      created.promise.then(
        (state) => {
          forget();
          for (const waiter of created.waiters) if (state.last > waiter.after) waiter.wake();
        },
        () => {
          forget();
          // Look again by reading: the read answers, or reports the store's failure.
          for (const waiter of created.waiters) waiter.wake();
        },
      );
      check = created;
    }
    return check;
  };

  const fetch = async (topic: string, request: FetchRequest): Promise<FetchResult> => {
    assertTopic(topic);
    const limit = Math.min(request.limit, limits.maxFetchLimit);
    const read = await coalescedRead(topic, request.after, limit);
    return toFetchResult(topic, request, read, read.messages);
  };

  /** The answer for `after`/`epoch` from a shared read, built once and shared by the polls asking it. */
  const sharedResult = (topic: string, request: FetchRequest, read: ReadResult, shared: SharedRead) => {
    const key = request.epoch === undefined ? request.after : `${request.after} ${request.epoch}`;
    let result = shared.results?.get(key);
    if (result === undefined) {
      result = toFetchResult(topic, request, read, read.messages);
      if (shared.results === undefined) shared.results = new Map();
      shared.results.set(key, result);
    }
    return result;
  };

  const poll = (topic: string, request: WaitRequest, done: PollCallback): void => {
    try {
      assertTopic(topic);
    } catch (error) {
      done(error, undefined);
      return;
    }
    const { after, epoch, waitMs, signal, transport } = request;
    const limit = Math.min(request.limit, limits.maxFetchLimit);
    readThen(topic, after, limit, (error, read, shared) => {
      if (read === undefined) {
        done(error, undefined);
        return;
      }
      const first = sharedResult(topic, request, read, shared);
      if (first.messages.length > 0 || first.reset || first.gap || waitMs <= 0 || draining) {
        done(undefined, first);
        return;
      }
      if (waiters.size >= limits.maxWaiters) {
        done(
          unavailable(`${limits.maxWaiters} long polls are already held (limits.maxWaiters); retry shortly`),
          undefined,
        );
        return;
      }
      const cursor = Math.max(first.next, after);
      // Counted while held (topic stats); the waiter's callback runs exactly once.
      if (transport) countSubscriber(topic, transport);
      const waiter = waiters.hold(topic, cursor, waitMs, signal, (outcome) => {
        if (transport) uncountSubscriber(topic, transport);
        if (outcome !== 'data') {
          done(undefined, first.next === cursor ? first : { ...first, next: cursor });
          return;
        }
        const again = cursor === after ? request : { after: cursor, limit, epoch };
        readThen(topic, cursor, limit, (error, read, shared) => {
          if (read === undefined) done(error, undefined);
          else done(undefined, sharedResult(topic, again, read, shared));
        });
      });
      // A publish may have landed between the read and the registration, its wake-up gone before
      // this poll was there to hear it: then the read was dropped (an append drops its topic's
      // reads), and the poll looks once more. A read still shared has seen no append since it began.
      if (waiter.held && shared.dropped) stateCheck(topic).waiters.push(waiter);
    });
  };

  const publishSystemInputs = async (
    topic: string,
    inputs: PublishInput[],
    replyTo?: string,
  ): Promise<PublishResult> => {
    assertTopic(topic);
    if (draining) throw unavailable('the server is shutting down; publish again in a moment');
    if (inputs.length === 0) throw badRequest('nothing to publish: send at least one message');
    if (inputs.length > limits.maxBatchMessages) {
      throw payloadTooLarge(
        `batch has ${inputs.length} messages; the limit is ${limits.maxBatchMessages}: split it into smaller batches`,
      );
    }
    let batchBytes = 0;
    const entries = inputs.map((input, i) => {
      const bytes = Buffer.byteLength(input.data);
      batchBytes += bytes;
      if (bytes > limits.maxMessageBytes) {
        const which = inputs.length > 1 ? `message ${i} of the batch` : 'message';
        throw payloadTooLarge(
          `${which} data is ${bytes} bytes; the limit is ${limits.maxMessageBytes} (limits.maxMessageBytes): send less, or a reference to it`,
        );
      }
      return {
        data: input.data,
        event: assertEvent(input.event),
        idempotencyKey: assertIdempotencyKey(input.idempotencyKey),
        replyTo,
      };
    });
    const retention = retentionFor(topic);
    if (quota.enabled) await quota.admit(topic, batchBytes, entries.length, retention.maxCount);
    const appended = await engineCall('store the message', () =>
      engine.append({
        topic,
        entries,
        now: now(),
        dedupeWindowMs: hubOptions.dedupeWindowMs,
        retention,
      }),
    );
    if (quota.enabled) {
      const added = appended.outcomes.filter((outcome) => !outcome.duplicate).length;
      const addedBytes = added === entries.length ? batchBytes : (batchBytes * added) / entries.length;
      quota.stored(topic, addedBytes, added, appended.last - appended.floor);
    }
    if (observer?.published) {
      const stored = appended.outcomes.filter((outcome) => !outcome.duplicate).length;
      if (stored > 0) observer.published(topic, stored);
    }
    return { topic, epoch: appended.epoch, outcomes: appended.outcomes };
  };

  const publishInputs = (topic: string, inputs: PublishInput[]): Promise<PublishResult> => {
    assertTopic(topic);
    assertWritableFromOutside(topic, 'publish to');
    return publishSystemInputs(topic, inputs);
  };

  const requests = createRequests({
    store: engine.replies ?? createLocalReplyStore(now),
    async append(topic, input, replyTo) {
      assertTopic(topic);
      assertWritableFromOutside(topic, 'send requests to');
      const result = await publishSystemInputs(topic, [input], replyTo);
      return result.outcomes[0]!;
    },
    maxMessageBytes: limits.maxMessageBytes,
    outcome: observer?.requestEnded?.bind(observer),
  });

  const presence = createPresence({
    store: engine.presence ?? createLocalPresenceStore(),
    shared: engine.presence !== undefined,
    ttlMs: hubOptions.presenceTtlMs,
    eventPatterns: hubOptions.presenceEvents,
    publishEvent: (topic, event, data) => publishSystemInputs(topic, [{ data, event }]),
    now,
  });

  const stats = (topic: string, state: LogState & { epoch: string }): TopicStats => ({
    topic,
    epoch: state.epoch,
    first: firstOffset(state),
    last: state.last,
    count: retainedCount(state),
    subscribers: Object.fromEntries(subscribers.get(topic) ?? []),
  });

  return {
    engine,
    options: hubOptions,
    groups,
    schedules,
    requests,
    presence,
    get heldRequests() {
      return waiters.size;
    },

    async publish(topic, data, publishOptions = {}) {
      const text = JSON.stringify(data);
      if (text === undefined) throw badRequest('data must be a JSON value (not undefined or a function)');
      const result = await publishInputs(topic, [{ data: text, ...publishOptions }]);
      return { topic, ...result.outcomes[0]! };
    },

    publishInputs,
    internal: { publishInputs: publishSystemInputs, groups: internalGroups },
    fetch,

    fetchOrWait(topic, request) {
      return new Promise((resolve, reject) => {
        poll(topic, request, (error, result) => {
          if (result === undefined) reject(error);
          else resolve({ ...result }); // answers of one read are shared: the caller gets its own
        });
      });
    },

    poll,

    async topics() {
      const summaries = await engineCall('list topics', () => engine.topics());
      return summaries.map((summary) => stats(summary.topic, summary));
    },

    async topic(topic) {
      assertTopic(topic);
      const state = await engineCall('read', () => engine.state(topic));
      if (state.epoch === null) throw notFound(`topic "${topic}" does not exist; publish to it to create it`);
      return stats(topic, { ...state, epoch: state.epoch });
    },

    async deleteTopic(topic) {
      assertTopic(topic);
      assertWritableFromOutside(topic, 'delete');
      const deleted = await engineCall('delete the topic', () => engine.deleteTopic(topic));
      dropReads(topic);
      if (!deleted) throw notFound(`topic "${topic}" does not exist`);
      quota.forget(topic);
    },

    trackSubscriber,
    subscribersByTransport() {
      const totals: Record<string, number> = {};
      for (const byTransport of subscribers.values()) {
        for (const [transport, count] of byTransport) totals[transport] = (totals[transport] ?? 0) + count;
      }
      return totals;
    },
    onAppended: (listener) => engine.onAppended(listener),
    retentionFor,

    get feed() {
      feed ??= createFeed({
        fetch,
        onAppended: (listener) => engine.onAppended(listener),
        trackSubscriber,
        joinPresence: (topic, transport, identity) =>
          // In-process subscribers are the embedding application itself: present only when it says who.
          transport === 'in-process' && identity === undefined
            ? () => {}
            : presence.join(topic, transport, identity),
        pageSize: limits.maxFetchLimit,
      });
      return feed;
    },

    subscribe(topic, subscribeOptions) {
      return subscribeInProcess(this.feed, assertTopic(topic), subscribeOptions);
    },

    drain() {
      draining = true;
      clearInterval(sweepTimer);
      waiters.releaseAll();
      requests.close();
      internalGroups.drain();
      schedules.stop();
    },

    async close() {
      this.drain();
      feed?.close();
      stopWaking();
      await internalGroups.drained(); // push members hand back what they hold before the store closes
      await presence.close(); // this node's clients leave before the store closes
      await schedules.stopped(); // a delivery in progress finishes before the store closes
      await engine.close();
    },
  };

  function countSubscriber(topic: string, transport: string): void {
    let byTransport = subscribers.get(topic);
    if (!byTransport) {
      byTransport = new Map();
      subscribers.set(topic, byTransport);
    }
    byTransport.set(transport, (byTransport.get(transport) ?? 0) + 1);
  }

  /** Undoes one `countSubscriber`: call it exactly once for each. */
  function uncountSubscriber(topic: string, transport: string): void {
    const map = subscribers.get(topic);
    const count = (map?.get(transport) ?? 1) - 1;
    if (count > 0) map?.set(transport, count);
    else map?.delete(transport);
    if (map?.size === 0) subscribers.delete(topic);
  }

  function trackSubscriber(topic: string, transport: string): () => void {
    countSubscriber(topic, transport);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      uncountSubscriber(topic, transport);
    };
  }
}

function subscribeInProcess(feed: Feed, topic: string, options: SubscribeOptions): Subscription {
  const guard = (call: () => void): void => {
    try {
      call();
    } catch (error) {
      options.onError?.(error);
    }
  };
  const subscription = feed.subscribe(
    topic,
    { after: options.after, epoch: options.epoch, transport: 'in-process' },
    {
      started: () => {},
      deliver: (messages, from) => {
        for (let i = from; i < messages.length; i++) guard(() => options.onMessage(toMessage(messages[i]!)));
      },
      gap: (notice) => guard(() => options.onGap?.(notice)),
      reset: (notice) => guard(() => options.onReset?.(notice)),
      failed: (error) => options.onError?.(error),
    },
  );
  return {
    topic,
    get cursor() {
      return subscription.cursor;
    },
    unsubscribe: () => subscription.close(),
  };
}

/** Group operations change a topic's consumption state: on a system topic only the hub may do that. */
function guardSystemTopics(groups: Groups): Groups {
  const check = (topic: string): void => {
    assertTopic(topic);
    assertWritableFromOutside(topic, 'use consumer groups on');
  };
  const guard =
    <A extends unknown[], R>(call: (topic: string, ...rest: A) => R) =>
    (topic: string, ...rest: A): R => {
      check(topic);
      return call(topic, ...rest);
    };
  // The async calls reject rather than throw, as the unguarded ones do for the same input.
  const guardAsync =
    <A extends unknown[], R>(call: (topic: string, ...rest: A) => Promise<R>) =>
    async (topic: string, ...rest: A): Promise<R> => {
      check(topic);
      return call(topic, ...rest);
    };
  return {
    get heldClaims() {
      return groups.heldClaims;
    },
    ensure: guardAsync(groups.ensure.bind(groups)),
    claim: guardAsync(groups.claim.bind(groups)),
    ack: guardAsync(groups.ack.bind(groups)),
    nack: guardAsync(groups.nack.bind(groups)),
    release: guardAsync(groups.release.bind(groups)),
    state: guardAsync(groups.state.bind(groups)),
    list: guardAsync(groups.list.bind(groups)),
    delete: guardAsync(groups.delete.bind(groups)),
    openMember: guard(groups.openMember.bind(groups)),
    drain: () => groups.drain(),
    drained: () => groups.drained(),
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type ReadCallback = (error: unknown, read: ReadResult | undefined, shared: SharedRead) => void;

/** One engine read shared by identical reads until the event-loop turn ends (see `sharedRead`). */
interface SharedRead {
  readonly promise: Promise<ReadResult>;
  /** the result once it settled: later readers this turn are answered synchronously */
  value: ReadResult | undefined;
  /** long polls waiting for it */
  waiting: ReadCallback[] | undefined;
  /** answers built from it, by cursor (and epoch), shared by the polls asking the same */
  results: Map<number | string, FetchResult> | undefined;
  /** set when an append (or a sweep, or a delete) made it stale: see `dropReads` */
  dropped: boolean;
}

/** The long polls' shared re-check of a topic's last offset after they registered. */
interface StateCheck {
  readonly promise: Promise<LogState>;
  readonly waiters: Waiter[];
}

function settle(shared: SharedRead, error: unknown, read: ReadResult | undefined): void {
  const waiting = shared.waiting;
  if (waiting === undefined) return;
  shared.waiting = undefined;
  for (const callback of waiting) {
    // One caller's failure must not keep the answer from the others; it still surfaces.
    try {
      callback(error, read, shared);
    } catch (thrown) {
      queueMicrotask(() => {
        throw thrown;
      });
    }
  }
}
