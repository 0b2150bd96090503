/** Request-reply inboxes in process: the single-node engines' ReplyStore (see reply-store.ts). */
import {
  CLOSED_INBOX_MEMORY_MS,
  type ReplyListener,
  type ReplyOutcome,
  type ReplyStore,
} from './reply-store.js';

export function createLocalReplyStore(now: () => number = Date.now): ReplyStore {
  const open = new Set<string>();
  /** Closed inbox → when it is forgotten. Insertion order is expiry order (one fixed memory span). */
  const closed = new Map<string, number>();
  const listeners = new Set<ReplyListener>();

  const forgetOld = (): void => {
    const at = now();
    for (const [inbox, forgetAt] of closed) {
      if (forgetAt > at) break;
      closed.delete(inbox);
    }
  };

  const close = (inbox: string): void => {
    open.delete(inbox);
    closed.set(inbox, now() + CLOSED_INBOX_MEMORY_MS);
  };

  return {
    async openInbox(inbox) {
      forgetOld();
      open.add(inbox);
    },
    async closeInbox(inbox) {
      if (open.has(inbox)) close(inbox);
    },
    async deliverReply(inbox, data): Promise<ReplyOutcome> {
      if (open.has(inbox)) {
        close(inbox);
        for (const listener of listeners) listener(inbox, data);
        return 'delivered';
      }
      forgetOld();
      return closed.has(inbox) ? 'closed' : 'unknown';
    },
    onReply(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
