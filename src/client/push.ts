/**
 * Web Push from a browser page (docs/push.md): subscribe the service worker's registration with the
 * server's VAPID key, then register that subscription on a topic. Kept to a few lines: it ships in
 * the 10 KiB browser bundle.
 */
import type { HttpClient } from './http.js';

export interface PushOptions {
  /** Seconds the push service keeps an undelivered notification. @default 86400 */
  ttl?: number;
  urgency?: 'very-low' | 'low' | 'normal' | 'high';
}

export class Push {
  constructor(readonly http: HttpClient) {}

  /**
   * Subscribes `registration` (asks for notification permission if not granted yet) and registers
   * it for `topic`'s messages; the same subscription on the same topic keeps its id.
   */
  async subscribe(
    topic: string,
    registration: ServiceWorkerRegistration,
    options: PushOptions = {},
  ): Promise<{ id: string; subscription: PushSubscription }> {
    const manager = registration.pushManager;
    const subscription =
      (await manager.getSubscription()) ??
      (await manager.subscribe({
        userVisibleOnly: true,
        // The Push API takes the base64url key as is.
        applicationServerKey: (
          await this.http.json<{ publicKey: string }>('/v1/push/vapid-public-key')
        ).body.publicKey,
      }));
    const path = `/v1/topics/${encodeURIComponent(topic)}/push-subscriptions`;
    const body = { subscription: subscription.toJSON(), ...options };
    return {
      id: (await this.http.json<{ id: string }>(path, { method: 'POST', body })).body.id,
      subscription,
    };
  }

  /** Stops notifications for one registration made by `subscribe`. */
  async unsubscribe(id: string): Promise<void> {
    await this.http.json(`/v1/push-subscriptions/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }
}
