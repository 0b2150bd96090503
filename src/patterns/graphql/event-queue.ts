/**
 * A GraphQL subscription's source stream over the hub's shared per-topic feed: the feed reads each
 * appended message once for every subscriber (and hands everyone the same StoredMessage object,
 * which shared-execution.ts keys its cache on); this queue holds what its subscriber has not taken
 * yet. Replay waits while the queue is full (the feed asks `ready()`); a live subscriber that falls
 * `maxQueued` events behind is ended with a `slow consumer` error naming the offset to resume after.
 */
import type { Feed, FeedSink, FeedSubscription, GapNotice, ResetNotice } from '../../core/feed.js';
import type { PresenceIdentity } from '../../core/presence.js';
import type { StoredMessage } from '../../engines/engine.js';
import { SwitchboardError, unavailable } from '../../protocol/errors.js';

export interface GapEvent extends GapNotice {
  kind: 'gap';
}
export interface ResetEvent extends ResetNotice {
  kind: 'reset';
}
export type FeedEvent = StoredMessage | GapEvent | ResetEvent;

export const isMessage = (event: FeedEvent): event is StoredMessage => !('kind' in event);

export interface FeedQueueOptions {
  feed: Feed;
  topic: string;
  after: number | undefined;
  epoch: string | undefined;
  /** Most events held for a live subscriber before it is ended as a slow consumer. */
  maxQueued: number;
  /** Who subscribes, for the topic's presence list. */
  presence?: PresenceIdentity | undefined;
  /** Called once when the stream ends, whichever way. */
  onEnd?: () => void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

export class FeedQueue implements FeedSink, AsyncIterableIterator<FeedEvent> {
  readonly #maxQueued: number;
  readonly #onEnd: (() => void) | undefined;
  #queue: FeedEvent[] = [];
  #head = 0;
  #taker: ((result: IteratorResult<FeedEvent>) => void) | undefined;
  #failTaker: ((error: unknown) => void) | undefined;
  #failure: unknown;
  #done = false;
  #drainWaiters: Array<() => void> = [];
  /** Highest offset handed out: where a client resumes (`after`). */
  #cursor: number;
  readonly #subscription: FeedSubscription;

  constructor(options: FeedQueueOptions) {
    this.#maxQueued = options.maxQueued;
    this.#onEnd = options.onEnd;
    this.#cursor = options.after ?? 0;
    this.#subscription = options.feed.subscribe(
      options.topic,
      { after: options.after, epoch: options.epoch, transport: 'graphql', presence: options.presence },
      this,
    );
  }

  get cursor(): number {
    return this.#cursor;
  }

  /** Ends the stream with `error` (token expiry, slow consumer, store failure). */
  fail(error: unknown): void {
    if (this.#done || this.#failure !== undefined) return;
    this.#subscription.close();
    this.#onEnd?.();
    // Unread events are dropped: the error names the cursor the client has, so it resumes exactly.
    this.#queue = [];
    this.#head = 0;
    const fail = this.#failTaker;
    this.#taker = this.#failTaker = undefined;
    if (fail) {
      this.#done = true;
      fail(error);
    } else this.#failure = error;
    this.#wakeDrainWaiters();
  }

  // FeedSink

  started(): void {}

  deliver(messages: readonly StoredMessage[], from: number): void {
    if (this.#length() + messages.length - from > this.#maxQueued) {
      this.fail(
        unavailable(
          `slow consumer: more than ${this.#maxQueued} events unread; subscribe again with after: ${this.#resumeAfter()} to resume`,
        ),
      );
      return;
    }
    for (let i = from; i < messages.length; i++) this.#push(messages[i]!);
  }

  gap(notice: GapNotice): void {
    this.#push({ kind: 'gap', ...notice });
  }

  reset(notice: ResetNotice): void {
    this.#push({ kind: 'reset', ...notice });
  }

  ready(): boolean {
    return !this.#done && this.#length() < this.#maxQueued / 4;
  }

  drained(): Promise<void> {
    if (this.#done || this.#failure !== undefined || this.ready()) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  failed(error: unknown): void {
    this.fail(
      new SwitchboardError(
        'unavailable',
        `the store failed while serving this subscription; subscribe again with after: ${this.#resumeAfter()}`,
        { cause: error },
      ),
    );
  }

  // AsyncIterator

  next(): Promise<IteratorResult<FeedEvent>> {
    if (this.#head < this.#queue.length) return Promise.resolve({ done: false, value: this.#take() });
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#done = true;
      this.#failure = undefined;
      return Promise.reject(failure);
    }
    if (this.#done) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#taker = resolve;
      this.#failTaker = reject;
    });
  }

  return(): Promise<IteratorResult<FeedEvent>> {
    this.#finish();
    return Promise.resolve(DONE);
  }

  throw(error: unknown): Promise<IteratorResult<FeedEvent>> {
    this.#finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#subscription.close();
    if (this.#failure === undefined) this.#onEnd?.();
    this.#queue = [];
    this.#head = 0;
    const take = this.#taker;
    this.#taker = this.#failTaker = undefined;
    take?.(DONE);
    this.#wakeDrainWaiters();
  }

  #push(event: FeedEvent): void {
    if (this.#done || this.#failure !== undefined) return;
    const take = this.#taker;
    if (take) {
      this.#taker = this.#failTaker = undefined;
      this.#note(event);
      take({ done: false, value: event });
      return;
    }
    this.#queue.push(event);
  }

  #take(): FeedEvent {
    const event = this.#queue[this.#head++]!;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1_024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#note(event);
    if (this.#drainWaiters.length > 0 && this.ready()) this.#wakeDrainWaiters();
    return event;
  }

  #note(event: FeedEvent): void {
    if (isMessage(event)) this.#cursor = event.offset;
    else if (event.kind === 'gap') this.#cursor = event.next;
    else this.#cursor = 0;
  }

  #resumeAfter(): number {
    return this.#cursor;
  }

  #length(): number {
    return this.#queue.length - this.#head;
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
