/**
 * Request-reply inboxes (see core/requests.ts), an engine capability beyond the log. An inbox is
 * open while its caller waits; the first reply closes it and reaches the caller, wherever the
 * caller's node is. A closed inbox is remembered for a while, so a second or late reply is told
 * `closed` (409) rather than `unknown` (404).
 *
 * Engines that serve several nodes (Redis) implement it; single-node engines (memory, SQLite) leave
 * it out and the hub keeps inboxes in process (local-replies.ts).
 */

/** `delivered`: this reply won; `closed`: answered already or the caller gave up; `unknown`: no such inbox. */
export type ReplyOutcome = 'delivered' | 'closed' | 'unknown';

export type ReplyListener = (inbox: string, data: string) => void;

export interface ReplyStore {
  /** Opens an inbox whose replies come to this node; it lapses after `ttlMs` even if never closed. */
  openInbox(inbox: string, ttlMs: number): Promise<void>;
  /** The caller stopped waiting (timeout, went away): later replies are `closed`. */
  closeInbox(inbox: string): Promise<void>;
  /** First reply wins: delivers `data` (JSON text) to the inbox's node, atomically closing the inbox. */
  deliverReply(inbox: string, data: string): Promise<ReplyOutcome>;
  /** Replies for inboxes opened on this node. */
  onReply(listener: ReplyListener): () => void;
}

/** How long a closed inbox is remembered (a reply after this is `unknown`, 404). */
export const CLOSED_INBOX_MEMORY_MS = 120_000;
