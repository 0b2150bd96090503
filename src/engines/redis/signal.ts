/**
 * Cross-node wake-ups. Redis pub/sub is at-most-once, so it only ever says "topic X grew to N":
 * readers then read the log, which is the truth. One subscriber connection per engine (per node),
 * however many clients that node serves.
 *
 * The append script PUBLISHes `{node, topic, last}` on one channel (nack and release publish
 * `{node, topic, group, at}`: a group's messages are claimable again at `at`). Every node emits locally what it
 * receives, except its own appends, which the appending node already emitted when the script
 * answered. After a reconnect, signals sent while the link was down are gone: `resync` then wakes
 * every topic once, so readers that were waiting look at the log and catch up.
 */
import type { RedisClient } from './connection.js';

export interface WakeUpOptions {
  subscriber: RedisClient;
  channel: string;
  nodeId: string;
  /** Called for each append on another node. */
  deliver(topic: string, last: number): void;
  /** Called when a nack or release on another node made a group's messages claimable at `at`. */
  deliverGroup(topic: string, group: string, at: number): void;
  /** Called once the subscription is back after a disconnect (signals may have been missed). */
  resync(): void;
  /** How often the idle subscriber connection is checked; a dead one is reconnected. */
  heartbeatMs: number;
}

export interface WakeUps {
  close(): Promise<void>;
}

interface WakeUpMessage {
  node?: unknown;
  topic?: unknown;
  last?: unknown;
  group?: unknown;
  at?: unknown;
}

export async function subscribeWakeUps(options: WakeUpOptions): Promise<WakeUps> {
  const { subscriber, channel, nodeId } = options;
  let closed = false;

  subscriber.on('message', (from: string, text: string) => {
    if (from !== channel) return;
    let message: WakeUpMessage;
    try {
      message = JSON.parse(text) as WakeUpMessage;
    } catch {
      return; // not ours: somebody else published on the channel
    }
    if (message.node === nodeId) return;
    if (typeof message.topic !== 'string') return;
    if (typeof message.last === 'number') options.deliver(message.topic, message.last);
    else if (typeof message.group === 'string' && typeof message.at === 'number') {
      options.deliverGroup(message.topic, message.group, message.at);
    }
  });

  // ioredis's own resubscription would race with the catch-up read: subscribe here, then resync.
  let subscribedBefore = false;
  let firstSubscription: Promise<void> | undefined;
  subscriber.on('ready', () => {
    if (closed) return;
    const subscribed = subscriber.subscribe(channel).then(() => {
      if (subscribedBefore) options.resync();
      subscribedBefore = true;
    });
    firstSubscription ??= subscribed;
    subscribed.catch(() => {
      if (!closed) subscriber.disconnect(true); // try again from a fresh connection
    });
  });

  await subscriber.connect();
  await firstSubscription;

  // A half-open TCP connection (Redis host gone without a reset) would never deliver again:
  // PING it (allowed in subscribed mode) and reconnect when no answer comes.
  const heartbeat = setInterval(() => {
    if (subscriber.status !== 'ready') return;
    subscriber.ping().catch(() => {
      if (!closed) subscriber.disconnect(true);
    });
  }, options.heartbeatMs);
  heartbeat.unref();

  return {
    async close() {
      closed = true;
      clearInterval(heartbeat);
    },
  };
}
