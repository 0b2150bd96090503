/**
 * A subscription to one topic: callbacks (`onMessage`, events) and async iteration over the same
 * messages, each offset exactly once, across reconnects and transport changes.
 */
import type { Message } from '../protocol/message.js';
import { Emitter } from './emitter.js';
import { type ResumePosition, TopicCursor } from './resume.js';

export interface SubscribeOptions<T = unknown> {
  /** Deliver messages with offset > after (0: from the start of the log). Omit to start live. */
  after?: number;
  /** The epoch `after` came from, so a cursor from a wiped log is answered with `reset`. */
  epoch?: string;
  onMessage?: (message: Message<T>) => void;
}

export interface GapEvent {
  topic: string;
  /** Last offset delivered before the gap. */
  after: number;
  /** Offsets after `after` up to `next` were removed by retention; delivery continues after `next`. */
  next: number;
}

export interface ResetEvent {
  topic: string;
  /** Epoch of the log delivery restarts in, at offset 1. */
  epoch: string | null;
  last: number;
  /** Where the subscription was in the old log. */
  previous: { after: number | undefined; epoch: string | null };
}

export interface SubscriptionEvents<T> {
  message: Message<T>;
  /** The server confirmed the start (`after`) and the log's `epoch` and `last` offset. */
  started: { topic: string; after: number; epoch: string | null; last: number };
  gap: GapEvent;
  reset: ResetEvent;
}

/** Hooks the client gives a subscription (kept off the public surface). */
export interface SubscriptionOwner {
  remove(subscription: Subscription): void;
}

export class Subscription<T = unknown>
  extends Emitter<SubscriptionEvents<T>>
  implements AsyncIterable<Message<T>>
{
  readonly topic: string;
  /** Resolves when the subscription ends: with nothing after `unsubscribe()`, with the error that ended it otherwise. */
  readonly closed: Promise<Error | undefined>;
  readonly #cursor: TopicCursor;
  readonly #owner: SubscriptionOwner;
  readonly #iterators = new Set<MessageQueue<T>>();
  /**
   * Messages that arrived before the first iterator, kept only for a subscription without
   * `onMessage` (so `subscribe()` then `for await` later misses nothing). Dropped for good once an
   * iterator or a message listener takes over.
   */
  #backlog: Message<T>[] | undefined;
  #resolveClosed!: (value: Error | undefined) => void;
  #ended = false;
  #endError: Error | undefined;

  constructor(topic: string, options: SubscribeOptions<T>, owner: SubscriptionOwner) {
    super();
    this.topic = topic;
    this.#cursor = new TopicCursor(options.after, options.epoch);
    this.#owner = owner;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    if (options.onMessage !== undefined) this.on('message', options.onMessage);
    else this.#backlog = [];
  }

  /** Offset of the last message delivered (the cursor a resume continues from). */
  get offset(): number | undefined {
    return this.#cursor.after;
  }

  get epoch(): string | null {
    return this.#cursor.epoch;
  }

  get active(): boolean {
    return !this.#ended;
  }

  unsubscribe(): void {
    this.end();
  }

  [Symbol.asyncIterator](): AsyncIterator<Message<T>> {
    const queue = new MessageQueue<T>(() => {
      this.#iterators.delete(queue);
      this.unsubscribe(); // breaking out of `for await` ends the subscription, as in nats
    });
    for (const message of this.#backlog ?? []) queue.push(message);
    this.#backlog = undefined;
    if (this.#ended) queue.end(this.#endError);
    else this.#iterators.add(queue);
    return queue;
  }

  /** @internal */ position(): ResumePosition {
    return this.#cursor.position();
  }

  /** @internal */ deliver(message: Message): void {
    if (this.#ended || !this.#cursor.accept(message.offset)) return;
    for (const queue of this.#iterators) queue.push(message as Message<T>);
    if (this.#backlog !== undefined) {
      if (this.listenerCount('message') === 0) this.#backlog.push(message as Message<T>);
      else this.#backlog = undefined;
    }
    this.emit('message', message as Message<T>);
  }

  /** @internal */ started(after: number, epoch: string | null, last: number): void {
    this.#cursor.started(after, epoch);
    this.emit('started', {
      topic: this.topic,
      after: this.#cursor.after ?? after,
      epoch: this.#cursor.epoch,
      last,
    });
  }

  /** @internal */ learnEpoch(epoch: string | null): void {
    this.#cursor.learnEpoch(epoch);
  }

  /** @internal */ gap(after: number, next: number): void {
    this.#cursor.gap(next);
    this.emit('gap', { topic: this.topic, after, next });
  }

  /** @internal */ reset(epoch: string | null, last: number): void {
    const previous = { after: this.#cursor.after, epoch: this.#cursor.epoch };
    this.#cursor.reset(epoch);
    this.emit('reset', { topic: this.topic, epoch, last, previous });
  }

  /** @internal Ends the subscription (unsubscribe, refusal, client closed). */
  end(error?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endError = error;
    this.#owner.remove(this);
    for (const queue of this.#iterators) queue.end(error);
    this.#iterators.clear();
    this.#resolveClosed(error);
  }
}

/** One async iterator's buffer: messages wait here until `next()` takes them. */
class MessageQueue<T> implements AsyncIterator<Message<T>> {
  #items: Message<T>[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #done = false;
  #error: Error | undefined;

  constructor(readonly onReturn: () => void) {}

  push(message: Message<T>): void {
    this.#items.push(message);
    this.#wake?.();
  }

  end(error: Error | undefined): void {
    this.#done = true;
    this.#error = error;
    this.#wake?.();
  }

  async next(): Promise<IteratorResult<Message<T>>> {
    while (this.#head >= this.#items.length) {
      if (this.#done) {
        if (this.#error !== undefined) throw this.#error;
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
    const message = this.#items[this.#head++]!;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head); // keep the buffer from growing forever
      this.#head = 0;
    }
    return { done: false, value: message };
  }

  async return(): Promise<IteratorResult<Message<T>>> {
    this.#done = true;
    this.onReturn();
    return { done: true, value: undefined };
  }
}
