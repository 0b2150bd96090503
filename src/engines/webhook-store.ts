/**
 * Webhooks as an engine capability: each webhook's registration and its delivery state (a cursor
 * over its topic's log, the attempt count and next attempt time of the message after it), so
 * delivery resumes where it was after a restart or on another node. The scheduler in
 * `src/core/webhooks/` decides; engines store and compare (`revision`, optimistic concurrency).
 *
 * Two small server-wide facilities live here too, because they need the same shared storage:
 * settings created once per data directory (the generated callback secret) and named leases (the
 * one node that runs deliveries when several share a Redis).
 */

export type WebhookKind = 'topic' | 'callback';

export interface WebhookRecord {
  /** `wh_…` for registered webhooks, `cb_<job id>` for a job's completion callback. */
  id: string;
  kind: WebhookKind;
  topic: string;
  url: string;
  /** `whsec_…`; null: signed with the server's callback secret (callbacks only). */
  secret: string | null;
  createdAt: number;
  /** Epoch of the log the cursor belongs to (null before the topic exists). */
  epoch: string | null;
  /** Highest offset done with: delivered, dead-lettered, or skipped. */
  cursor: number;
  /** Failed attempts of the message after the cursor. */
  attempt: number;
  /** When that message may be tried again (0: now). */
  nextAttemptAt: number;
  /** Messages delivered (2xx). */
  delivered: number;
  /** Messages given up on after the retry budget (moved to the dead letter). */
  failed: number;
  /** Attempts that failed, in total. */
  failedAttempts: number;
  /** Failed attempts since the last success: the webhook is `failing` from 3 on. */
  consecutiveFailures: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastDeliveredAt: number | null;
  /** Callbacks: true once the job's terminal status was delivered or dead-lettered. */
  done: boolean;
  /** Compare-and-set counter, +1 on every write. */
  revision: number;
}

export interface WebhookStore {
  /** Stores a new webhook; false (nothing written) when the id exists. */
  createWebhook(record: WebhookRecord): Promise<boolean>;
  getWebhook(id: string): Promise<WebhookRecord | null>;
  /** Every webhook and callback, registration order. */
  listWebhooks(): Promise<WebhookRecord[]>;
  /** False (nothing written) when the webhook is gone or its revision moved on. */
  updateWebhook(record: WebhookRecord, expectedRevision: number): Promise<boolean>;
  deleteWebhook(id: string): Promise<boolean>;
  /** The stored value of a server-wide setting, storing `value` first when there is none. */
  ensureSetting(name: string, value: string): Promise<string>;
  /**
   * Takes or renews the named lease for `holder` until `now + ttlMs`; false while another holder's
   * lease is still running. The holder gives it up with `ttlMs` 0.
   */
  acquireLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
}
