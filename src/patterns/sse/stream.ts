/**
 * One Server-Sent Events stream (one HTTP response) over one or more topics. Writes go straight to
 * the socket through the turn batcher; the stream tracks each topic's cursor so its event ids let a
 * reconnecting EventSource resume exactly, and closes itself when its send buffer passes the bound.
 */

import type { Socket } from 'node:net';
import type { Feed, FeedSink, FeedSubscription, GapNotice, ResetNotice } from '../../core/feed.js';
import type { PresenceIdentity } from '../../core/presence.js';
import type { StoredMessage } from '../../engines/engine.js';
import { encodeCursor, SseEvent } from '../../protocol/sse.js';
import { CloseCode } from '../../protocol/ws.js';
import type { DeliveryCounter } from '../shared/delivery-counter.js';
import type { TurnBatcher } from '../shared/turn-batcher.js';
import {
  chunk,
  END_OF_BODY,
  eventChunk,
  KEEP_ALIVE_CHUNK,
  messageFields,
  messagesChunk,
  retryChunk,
} from './wire.js';

export interface SseStreamOptions {
  socket: Socket;
  batcher: TurnBatcher;
  /** Topic → the offset delivery starts after (also the stream's first id). */
  cursors: Map<string, number>;
  /** Multi-topic streams use `topic:offset,…` ids; single-topic streams use the offset. */
  multiTopic: boolean;
  maxBufferedBytes: number;
  deliveries: DeliveryCounter;
}

/** After the last chunk, how long the client gets to read it before the socket is destroyed. */
const END_GRACE_MS = 5_000;

export class SseStream implements FeedSink {
  readonly #socket: Socket;
  readonly #batcher: TurnBatcher;
  readonly #cursors: Map<string, number>;
  readonly #multiTopic: boolean;
  readonly #maxBufferedBytes: number;
  readonly #deliveries: DeliveryCounter;
  readonly #subscriptions: FeedSubscription[] = [];
  #drainWaiters: Array<() => void> = [];
  #ended = false;
  /** Whether the buffer was over the replay mark at the last keep-alive tick (see `keepAlive`). */
  #stalled = false;

  constructor(options: SseStreamOptions) {
    this.#socket = options.socket;
    this.#batcher = options.batcher;
    this.#cursors = options.cursors;
    this.#multiTopic = options.multiTopic;
    this.#maxBufferedBytes = options.maxBufferedBytes;
    this.#deliveries = options.deliveries;
    this.#socket.on('drain', this.#wakeDrainWaiters);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The id a reconnect would send back: the offset, or the cursor over all topics. */
  get id(): string {
    if (this.#multiTopic) return encodeCursor(this.#cursors);
    return String(this.#cursors.values().next().value ?? 0);
  }

  /** Subscribes every topic of the stream to the feed, starting after its cursor; the stream is the sink. */
  subscribe(feed: Feed, presence?: PresenceIdentity): void {
    for (const [topic, after] of this.#cursors) {
      this.#subscriptions.push(feed.subscribe(topic, { after, transport: 'sse', presence }, this));
    }
  }

  /** Writes a chunk; false when the stream has ended or has just been closed as a slow consumer. */
  write(buffer: Buffer): boolean {
    if (this.#ended) return false;
    if (this.#socket.writableLength > this.#maxBufferedBytes) {
      this.close(
        CloseCode.SlowConsumer,
        `slow consumer: over ${this.#maxBufferedBytes} bytes unsent; reconnect and resume from your last event id`,
      );
      return false;
    }
    this.#batcher.cork(this.#socket);
    this.#socket.write(buffer);
    return true;
  }

  /** Keep-alive tick. A stream whose buffer stayed full for a whole tick has a stalled reader: close it. */
  keepAlive(): void {
    const stalled = this.#socket.writableLength >= this.#replayMark();
    if (stalled && this.#stalled) {
      this.close(CloseCode.SlowConsumer, 'slow consumer: nothing was read for a whole keep-alive interval');
      return;
    }
    this.#stalled = stalled;
    this.write(KEEP_ALIVE_CHUNK);
  }

  /** Ends the stream with a `close` event and a reconnect delay hint (slow consumer, shutdown). */
  close(code: number, reason: string, retryMs?: number): void {
    if (this.#ended) return;
    const closing = [eventChunk(SseEvent.Close, { code, reason })];
    if (retryMs !== undefined) closing.unshift(retryChunk(retryMs));
    this.#batcher.cork(this.#socket);
    for (const buffer of closing) this.#socket.write(buffer);
    this.end();
  }

  /** Releases the subscriptions and finishes the body; the socket closes once it is flushed. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.release();
    this.#socket.end(END_OF_BODY);
    setTimeout(() => this.#socket.destroy(), END_GRACE_MS).unref();
  }

  /** Stops delivery (the client went away, or the stream ended). */
  release(): void {
    this.#ended = true;
    for (const subscription of this.#subscriptions) subscription.close();
    this.#subscriptions.length = 0;
    this.#wakeDrainWaiters();
    this.#socket.off('drain', this.#wakeDrainWaiters);
  }

  // FeedSink, for every topic of the stream (messages and notices name their topic).

  started(): void {}

  deliver(messages: readonly StoredMessage[], from: number): void {
    const topic = messages[0]!.topic;
    this.#cursors.set(topic, messages[messages.length - 1]!.offset);
    this.#deliveries.count += messages.length - from;
    if (!this.#multiTopic) {
      this.write(messagesChunk(messages, from));
      return;
    }
    // Each event's id is the cursor over all topics as of that event.
    const cursors = new Map(this.#cursors);
    let text = '';
    for (let i = from; i < messages.length; i++) {
      const message = messages[i]!;
      cursors.set(topic, message.offset);
      text += `id: ${encodeCursor(cursors)}\n${messageFields(message)}`;
    }
    this.write(chunk(text));
  }

  gap(notice: GapNotice): void {
    this.#cursors.set(notice.topic, notice.next);
    this.write(eventChunk(SseEvent.Gap, notice, this.id));
  }

  reset(notice: ResetNotice): void {
    this.#cursors.set(notice.topic, 0);
    this.write(eventChunk(SseEvent.Reset, notice, this.id));
  }

  /** The store failed: end the stream; the client reconnects and resumes. */
  failed(): void {
    this.end();
  }

  #replayMark(): number {
    return Math.max(this.#socket.writableHighWaterMark, this.#maxBufferedBytes / 4);
  }

  ready(): boolean {
    return !this.#ended && this.#socket.writableLength < this.#replayMark();
  }

  drained(): Promise<void> {
    if (this.#ended) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  readonly #wakeDrainWaiters = (): void => {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  };
}
