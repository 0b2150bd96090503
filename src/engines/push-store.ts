/**
 * Web Push subscriptions as an engine capability: each browser subscription registered on a topic
 * (its push service endpoint and the keys its payloads are encrypted to) and its delivery state —
 * the same cursor, attempt count and next attempt time a webhook keeps, so delivery resumes where
 * it was after a restart or on another node. The rules are in `src/core/push/`; engines store and
 * compare (`revision`, optimistic concurrency). The VAPID keys are a setting (webhook-store.ts).
 */
import type { WebhookRecord } from './webhook-store.js';

export type PushUrgency = 'very-low' | 'low' | 'normal' | 'high';

export interface PushSubscriptionRecord extends Omit<WebhookRecord, 'kind' | 'url' | 'secret' | 'done'> {
  /** `ps_…` */
  id: string;
  kind: 'push';
  /** The push service URL from the browser's PushSubscription (a capability: never logged). */
  endpoint: string;
  /** The browser's P-256 public key, base64url (65 bytes, uncompressed point). */
  p256dh: string;
  /** The browser's 16-byte authentication secret, base64url. */
  auth: string;
  /** Seconds the push service keeps an undelivered message (`TTL` header). */
  ttl: number;
  urgency: PushUrgency;
  /** Always false: a subscription delivers until deleted (or its push service says it is gone). */
  done: boolean;
}

export interface PushSubscriptionStore {
  /** Stores a new subscription; false (nothing written) when the id exists. */
  createPushSubscription(record: PushSubscriptionRecord): Promise<boolean>;
  getPushSubscription(id: string): Promise<PushSubscriptionRecord | null>;
  /** Every subscription, registration order. */
  listPushSubscriptions(): Promise<PushSubscriptionRecord[]>;
  /** False (nothing written) when the subscription is gone or its revision moved on. */
  updatePushSubscription(record: PushSubscriptionRecord, expectedRevision: number): Promise<boolean>;
  deletePushSubscription(id: string): Promise<boolean>;
}
