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
import { FeedMember, type MemberFeed } from './feed-member.js';
import type { FetchRequest, FetchResult } from './hub.js';
import type { PresenceIdentity } from './presence.js';

/** What the feed needs from the hub (a narrow seam, so the hub can own the feed). */
export interface FeedSource {
  fetch(topic: string, request: FetchRequest): Promise<FetchResult>;
  onAppended(listener: (topic: string, last: number) => void): () => void;
  trackSubscriber(topic: string, transport: string): () => void;
  /** Lists a push subscriber in the topic's presence (presence.ts); call the returned function when it leaves. */
  joinPresence?(topic: string, transport: string, identity: PresenceIdentity | undefined): () => void;
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
  /** Who subscribes, for the topic's presence list (any door: pass what the client said). */
  presence?: PresenceIdentity | undefined;
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

/** After a failed read the feed tries again this much later (the next publish also retries). */
const FEED_RETRY_MS = 1_000;

export function createFeed(source: FeedSource): Feed {
  const topics = new Map<string, TopicFeed>();
  let size = 0;
  const stopListening = source.onAppended((topic, last) => topics.get(topic)?.appended(last));

  class TopicFeed implements MemberFeed {
    readonly source = source;
    readonly members = new Set<FeedMember>();
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

    leave(member: FeedMember): void {
      if (!this.members.delete(member)) return;
      size--;
      if (this.members.size > 0) return;
      clearTimeout(this.retryTimer);
      if (topics.get(this.topic) === this) topics.delete(this.topic);
    }
  }

  return {
    subscribe(topic, request, sink) {
      let feed = topics.get(topic);
      if (!feed) {
        feed = new TopicFeed(topic);
        topics.set(topic, feed);
      }
      const member = new FeedMember(topic, sink, request, feed);
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
