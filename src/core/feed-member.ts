/**
 * One subscriber of a topic feed (see feed.ts): it owns the subscriber's cursor, and every delivery,
 * live or replayed, passes its one check: offsets at or below the cursor are dropped, the next offset
 * is delivered, and anything further ahead means a hole, which the member fills by reading the log
 * itself ("pumping") until it has caught up. Live batches that arrive while it pumps are skipped;
 * it only remembers that the log has grown, and keeps reading until it has everything.
 */
import type { StoredMessage } from '../engines/engine.js';
import type { FeedRequest, FeedSink, FeedSource, FeedSubscription } from './feed.js';
import type { FetchResult } from './hub.js';

/** Replay writes at most this much message data between backpressure checks. */
const REPLAY_SLICE_BYTES = 64 * 1024;

/** What a member needs from its topic feed. */
export interface MemberFeed {
  readonly source: FeedSource;
  /** A member's read shows where the log ends (the feed starts reading there). */
  observed(result: FetchResult): void;
  leave(member: FeedMember): void;
}

export class FeedMember implements FeedSubscription {
  #cursor: number | undefined;
  #epoch: string | undefined;
  /** Highest offset known to exist (from reads and from batches skipped while replaying). */
  #known = 0;
  #pumping = false;
  #again = false;
  #started = false;
  #closed = false;
  readonly #untrack: () => void;
  readonly #leavePresence: (() => void) | undefined;

  constructor(
    readonly topic: string,
    readonly sink: FeedSink,
    request: FeedRequest,
    readonly feed: MemberFeed,
  ) {
    this.#cursor = request.after;
    this.#epoch = request.epoch;
    this.#untrack = feed.source.trackSubscriber(topic, request.transport);
    this.#leavePresence = feed.source.joinPresence?.(topic, request.transport, request.presence);
  }

  get cursor(): number {
    return this.#started ? (this.#cursor ?? -1) : -1;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A batch read by the feed: take what continues the cursor, or go read the log if behind. */
  offer(messages: readonly StoredMessage[], epoch: string | null): void {
    const cursor = this.#cursor;
    const lastOffset = messages[messages.length - 1]!.offset;
    if (this.#pumping || cursor === undefined) {
      if (lastOffset > this.#known) this.#known = lastOffset;
      return;
    }
    if (lastOffset <= cursor) return;
    const firstOffset = messages[0]!.offset;
    if (firstOffset > cursor + 1 || (this.#epoch !== undefined && epoch !== this.#epoch)) {
      if (lastOffset > this.#known) this.#known = lastOffset;
      this.wake();
      return;
    }
    if (epoch !== null) this.#epoch = epoch;
    this.#cursor = lastOffset;
    this.sink.deliver(messages, cursor + 1 - firstOffset);
  }

  /** Reads the log until caught up (or again, if already reading). */
  wake(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      do {
        this.#again = false;
        const probing = this.#cursor === undefined;
        const result = await this.feed.source.fetch(this.topic, {
          after: this.#cursor ?? 0,
          limit: probing ? 0 : this.feed.source.pageSize,
          epoch: probing ? undefined : this.#epoch,
        });
        if (this.#closed) return;
        this.feed.observed(result);
        if (probing) {
          // Live only: start at the log's end; later batches (or reads) continue from here.
          this.#cursor = result.last;
          this.#epoch = result.epoch ?? undefined;
          this.#start(result);
        } else {
          const before = this.#cursor;
          await this.#absorb(result);
          // Nothing readable after the cursor although more was signalled (e.g. trimmed at once):
          // stop instead of spinning; the next batch or signal wakes this member again.
          if (this.#cursor === before && result.messages.length === 0 && !result.reset) this.#known = before!;
        }
      } while (!this.#closed && (this.#again || this.#cursor! < this.#known));
    } catch (error) {
      if (this.#closed) return;
      this.close();
      this.sink.failed(error);
    } finally {
      this.#pumping = false;
    }
  }

  #start(result: FetchResult): void {
    if (this.#started) return;
    this.#started = true;
    this.sink.started({ topic: this.topic, epoch: result.epoch, last: result.last, after: this.#cursor! });
  }

  async #absorb(result: FetchResult): Promise<void> {
    this.#start(result);
    if (result.reset) {
      this.sink.reset({ topic: this.topic, epoch: result.epoch, last: result.last });
      this.#cursor = 0;
      this.#epoch = result.epoch ?? undefined;
      this.#known = result.last;
      return;
    }
    this.#epoch = result.epoch ?? undefined;
    if (result.last > this.#known) this.#known = result.last;
    const messages = result.messages;
    const cursor = this.#cursor!;
    const resumeAt = result.gap ? (messages[0] ? messages[0].offset - 1 : result.next) : cursor;
    if (resumeAt > cursor) {
      this.sink.gap({ topic: this.topic, after: cursor, next: resumeAt });
      this.#cursor = resumeAt;
    }
    await this.#replay(messages);
  }

  /** Writes a page in slices, waiting whenever the sink's buffer is full. */
  async #replay(messages: readonly StoredMessage[]): Promise<void> {
    let from = 0;
    while (from < messages.length && !this.#closed) {
      if (this.sink.ready && !this.sink.ready()) {
        await this.sink.drained?.();
        if (this.#closed) return;
      }
      let to = from;
      let bytes = 0;
      while (to < messages.length && (to === from || bytes < REPLAY_SLICE_BYTES)) {
        bytes += messages[to]!.data.length;
        to++;
      }
      const slice = from === 0 && to === messages.length ? messages : messages.slice(from, to);
      from = to;
      const cursor = this.#cursor!;
      const first = slice[0]!.offset;
      const last = slice[slice.length - 1]!.offset;
      if (last <= cursor) continue;
      if (first > cursor + 1) {
        // Retention removed messages between our reads: say so rather than skip silently.
        this.sink.gap({ topic: this.topic, after: cursor, next: first - 1 });
        this.#cursor = first - 1;
      }
      const start = Math.max(0, this.#cursor! + 1 - first);
      this.#cursor = last;
      this.sink.deliver(slice, start);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#untrack();
    this.#leavePresence?.();
    this.feed.leave(this);
  }
}
