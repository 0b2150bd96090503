/**
 * `Subscribe`: one server stream per topic, fed by the hub's shared live feed (replay-then-live,
 * each offset once, gap/reset events), as SSE and WebSocket are. The stream counts the bytes it has
 * handed to grpc-js that are not flushed yet: past the push buffer bound (the same one WebSocket
 * and SSE use) the reader is too slow, and the stream ends with RESOURCE_EXHAUSTED and a resume
 * hint. Nothing is lost: the client subscribes again after its last offset.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { scheduleExpiry } from '../../core/auth.js';
import type { FeedSink, FeedStart, FeedSubscription, GapNotice, ResetNotice } from '../../core/feed.js';
import { presenceInfoText, presenceSub } from '../../core/presence.js';
import type { StoredMessage } from '../../engines/engine.js';
import { SwitchboardError, unauthorized, unavailable } from '../../protocol/errors.js';
import { callerOf } from './caller.js';
import type { CallDeps } from './calls.js';
import { contractStatus, RESUME_AFTER_TRAILER, RESUME_EPOCH_TRAILER, toGrpcError } from './status.js';
import { given, protoMessage, safeInteger } from './wire.js';

interface SubscribeRequest {
  topic?: string;
  after?: number;
  epoch?: string;
  info?: string;
}

/** Rough wire size of a message event: its data and names plus framing. */
const eventBytes = (message: StoredMessage): number =>
  message.data.length + message.topic.length + (message.event?.length ?? 0) + 48;

export interface SubscribeOptions {
  maxBufferedBytes: number;
}

/** Open streams, so shutdown can end them with a resume hint. */
export class GrpcStreams {
  readonly #open = new Set<GrpcSubscription>();

  get size(): number {
    return this.#open.size;
  }

  add(stream: GrpcSubscription): void {
    this.#open.add(stream);
  }

  delete(stream: GrpcSubscription): void {
    this.#open.delete(stream);
  }

  /** Ends every stream with UNAVAILABLE and its resume hint (graceful shutdown); answers how many. */
  closeAll(): number {
    const open = [...this.#open];
    for (const stream of open) {
      stream.end(unavailable('the server is restarting; subscribe again with the resume hint'));
    }
    return open.length;
  }
}

export class GrpcSubscription implements FeedSink {
  feedSubscription: FeedSubscription | undefined;
  #pendingBytes = 0;
  #ended = false;
  #epoch = '';
  /** Highest offset whose event grpc-js has flushed (the safe resume point). */
  #flushed = -1;
  #drainWaiters: Array<() => void> = [];
  #cancelExpiry: () => void = () => {};

  constructor(
    readonly call: ServerWritableStream<SubscribeRequest, object>,
    readonly topic: string,
    readonly maxBufferedBytes: number,
    readonly streams: GrpcStreams,
    readonly delivered: (count: number) => void,
  ) {
    streams.add(this);
    call.once('cancelled', () => this.release());
    call.once('close', () => this.release());
  }

  set cancelExpiry(cancel: () => void) {
    this.#cancelExpiry = cancel;
  }

  started(start: FeedStart): void {
    this.#epoch = start.epoch ?? '';
    this.#flushed = start.after;
    this.#send(
      { ready: { topic: start.topic, epoch: this.#epoch, last: start.last, after: start.after } },
      32,
    );
  }

  deliver(messages: readonly StoredMessage[], from: number): void {
    for (let i = from; i < messages.length && !this.#ended; i++) {
      const message = messages[i]!;
      const offset = message.offset;
      this.#send({ message: protoMessage(message) }, eventBytes(message), () => {
        if (offset > this.#flushed) this.#flushed = offset;
      });
    }
    this.delivered(messages.length - from);
  }

  gap(notice: GapNotice): void {
    this.#send({ gap: { topic: notice.topic, after: notice.after, next: notice.next } }, 32, () => {
      if (notice.next > this.#flushed) this.#flushed = notice.next;
    });
  }

  reset(notice: ResetNotice): void {
    this.#epoch = notice.epoch ?? '';
    this.#flushed = 0;
    this.#send({ reset: { topic: notice.topic, epoch: this.#epoch, last: notice.last } }, 32);
  }

  failed(error: unknown): void {
    this.end(error instanceof SwitchboardError ? error : unavailable('the store failed; subscribe again'));
  }

  ready(): boolean {
    return !this.#ended && this.#pendingBytes < this.#replayMark();
  }

  drained(): Promise<void> {
    if (this.#ended || this.ready()) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Ends the stream with a contract error and the resume hint trailers. */
  end(error: SwitchboardError): void {
    if (this.#ended) return;
    const hint: Record<string, string> =
      this.#flushed >= 0
        ? { [RESUME_AFTER_TRAILER]: String(this.#flushed), [RESUME_EPOCH_TRAILER]: this.#epoch }
        : {};
    this.release();
    this.call.emit('error', contractStatus(error, hint));
  }

  /** Stops delivery (the client went away, or the stream ended). */
  release(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.feedSubscription?.close();
    this.#cancelExpiry();
    this.streams.delete(this);
    this.#wake();
  }

  #send(event: object, bytes: number, flushed?: () => void): void {
    if (this.#ended) return;
    if (this.#pendingBytes > this.maxBufferedBytes) {
      this.end(
        new SwitchboardError(
          'rate_limited',
          `slow consumer: over ${this.maxBufferedBytes} bytes unsent; subscribe again after your last offset (trailer ${RESUME_AFTER_TRAILER})`,
        ),
      );
      return;
    }
    this.#pendingBytes += bytes;
    this.call.write(event, () => {
      this.#pendingBytes -= bytes;
      flushed?.();
      if (this.#drainWaiters.length > 0 && this.ready()) this.#wake();
    });
  }

  #replayMark(): number {
    return Math.max(65_536, this.maxBufferedBytes / 4);
  }

  #wake(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}

export function subscribeCall(deps: CallDeps, streams: GrpcStreams, options: SubscribeOptions) {
  return (call: ServerWritableStream<SubscribeRequest, object>): void => {
    const request = call.request;
    const topic = request.topic ?? '';
    callerOf(call, deps.security)
      .then((caller) => {
        caller.may('subscribe', topic);
        const after = request.after === undefined ? undefined : safeInteger('after', request.after);
        const presence = { sub: presenceSub(caller.principal), info: presenceInfoText(given(request.info)) };
        if (call.cancelled) return;
        const stream = new GrpcSubscription(call, topic, options.maxBufferedBytes, streams, deps.delivered);
        stream.cancelExpiry = scheduleExpiry(caller.principal, () =>
          stream.end(unauthorized('token expired; subscribe again with a fresh token')),
        );
        try {
          stream.feedSubscription = deps.hub.feed.subscribe(
            topic,
            { after, epoch: given(request.epoch), transport: 'grpc', presence },
            stream,
          );
        } catch (error) {
          stream.release();
          throw error;
        }
      })
      .catch((error: unknown) => {
        const grpcError = toGrpcError(error);
        if (grpcError.name !== 'SwitchboardError') deps.onError(error, 'Subscribe');
        call.emit('error', grpcError);
      });
  };
}
