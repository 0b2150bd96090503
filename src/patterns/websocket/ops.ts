/**
 * The WebSocket op table: one handler per op. A handler resolves to the fields of its `ok` reply,
 * to undefined when it replied itself (subscribe replies before its first message), or throws a
 * SwitchboardError for an error reply. Plain pub/sub lives here; consumer groups (`subscribeGroup`,
 * `unsubscribeGroup`, `ack`, `nack`) in group-ops.ts; who may run which op is decided before the
 * handler runs, by the connection's session (session.ts), which also answers `auth`.
 */

import type { FeedSink, FeedStart, FeedSubscription, GapNotice, ResetNotice } from '../../core/feed.js';
import type { Hub } from '../../core/hub.js';
import { presenceInfo, presenceSub } from '../../core/presence.js';
import { isScheduled } from '../../core/schedule-rules.js';
import { assertTopic } from '../../core/validate.js';
import type { StoredMessage } from '../../engines/engine.js';
import { badRequest, conflict, notFound } from '../../protocol/errors.js';
import { rawMembers } from '../../protocol/json.js';
import { type ClientOp, CloseCode } from '../../protocol/ws.js';
import type { WsConnection } from './connection.js';
import { createGroupOpHandlers, type GroupOpOptions } from './group-ops.js';
import { createRequestOpHandlers } from './request-ops.js';
import { gapFrame, resetFrame } from './wire.js';

type Op<Name extends ClientOp['op']> = Extract<ClientOp, { op: Name }>;

interface OpsByKey {
  subscribe: Op<'subscribe'>;
  /** `subscribe` carrying `group`. */
  subscribeGroup: Op<'subscribe'>;
  unsubscribe: Op<'unsubscribe'>;
  /** `unsubscribe` carrying `group`. */
  unsubscribeGroup: Op<'unsubscribe'>;
  publish: Op<'publish'>;
  ack: Op<'ack'>;
  nack: Op<'nack'>;
  auth: Op<'auth'>;
  request: Op<'request'>;
  respond: Op<'respond'>;
}

export type OpKey = keyof OpsByKey;

export type OpHandler<O extends ClientOp> = (
  connection: WsConnection,
  op: O,
  /** The frame's text, for handlers that keep a member exactly as sent (publish `data`). */
  text: string,
) => Promise<Record<string, unknown> | undefined>;

export type OpHandlers = { [K in OpKey]: OpHandler<OpsByKey[K]> };

/** A connection's subscription to one topic, or its membership of one of the topic's groups. */
export interface WsSubscription {
  readonly topic: string;
  /** Stops delivery; a subscribe still waiting for its start is answered with an error. */
  cancel(): void;
}

export type OpHandlerOptions = GroupOpOptions;

export function createOpHandlers(hub: Hub, options: OpHandlerOptions): OpHandlers {
  return {
    ...createGroupOpHandlers(hub, options),
    ...createRequestOpHandlers(hub),

    subscribe: (connection, op) => subscribe(hub, connection, op),

    async unsubscribe(connection, op) {
      const topic = assertTopic(op.topic);
      const subscription = connection.subscriptions.get(topic);
      if (!subscription) throw notFound(`this connection is not subscribed to "${topic}"`);
      connection.subscriptions.delete(topic);
      subscription.cancel();
      return { topic };
    },

    async publish(_connection, op, text) {
      // The frame was validated as a JSON object with `data`: take data's text exactly as sent.
      const data = rawMembers(text).members.get('data')!;
      if (isScheduled(op)) {
        const { duplicate, ...scheduled } = await hub.schedules.schedule(op.topic, { ...op, data });
        return { ...scheduled, duplicate };
      }
      const result = await hub.publishInputs(op.topic, [
        { data, event: op.event, idempotencyKey: op.idempotencyKey },
      ]);
      const outcome = result.outcomes[0]!;
      return {
        topic: result.topic,
        offset: outcome.offset,
        time: outcome.time,
        duplicate: outcome.duplicate,
      };
    },

    // A fresh token must still allow every topic the connection follows (session.ts).
    auth: (connection, op) =>
      connection.session.authenticate(
        op.token,
        [...connection.subscriptions.values()].map((subscription) => subscription.topic),
      ),
  };
}

function subscribe(
  hub: Hub,
  connection: WsConnection,
  op: Op<'subscribe'>,
): Promise<Record<string, unknown> | undefined> {
  const topic = assertTopic(op.topic);
  const info = presenceInfo(op.info);
  if (op.window !== undefined || op.leaseMs !== undefined) {
    throw badRequest(
      `"subscribe" op accepts 'window' and 'leaseMs' only with 'group' (they bound and lease group deliveries)`,
    );
  }
  if (connection.subscriptions.has(topic)) {
    throw conflict(
      `this connection already subscribes to "${topic}"; unsubscribe first to change the cursor`,
    );
  }
  const { maxTopics } = connection.limits;
  if (connection.subscriptions.size >= maxTopics) {
    throw badRequest(
      `this connection already subscribes to ${maxTopics} topics (maxTopicsPerConnection); unsubscribe from one or open another connection`,
    );
  }
  return new Promise((resolve, reject) => {
    const subscription = new PlainSubscription(connection, topic, op.id, resolve, reject);
    subscription.feedSubscription = hub.feed.subscribe(
      topic,
      {
        after: op.after,
        epoch: op.epoch,
        transport: 'websocket',
        presence: { client: connection.memberName, sub: presenceSub(connection.session.principal), info },
      },
      subscription,
    );
    connection.subscriptions.set(topic, subscription);
  });
}

/**
 * A plain (non-group) subscription: the feed's sink for one topic on one connection. One object
 * per subscription rather than a closure per callback keeps idle connections small.
 */
class PlainSubscription implements FeedSink, WsSubscription {
  feedSubscription: FeedSubscription | undefined;
  #started = false;

  constructor(
    readonly connection: WsConnection,
    readonly topic: string,
    readonly opId: number,
    readonly resolve: (fields: undefined) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  /** The reply goes out before the first message of the subscription. */
  started(start: FeedStart): void {
    this.#started = true;
    this.connection.reply(this.opId, {
      topic: this.topic,
      epoch: start.epoch,
      last: start.last,
      after: start.after,
    });
    this.resolve(undefined);
  }

  deliver(messages: readonly StoredMessage[], from: number): void {
    this.connection.sendMessages(messages, from);
  }

  gap(notice: GapNotice): void {
    this.connection.send(gapFrame(notice));
  }

  reset(notice: ResetNotice): void {
    this.connection.send(resetFrame(notice));
  }

  ready(): boolean {
    return this.connection.ready();
  }

  drained(): Promise<void> {
    return this.connection.drained();
  }

  failed(error: unknown): void {
    if (this.connection.subscriptions.get(this.topic) === this)
      this.connection.subscriptions.delete(this.topic);
    if (!this.#started) {
      this.reject(error);
      return;
    }
    this.connection.close(
      CloseCode.Unavailable,
      'the store failed while serving a subscription; reconnect and resume from your last offsets',
    );
  }

  cancel(): void {
    this.feedSubscription?.close();
    if (!this.#started)
      this.reject(conflict(`the subscription to "${this.topic}" was cancelled before it started`));
  }
}
