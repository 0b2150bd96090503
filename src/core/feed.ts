/**
 * The live feed: one log reader per topic that hands the *same* StoredMessage objects to every
 * subscriber, so a message is read once per topic and serialized once per transport however many
 * subscribers there are (the wire modules cache their encodings per message object).
 *
 * Engines only signal that a topic grew (`onAppended`); the feed then reads the new messages once
 * and offers the batch to each member. A member keeps its own cursor (the highest offset it has
 * delivered) and accepts a batch only where it continues that cursor: it drops offsets it already
 * has, and when a batch would leave a hole (the member is replaying, or it joined while the feed
 * was mid-read) it reads the log itself until it has caught up. Every delivery path goes through
 * that one cursor check, so replay-then-live has no gaps and no duplicates whatever the timing.
 */
import type { StoredMessage } from '../engines/engine.js';
import type { FetchRequest, FetchResult } from './hub.js';

/** What the feed needs from the hub (a narrow seam, so the hub can own the feed). */
export interface FeedSource {
  fetch(topic: string, request: FetchRequest): Promise<FetchResult>;
  onAppended(listener: (topic: string, last: number) => void): () => void;
  trackSubscriber(topic: string, transport: string): () => void;
  /** Most messages one log read returns. */
  pageSize: number;
}

/** Where a subscription starts; given to the sink before anything else. */
export interface FeedStart {
  topic: string;
  epoch: string | null;
  /** Highest offset in the log when the subscription started. */
  last: number;
  /** The cursor delivery continues from (messages with offset > after follow). */
  after: number;
}

/** Messages after `after` up to `next` were removed by retention before this subscriber read them. */
export interface GapNotice {
  topic: string;
  after: number;
  next: number;
}

/** The cursor belongs to another log (other epoch, or past its end); delivery restarts at offset 1. */
export interface ResetNotice {
  topic: string;
  epoch: string | null;
  last: number;
}

/** A transport's end of a subscription. Calls arrive in order; none after `close()`. */
export interface FeedSink {
  started(start: FeedStart): void;
  /** `messages[from..]` are the next offsets: contiguous, ascending, each delivered once. */
  deliver(messages: readonly StoredMessage[], from: number): void;
  gap(notice: GapNotice): void;
  reset(notice: ResetNotice): void;
  /** False while the sink's buffer is full: replay waits for `drained()`. Live batches never wait. */
  ready?(): boolean;
  /** Resolves when the sink can take more, or is gone. */
  drained?(): Promise<void>;
  /** The store failed while serving this subscription; it is closed already. */
  failed(error: unknown): void;
}

export interface FeedRequest {
  /** Replay messages after this offset; undefined starts live (new messages only). */
  after?: number | undefined;
  /** Epoch the cursor came from, when known. */
  epoch?: string | undefined;
  /** Transport name for the topic's subscriber counts ('sse', 'websocket', 'in-process'). */
  transport: string;
}

export interface FeedSubscription {
  readonly topic: string;
  /** Highest offset delivered (the cursor a client would resume from); -1 before the start. */
  readonly cursor: number;
  readonly closed: boolean;
  close(): void;
}

export interface Feed {
  subscribe(topic: string, request: FeedRequest, sink: FeedSink): FeedSubscription;
  /** Open subscriptions, all topics. */
  readonly size: number;
  close(): void;
}

/** Replay writes at most this much message data between backpressure checks. */
const REPLAY_SLICE_BYTES = 64 * 1024;
/** After a failed read the feed tries again this much later (the next publish also retries). */
const FEED_RETRY_MS = 1_000;

export function createFeed(source: FeedSource): Feed {
  const topics = new Map<string, TopicFeed>();
  let size = 0;
  const stopListening = source.onAppended((topic, last) => topics.get(topic)?.appended(last));

  class TopicFeed {
    readonly members = new Set<Member>();
    /** Highest offset the feed has read; undefined until a member's first read tells where the log ends. */
    cursor: number | undefined;
    epoch: string | null | undefined;
    /** Highest offset the engine has signalled. */
    target = 0;
    reading = false;
    retryTimer: NodeJS.Timeout | undefined;

    constructor(readonly topic: string) {}

    appended(last: number): void {
      if (last > this.target) this.target = last;
      void this.read();
    }

    /** A member's read shows where the log ends: the feed starts from there (older is replay's job). */
    observed(result: FetchResult): void {
      if (this.cursor !== undefined) return;
      this.cursor = result.last;
      this.epoch = result.epoch;
      void this.read();
    }

    async read(): Promise<void> {
      if (this.reading || this.cursor === undefined || this.cursor >= this.target) return;
      this.reading = true;
      try {
        while (this.cursor < this.target && this.members.size > 0) {
          const result = await source.fetch(this.topic, {
            after: this.cursor,
            limit: source.pageSize,
            epoch: this.epoch ?? undefined,
          });
          if (this.members.size === 0) break;
          if (result.reset) {
            // The log was deleted and recreated: members notice through their own reads (which
            // carry their epoch) and restart; the feed continues from the new log's end.
            this.cursor = result.last;
            this.target = result.last;
            this.epoch = result.epoch;
            for (const member of this.members) member.wake();
            continue;
          }
          this.epoch = result.epoch;
          if (result.last > this.target) this.target = result.last;
          const messages = result.messages;
          const lastRead = messages.at(-1)?.offset;
          if (lastRead === undefined) {
            this.cursor = Math.max(this.cursor, result.next);
            break;
          }
          this.cursor = lastRead;
          for (const member of this.members) member.offer(messages, result.epoch);
        }
      } catch {
        // Not advancing the cursor keeps the feed contiguous; retry soon even if nobody publishes.
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = undefined;
          void this.read();
        }, FEED_RETRY_MS).unref();
      } finally {
        this.reading = false;
      }
    }

    leave(member: Member): void {
      this.members.delete(member);
      if (this.members.size > 0) return;
      clearTimeout(this.retryTimer);
      if (topics.get(this.topic) === this) topics.delete(this.topic);
    }
  }

  class Member implements FeedSubscription {
    #cursor: number | undefined;
    #epoch: string | undefined;
    /** Highest offset known to exist (from reads and from batches skipped while replaying). */
    #known = 0;
    #pumping = false;
    #again = false;
    #started = false;
    #closed = false;
    readonly #untrack: () => void;

    constructor(
      readonly topic: string,
      readonly feed: TopicFeed,
      readonly sink: FeedSink,
      request: FeedRequest,
    ) {
      this.#cursor = request.after;
      this.#epoch = request.epoch;
      this.#untrack = source.trackSubscriber(topic, request.transport);
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
          const result = await source.fetch(this.topic, {
            after: this.#cursor ?? 0,
            limit: probing ? 0 : source.pageSize,
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
            if (this.#cursor === before && result.messages.length === 0 && !result.reset)
              this.#known = before!;
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
      size--;
      this.#untrack();
      this.feed.leave(this);
    }
  }

  return {
    subscribe(topic, request, sink) {
      let feed = topics.get(topic);
      if (!feed) {
        feed = new TopicFeed(topic);
        topics.set(topic, feed);
      }
      const member = new Member(topic, feed, sink, request);
      feed.members.add(member);
      size++;
      member.wake();
      return member;
    },
    get size() {
      return size;
    },
    close() {
      stopListening();
      for (const feed of [...topics.values()]) for (const member of [...feed.members]) member.close();
    },
  };
}
