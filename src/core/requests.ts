/**
 * Request-reply through the hub (RPC, "sync over async"): a request is an ordinary message in the
 * topic's log that also carries `replyTo`, an inbox id; the caller waits for the first reply to
 * that inbox. Responders are ordinary subscribers or group members (a group spreads requests the
 * way NATS queue groups do), on any door and any node.
 *
 * Inboxes live in the engine's ReplyStore (Redis: shared by every node) or in process (memory,
 * SQLite). Per node there is one reply listener and one map of waiting callers; each waiting call
 * holds one timer and at most one abort listener, and every way out (reply, timeout, abort, failed
 * publish) removes all three, so abandoned requests leave nothing behind.
 */
import { randomBytes } from 'node:crypto';
import type { ReplyStore } from '../engines/reply-store.js';
import {
  badRequest,
  conflict,
  notFound,
  payloadTooLarge,
  SwitchboardError,
  timeout,
} from '../protocol/errors.js';
import { INBOX_SEGMENT } from './system-topics.js';

/** What `request` appends (the shape of hub.PublishInput, kept here to avoid an import cycle). */
export interface RequestInput {
  data: string;
  event?: unknown;
  idempotencyKey?: unknown;
}

export interface RequestOptions {
  /** How long to wait for the first reply (1 ms to 60 s). */
  timeoutMs: number;
  /** The caller went away: the inbox is closed at once. */
  signal?: AbortSignal | undefined;
}

export interface RequestResult {
  topic: string;
  /** The request message's offset in the topic's log. */
  offset: number;
  replyTo: string;
  /** The reply's data as JSON text, exactly as the responder sent it. */
  reply: string;
}

export interface Requests {
  /** Appends the request with a fresh `replyTo` and waits for the first reply; 504 `timeout` without one. */
  request(topic: string, input: RequestInput, options: RequestOptions): Promise<RequestResult>;
  /** Answers a request. First reply wins: a second or late one is 409, an unknown inbox 404. */
  respond(replyTo: string, data: string): Promise<void>;
  /** Requests waiting for a reply on this node. */
  readonly pending: number;
  /** Rejects every waiting request (shutdown) and stops listening. */
  close(): void;
}

export interface RequestsDeps {
  store: ReplyStore;
  /** The guarded publish (system topics refused) with the inbox stored on the message. */
  append(
    topic: string,
    input: RequestInput,
    replyTo: string,
  ): Promise<{ offset: number; duplicate: boolean }>;
  maxMessageBytes: number;
  /** Told how each request ended (metrics). */
  outcome?: (outcome: RequestOutcome) => void;
}

export type RequestOutcome = 'replied' | 'timeout' | 'abandoned' | 'failed';

export const MAX_REQUEST_TIMEOUT_MS = 60_000;
/** An inbox outlives its caller's deadline by this much, so the caller, not Redis, decides the timeout. */
const INBOX_GRACE_MS = 5_000;
/** `_inbox.` + 24 base64url characters (144 random bits): unguessable, so the id is the capability. */
const INBOX_RE = /^_inbox\.[A-Za-z0-9_-]{24}$/;

export const newInboxId = (): string => `${INBOX_SEGMENT}.${randomBytes(18).toString('base64url')}`;

interface Waiting {
  settle(reply: string | undefined, error?: SwitchboardError): void;
}

export function createRequests(deps: RequestsDeps): Requests {
  const waiting = new Map<string, Waiting>();
  const stopListening = deps.store.onReply((inbox, data) => waiting.get(inbox)?.settle(data));

  return {
    get pending() {
      return waiting.size;
    },

    async request(topic, input, { timeoutMs, signal }) {
      if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_REQUEST_TIMEOUT_MS) {
        throw badRequest(
          `a request's timeout must be a whole number of ms from 1 to ${MAX_REQUEST_TIMEOUT_MS}`,
        );
      }
      if (signal?.aborted) throw gone();
      const inbox = newInboxId();
      let settled = false;
      let outcome: RequestOutcome = 'failed';
      let resolveReply!: (reply: string) => void;
      let rejectReply!: (error: unknown) => void;
      const replied = new Promise<string>((resolve, reject) => {
        resolveReply = resolve;
        rejectReply = reject;
      });
      const onAbort = (): void => entry.settle(undefined, gone());
      const timer = setTimeout(
        () =>
          entry.settle(
            undefined,
            timeout(
              `no reply to the request on "${topic}" within ${timeoutMs} ms; is a responder subscribed?`,
            ),
          ),
        timeoutMs,
      );
      const entry: Waiting = {
        settle(reply, error) {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          waiting.delete(inbox);
          if (reply !== undefined) {
            outcome = 'replied';
            resolveReply(reply);
            return;
          }
          outcome = error?.code === 'timeout' ? (signal?.aborted ? 'abandoned' : 'timeout') : 'failed';
          deps.store.closeInbox(inbox).catch(() => {}); // it lapses by its TTL anyway
          rejectReply(error);
        },
      };
      waiting.set(inbox, entry);
      signal?.addEventListener('abort', onAbort, { once: true });
      replied.catch(() => {}); // settled before anyone awaits it (e.g. a failed publish)
      try {
        await deps.store.openInbox(inbox, timeoutMs + INBOX_GRACE_MS);
        if (settled) {
          await replied; // settled before the publish: only an abort or shutdown, so this rejects
          throw gone();
        }
        const appended = await deps.append(topic, input, inbox);
        if (appended.duplicate) {
          throw conflict(
            `a request with this idempotencyKey was already sent to "${topic}" (offset ${appended.offset}); its reply went to that caller: use a new key`,
          );
        }
        const reply = await replied;
        return { topic, offset: appended.offset, replyTo: inbox, reply };
      } catch (error) {
        entry.settle(undefined, error instanceof SwitchboardError ? error : undefined);
        throw error;
      } finally {
        deps.outcome?.(outcome);
      }
    },

    async respond(replyTo, data) {
      if (typeof replyTo !== 'string' || !INBOX_RE.test(replyTo)) {
        throw notFound(
          `no request is waiting on inbox ${JSON.stringify(replyTo)}; reply to a message's "replyTo"`,
        );
      }
      const bytes = Buffer.byteLength(data);
      if (bytes > deps.maxMessageBytes) {
        throw payloadTooLarge(
          `reply data is ${bytes} bytes; the limit is ${deps.maxMessageBytes} (limits.maxMessageBytes): send less, or a reference to it`,
        );
      }
      const outcome = await deps.store.deliverReply(replyTo, data);
      if (outcome === 'closed') {
        throw conflict(`the request on ${replyTo} was already answered, or its caller stopped waiting`);
      }
      if (outcome === 'unknown') {
        throw notFound(`no request is waiting on inbox ${replyTo} (never opened, or forgotten long ago)`);
      }
    },

    close() {
      stopListening();
      for (const entry of [...waiting.values()]) {
        entry.settle(
          undefined,
          new SwitchboardError('unavailable', 'the server is shutting down; send the request again'),
        );
      }
    },
  };
}

/** The caller went away (closed its connection): nobody reads this, it only ends the wait. */
const gone = (): SwitchboardError => timeout('the caller stopped waiting for the reply');
