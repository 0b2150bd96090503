/**
 * One Web Push delivery (RFC 8030): the message as JSON — or, past 3,800 bytes, a stub naming its
 * topic and offset that the service worker reads from the hub — encrypted for the browser
 * (encrypt.ts), signed for the push service (vapid.ts), POSTed through the webhooks' guarded sender
 * (SSRF guard on every connection, deadline, bounded answer). The push service's answer decides:
 * 201 delivered, 404/410 the subscription is gone, anything else is retried (honouring
 * `Retry-After`) and dead-lettered after the retry budget.
 */
import { createHash } from 'node:crypto';
import type { StoredMessage } from '../../engines/engine.js';
import type { PushSubscriptionRecord } from '../../engines/push-store.js';
import { type DeliveryOutcome, postWebhook } from '../webhooks/deliver.js';
import { messageJson } from '../wire-json.js';
import { encryptPayload } from './encrypt.js';
import type { VapidSigner } from './vapid.js';

/** Push services accept 4,096 encrypted bytes; this leaves room for the header and the tag. */
export const MAX_PAYLOAD_BYTES = 3_800;
export const PUSH_USER_AGENT = 'Switchboard-Push/1';

export interface PushSendSettings {
  timeoutMs: number;
  allowPrivate: boolean;
}

/** The payload a service worker receives: the message, or a stub when it is too large. */
export function pushPayload(message: StoredMessage): Buffer {
  const json = Buffer.from(messageJson(message));
  if (json.length <= MAX_PAYLOAD_BYTES) return json;
  return Buffer.from(
    `{"topic":${JSON.stringify(message.topic)},"offset":${message.offset},"truncated":true}`,
  );
}

/**
 * RFC 8030 `Topic`: at most 32 base64url characters. One per hub topic, so a push service holding
 * undelivered messages for an offline browser keeps only the newest of each topic.
 */
export const topicHeader = (topic: string): string =>
  createHash('sha256').update(topic).digest('base64url').slice(0, 32);

/** `Retry-After` as seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export async function sendPush(
  record: PushSubscriptionRecord,
  message: StoredMessage,
  vapid: VapidSigner,
  settings: PushSendSettings,
): Promise<DeliveryOutcome> {
  const endpoint = new URL(record.endpoint);
  const body = encryptPayload(pushPayload(message), {
    p256dh: Buffer.from(record.p256dh, 'base64url'),
    auth: Buffer.from(record.auth, 'base64url'),
  });
  const outcome = await postWebhook({
    url: record.endpoint,
    body,
    contentType: 'application/octet-stream',
    userAgent: PUSH_USER_AGENT,
    headers: {
      'content-encoding': 'aes128gcm',
      ttl: String(record.ttl),
      urgency: record.urgency,
      topic: topicHeader(message.topic),
      authorization: vapid.authorization(endpoint, Date.now()),
    },
    timeoutMs: settings.timeoutMs,
    maxResponseBytes: 8_192,
    maxRedirects: 0, // push services answer, they do not redirect
    allowPrivate: settings.allowPrivate,
  });
  if (outcome.status === 404 || outcome.status === 410) return { ...outcome, gone: true };
  const wait = retryAfterMs(outcome.retryAfter, Date.now());
  return wait === undefined ? outcome : { ...outcome, retryAfterMs: wait };
}
