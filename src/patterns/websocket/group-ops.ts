/**
 * Consumer groups over WebSocket (docs/groups.md "WebSocket"). `subscribe` with `group` makes the
 * connection a push member of the group (`hub.groups.openMember`): it holds at most `window` unacked
 * deliveries, claims more as it acks, and each delivery goes out as a `message` frame carrying
 * `group` and `attempt`, through the connection's corked, buffer-bounded send path. `ack` and `nack`
 * settle through the member, so only this connection's own leases can be settled (409 otherwise).
 * When the member leaves (unsubscribe, close, slow consumer, token expiry), what it still holds is
 * handed to the other members at once.
 */
import type { GroupMember } from '../../core/group-member.js';
import { assertGroup, GROUP_DEFAULTS } from '../../core/group-rules.js';
import type { Hub } from '../../core/hub.js';
import { assertTopic } from '../../core/validate.js';
import { badRequest, conflict, notFound } from '../../protocol/errors.js';
import type { ClientOp } from '../../protocol/ws.js';
import type { WsConnection } from './connection.js';
import type { OpHandlers, WsSubscription } from './ops.js';
import { groupMessageFrame } from './wire.js';

type Op<Name extends ClientOp['op']> = Extract<ClientOp, { op: Name }>;

export interface GroupOpOptions {
  /** A member's claim failed (the engine); it retries every second on its own. For the log. */
  onMemberError?: ((error: unknown, topic: string, group: string) => void) | undefined;
}

/**
 * Key of a membership in `connection.subscriptions`: topic names contain no space, so it never
 * clashes with a plain subscription (keyed by topic), and one connection may both follow a topic
 * and be a member of one or more of its groups.
 */
const membershipKey = (topic: string, group: string): string => `${topic} ${group}`;

/** A connection's membership of one group: cancelling it releases what the member holds. */
class GroupMembership implements WsSubscription {
  constructor(
    readonly topic: string,
    readonly member: GroupMember,
  ) {}

  cancel(): void {
    // If the release fails (store down), the leases run out and the messages come back anyway.
    this.member.close().catch(() => undefined);
  }
}

/**
 * True when an `ack`/`nack` settles only deliveries this connection's membership holds now. Those
 * are bounded by what was delivered, so the flood guard lets them pass free; any other ack/nack
 * (bogus, repeated, foreign offsets: each still costs a store call) counts as a control op.
 */
export function settlesOwnDeliveries(connection: WsConnection, op: Op<'ack'> | Op<'nack'>): boolean {
  if (typeof op.topic !== 'string' || typeof op.group !== 'string' || !Array.isArray(op.offsets))
    return false;
  const membership = connection.subscriptions.get(membershipKey(op.topic, op.group));
  return membership instanceof GroupMembership && membership.member.holds(op.offsets);
}

export function createGroupOpHandlers(
  hub: Hub,
  options: GroupOpOptions,
): Pick<OpHandlers, 'subscribeGroup' | 'unsubscribeGroup' | 'ack' | 'nack'> {
  /** The member this connection holds in the op's group, or a 409 (nothing was delivered to it). */
  const membershipOf = (connection: WsConnection, op: Op<'ack'> | Op<'nack'>): GroupMember => {
    const topic = assertTopic(op.topic);
    const group = assertGroup(op.group);
    const membership = connection.subscriptions.get(membershipKey(topic, group));
    if (membership instanceof GroupMembership) return membership.member;
    throw conflict(
      `${op.op} refused, nothing was changed: this connection is not a member of group "${group}" on topic "${topic}", so it holds no deliveries of it; subscribe with "group" first`,
    );
  };

  return {
    async subscribeGroup(connection, op) {
      const topic = assertTopic(op.topic);
      const group = assertGroup(op.group);
      if (op.after !== undefined || op.epoch !== undefined) {
        throw badRequest(
          `"subscribe" with 'group' takes no 'after' or 'epoch': the group keeps its own position (create it with PUT …/groups/${group} and "start" to choose where it begins)`,
        );
      }
      const key = membershipKey(topic, group);
      if (connection.subscriptions.has(key)) {
        throw conflict(`this connection is already a member of group "${group}" on "${topic}"`);
      }
      const { maxTopics } = connection.limits;
      if (connection.subscriptions.size >= maxTopics) {
        throw badRequest(
          `this connection already holds ${maxTopics} subscriptions and group memberships (maxTopicsPerConnection); unsubscribe from one or open another connection`,
        );
      }
      // Bad names and windows are thrown here, synchronously, as contract errors.
      const member = hub.groups.openMember(topic, group, {
        member: connection.memberName,
        window: op.window,
        leaseMs: op.leaseMs,
        onDelivery: (delivery) => connection.sendGroupDelivery(groupMessageFrame(delivery, group)),
        onError: (error) => options.onMemberError?.(error, topic, group),
      });
      connection.subscriptions.set(key, new GroupMembership(topic, member));
      // Replied here rather than by returning: the member's first claim is only queued (a
      // microtask), so the reply is written before its first delivery.
      connection.reply(op.id, {
        topic,
        group,
        member: member.member,
        window: op.window ?? GROUP_DEFAULTS.window,
        leaseMs: op.leaseMs ?? GROUP_DEFAULTS.leaseMs,
      });
      return undefined;
    },

    async unsubscribeGroup(connection, op) {
      const topic = assertTopic(op.topic);
      const group = assertGroup(op.group);
      const key = membershipKey(topic, group);
      const membership = connection.subscriptions.get(key);
      if (!(membership instanceof GroupMembership)) {
        throw notFound(`this connection is not a member of group "${group}" on "${topic}"`);
      }
      connection.subscriptions.delete(key);
      // Answered once the other members can claim what this one held.
      await membership.member.close();
      return { topic, group };
    },

    async ack(connection, op) {
      const answer = await membershipOf(connection, op).ack(op.offsets);
      return { topic: answer.topic, group: answer.group, acked: answer.offsets, committed: answer.committed };
    },

    async nack(connection, op) {
      const answer = await membershipOf(connection, op).nack(op.offsets, {
        delayMs: op.delayMs,
        error: op.error,
      });
      return {
        topic: answer.topic,
        group: answer.group,
        nacked: answer.offsets,
        committed: answer.committed,
      };
    },
  };
}
