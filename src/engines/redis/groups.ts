import type { StoredMessage } from '../engine.js';
import {
  type ClaimResult,
  FORGET_MEMBERS_AFTER_MS,
  type GroupState,
  type GroupStore,
  type SettleRejection,
  type SettleResult,
} from '../group-store.js';
import type { TopicDirectory } from './directory.js';
import type { KeyLayout } from './keys.js';
import { type StreamEntry, toMessages } from './messages.js';
import type { RedisCall } from './replicas.js';
import { CLAIM_SCRIPT } from './scripts/claim.js';
import { runScript } from './scripts/define.js';
import {
  DELETE_GROUP_SCRIPT,
  ENSURE_GROUP_SCRIPT,
  GROUP_STATE_SCRIPT,
  RELEASE_MEMBER_SCRIPT,
} from './scripts/group-admin.js';
import { SETTLE_SCRIPT } from './scripts/settle.js';

export const GROUP_SCRIPTS = [
  CLAIM_SCRIPT,
  SETTLE_SCRIPT,
  ENSURE_GROUP_SCRIPT,
  RELEASE_MEMBER_SCRIPT,
  GROUP_STATE_SCRIPT,
  DELETE_GROUP_SCRIPT,
];

export interface RedisGroupAccess {
  keys: KeyLayout;
  nodeId: string;
  /** Runs one Redis operation, turning failures into 503s (see index.ts). */
  call: RedisCall;
  /** Lists a dead-letter topic before a claim may create it. */
  directory: TopicDirectory;
  newEpoch(): string;
  /** Wakes this node's readers of a dead-letter topic that grew (other nodes hear the PUBLISH). */
  emitAppended(topic: string, last: number): void;
}

type Delivered = [offset: string, attempt: string, leaseEnd: string, fields: string[]];
type ClaimReply = [last: string, nextDueAt: string, dlLast: string, deadLettered: string[], Delivered[]];
type StateReply = [
  start: string,
  maxAttempts: string,
  createdAt: string,
  committed: string,
  delivered: string,
  pending: number,
  ready: number,
  last: string,
  deadLettered: string,
  held: Array<string | number>,
  members: string[],
];

export function createRedisGroupStore(access: RedisGroupAccess): GroupStore {
  const { keys, nodeId, call } = access;
  const groupKeys = (topic: string, group: string) => {
    const g = keys.group(topic, group);
    return [g.record, g.pending, g.due, g.offsets, g.members];
  };

  const toGroupState = (topic: string, group: string, reply: StateReply): GroupState => {
    const [start, maxAttempts, createdAt, committed, delivered, pending, ready, last, dead, held, seen] =
      reply;
    const holding = new Map<string, number>();
    for (let i = 0; i < held.length; i += 2) holding.set(String(held[i]), Number(held[i + 1]));
    const members = [];
    for (let i = 0; i < seen.length; i += 2) {
      const member = seen[i]!;
      members.push({ member, lastSeen: Number(seen[i + 1]), pending: holding.get(member) ?? 0 });
    }
    return {
      topic,
      group,
      start: start as GroupState['start'],
      maxAttempts: Number(maxAttempts),
      createdAt: Number(createdAt),
      committed: Number(committed),
      delivered: Number(delivered),
      pending: Number(pending),
      ready: Number(ready),
      last: Number(last),
      lag: Math.max(0, Number(last) - Number(committed)),
      deadLettered: Number(dead),
      members,
    };
  };

  const settle = async (
    mode: 'ack' | 'nack',
    request: Parameters<GroupStore['nack']>[0] | Parameters<GroupStore['ack']>[0],
  ): Promise<SettleResult | null> => {
    const { topic, group, member, offsets, now } = request;
    const nack = 'delayMs' in request ? request : undefined;
    const g = keys.group(topic, group);
    const reply = (await call(
      `${mode} messages`,
      (r) =>
        runScript(
          r,
          SETTLE_SCRIPT,
          [g.record, g.pending, g.due, g.offsets, keys.topic(topic).meta],
          [
            mode,
            member === undefined ? '0' : '1',
            member ?? '',
            now,
            nack?.delayMs ?? 0,
            nack?.error === undefined ? '' : JSON.stringify(nack.error),
            keys.appendedChannel,
            nodeId,
            topic,
            group,
            ...offsets,
          ],
        ),
      { replicated: true },
    )) as Array<string | number> | null;
    if (reply === null) return null;
    const committed = Number(reply[0]);
    if (reply[1] === 1) return { settled: [...offsets], rejected: [], committed };
    const rejected: SettleRejection[] = [];
    for (let i = 2; i < reply.length; i += 3) {
      const rejection: SettleRejection = {
        offset: Number(reply[i]),
        reason: reply[i + 1] as SettleRejection['reason'],
      };
      if (reply[i + 2] !== '') rejection.holder = String(reply[i + 2]);
      rejected.push(rejection);
    }
    return { settled: [], rejected, committed };
  };

  return {
    async ensureGroup(request) {
      const { topic, group, start, maxAttempts, defaultMaxAttempts, now } = request;
      const reply = (await call(
        'create the group',
        (r) =>
          runScript(
            r,
            ENSURE_GROUP_SCRIPT,
            [keys.group(topic, group).record, keys.groupNames(topic), keys.topic(topic).meta],
            [group, start, maxAttempts ?? '', defaultMaxAttempts, now],
          ),
        { replicated: true },
      )) as [number, string, string, string];
      return {
        created: reply[0] === 1,
        settings: {
          topic,
          group,
          start: reply[1] as GroupState['start'],
          maxAttempts: Number(reply[2]),
          createdAt: Number(reply[3]),
        },
      };
    },

    async claim(request): Promise<ClaimResult | null> {
      const { topic, group, member, max, leaseMs, now, deadLetter } = request;
      const k = keys.topic(topic);
      // Without a dead letter the script still takes 12 keys: the topic's own, unused.
      const dl = deadLetter ? keys.topic(deadLetter.topic) : k;
      const reply = (await call('claim messages', async (r) => {
        if (deadLetter) await access.directory.ensure(r, deadLetter.topic);
        return runScript(
          r,
          CLAIM_SCRIPT,
          [...groupKeys(topic, group), k.meta, k.log, dl.meta, dl.log, dl.dedupe, dl.dedupeTimes],
          [
            member,
            request.recordMember ? '1' : '0',
            max,
            leaseMs,
            now,
            now - FORGET_MEMBERS_AFTER_MS,
            deadLetter ? '1' : '0',
            deadLetter?.topic ?? '',
            deadLetter?.retention.maxCount ?? 0,
            deadLetter?.dedupeWindowMs ?? 0,
            access.newEpoch(),
            keys.appendedChannel,
            nodeId,
            JSON.stringify(topic),
            JSON.stringify(group),
          ],
        );
      })) as ClaimReply | null;
      if (reply === null) return null;
      const [last, nextDueAt, dlLast, deadLettered, delivered] = reply;
      if (deadLetter && dlLast !== '') access.emitAppended(deadLetter.topic, Number(dlLast));
      return {
        deliveries: delivered.map(([offset, attempt, leaseEnd, fields]) => ({
          message: toMessages(topic, [[`${offset}-0`, fields] as StreamEntry])[0] as StoredMessage,
          attempt: Number(attempt),
          leaseExpiresAt: Number(leaseEnd),
        })),
        deadLettered: deadLettered.map(Number),
        last: Number(last),
        nextDueAt: nextDueAt === '' ? null : Number(nextDueAt),
      };
    },

    ack: (request) => settle('ack', request),
    nack: (request) => settle('nack', request),

    async releaseMember(topic, group, member, now) {
      const g = keys.group(topic, group);
      const released = await call('release the member', (r) =>
        runScript(
          r,
          RELEASE_MEMBER_SCRIPT,
          [g.record, g.pending, g.due],
          [member, now, keys.appendedChannel, nodeId, topic, group],
        ),
      );
      return Number(released);
    },

    async groupState(topic, group, now) {
      const reply = (await call('read the group', (r) =>
        runScript(
          r,
          GROUP_STATE_SCRIPT,
          [...groupKeys(topic, group), keys.topic(topic).meta],
          [now, now - FORGET_MEMBERS_AFTER_MS],
        ),
      )) as StateReply | null;
      return reply === null ? null : toGroupState(topic, group, reply);
    },

    async groups(topic, now) {
      return call('list groups', async (r) => {
        const names = (await r.smembers(keys.groupNames(topic))).sort();
        if (names.length === 0) return [];
        const replies = await Promise.all(
          names.map((group) =>
            runScript(
              r,
              GROUP_STATE_SCRIPT,
              [...groupKeys(topic, group), keys.topic(topic).meta],
              [now, now - FORGET_MEMBERS_AFTER_MS],
            ),
          ),
        );
        const states: GroupState[] = [];
        names.forEach((group, i) => {
          const reply = replies[i] as StateReply | null;
          if (reply !== null) states.push(toGroupState(topic, group, reply));
        });
        return states;
      });
    },

    async deleteGroup(topic, group) {
      const existed = await call('delete the group', (r) =>
        runScript(r, DELETE_GROUP_SCRIPT, [...groupKeys(topic, group), keys.groupNames(topic)], [group]),
      );
      return existed === 1;
    },
  };
}
