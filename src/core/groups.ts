/**
 * Consumer groups, the business rules: names and ranges, defaults, the long-poll claim (woken by a
 * publish, a nack, a released member or a lease running out), all-or-nothing acks and nacks with
 * contract errors, and the group state. The API's types are in `group-api.ts`. Wires call this through `hub.groups`; push transports
 * (WebSocket) use `openMember` from `group-member.ts`, which builds on the same calls.
 */

import type { Engine, RetentionPolicy } from '../engines/engine.js';
import type {
  DeadLetterTarget,
  GroupDelivery,
  GroupReadySignal,
  GroupState,
  SettleResult,
} from '../engines/group-store.js';
import { badRequest, notFound, unavailable } from '../protocol/errors.js';
import { DEAD_LETTER_SUFFIX } from '../protocol/message.js';
import { createEngineCall } from './engine-call.js';
import type { ClaimAnswer, EnsureGroupOptions, Groups, SettleAnswer } from './group-api.js';
import { type GroupMember, openGroupMember } from './group-member.js';
import {
  assertError,
  assertGroup,
  assertMember,
  assertOffsets,
  assertStart,
  GROUP_DEFAULTS,
  GROUP_RANGES,
  settleRefusal,
  wholeNumber,
} from './group-rules.js';
import { GroupWakeups } from './group-wakeups.js';
import type { HubOptions } from './options.js';
import { assertTopic } from './validate.js';

export interface CreateGroupsOptions {
  engine: Engine;
  options: HubOptions;
  retentionFor: (topic: string) => RetentionPolicy;
}

let anonymousCount = 0;
const anonymousMember = (): string =>
  `anonymous-${process.pid.toString(36)}-${(++anonymousCount).toString(36)}`;

export function createGroups({ engine, options, retentionFor }: CreateGroupsOptions): Groups {
  const { now, limits, dedupeWindowMs } = options;
  const wakeups = new GroupWakeups();
  const stopWaking = engine.onAppended((topic, last) => wakeups.appended(topic, last));
  const shared = engine as Engine & Partial<GroupReadySignal>;
  const stopHearingOtherNodes = shared.onGroupReady?.((topic, group, at) =>
    wakeups.wakeAt(topic, group, at, now()),
  );
  /** Groups this process has created or confirmed, so a claim needs no extra engine step. */
  const known = new Set<string>();
  const members = new Set<GroupMember>();
  let draining = false;
  let memberCloses: Promise<unknown> = Promise.resolve();

  const engineCall = createEngineCall(engine.name);

  const unknownGroup = (topic: string, group: string) =>
    notFound(`group "${group}" does not exist on topic "${topic}"; claim from it (or create it) first`);

  const deadLetterFor = (topic: string): DeadLetterTarget | null => {
    // A dead letter of a dead letter would break the topic rule: such messages are dropped.
    if (topic.endsWith(DEAD_LETTER_SUFFIX)) return null;
    const target = `${topic}${DEAD_LETTER_SUFFIX}`;
    return { topic: target, retention: retentionFor(target), dedupeWindowMs };
  };

  const ensure = async (topic: string, group: string, opts: EnsureGroupOptions = {}) => {
    assertTopic(topic);
    assertGroup(group);
    const start = assertStart(opts.start) ?? 'earliest';
    const maxAttempts = wholeNumber('maxAttempts', opts.maxAttempts, GROUP_RANGES.maxAttempts);
    const result = await engineCall('create the group', () =>
      engine.ensureGroup({
        topic,
        group,
        start,
        maxAttempts,
        defaultMaxAttempts: GROUP_DEFAULTS.maxAttempts,
        now: now(),
      }),
    );
    known.add(`${topic} ${group}`);
    return result;
  };

  /** One non-waiting claim; creates the group on first use (with `start`, `maxAttempts`). */
  const claimOnce = async (
    topic: string,
    group: string,
    claim: { member: string; named: boolean; max: number; leaseMs: number },
    create: EnsureGroupOptions,
  ) => {
    for (let tries = 0; ; tries++) {
      if (!known.has(`${topic} ${group}`)) {
        // Creation settings apply only if this claim creates the group; an existing one keeps its own.
        await engineCall('create the group', () =>
          engine.ensureGroup({
            topic,
            group,
            start: create.start ?? 'earliest',
            maxAttempts: undefined,
            defaultMaxAttempts: create.maxAttempts ?? GROUP_DEFAULTS.maxAttempts,
            now: now(),
          }),
        );
        known.add(`${topic} ${group}`);
      }
      const result = await engineCall('claim', () =>
        engine.claim({
          topic,
          group,
          member: claim.member,
          recordMember: claim.named,
          max: claim.max,
          leaseMs: claim.leaseMs,
          now: now(),
          deadLetter: deadLetterFor(topic),
        }),
      );
      if (result) {
        if (result.nextDueAt !== null) wakeups.wakeAt(topic, group, result.nextDueAt, now());
        return result;
      }
      known.delete(`${topic} ${group}`); // deleted meanwhile (here or on another node)
      if (tries > 0) throw unknownGroup(topic, group);
    }
  };

  const settle = async (
    verb: 'ack' | 'nack',
    topic: string,
    group: string,
    run: () => Promise<SettleResult | null>,
  ): Promise<SettleAnswer> => {
    const result = await engineCall(verb, run);
    if (!result) throw unknownGroup(topic, group);
    if (result.rejected.length > 0) throw settleRefusal(verb, topic, group, result.rejected);
    return { topic, group, offsets: result.settled, committed: result.committed };
  };

  const groups: Groups = {
    get heldClaims() {
      return wakeups.heldClaims;
    },

    ensure,

    async claim(topic, group, opts = {}) {
      assertTopic(topic);
      assertGroup(group);
      const named = assertMember(opts.member);
      const member = named ?? anonymousMember();
      const max = wholeNumber('max', opts.max, GROUP_RANGES.max, GROUP_DEFAULTS.max);
      const waitMs = wholeNumber('wait', opts.waitMs, { min: 0, max: limits.maxWaitSeconds * 1000 }, 0);
      const leaseMs = wholeNumber('leaseMs', opts.leaseMs, GROUP_RANGES.leaseMs, GROUP_DEFAULTS.leaseMs);
      const start = assertStart(opts.start);
      const maxAttempts = wholeNumber('maxAttempts', opts.maxAttempts, GROUP_RANGES.maxAttempts);
      if (draining) throw unavailable('the server is shutting down; claim again in a moment');
      const answer = (deliveries: GroupDelivery[]): ClaimAnswer => ({
        topic,
        group,
        member,
        leaseMs,
        deliveries,
      });
      const deadline = performance.now() + waitMs;
      for (;;) {
        const generation = wakeups.generation(topic, group);
        const claim = { member, named: named !== undefined, max, leaseMs };
        const result = await claimOnce(topic, group, claim, { start, maxAttempts });
        if (result.deliveries.length > 0) {
          if (opts.signal?.aborted) {
            // The caller left while we claimed: hand the messages straight back to the group.
            const offsets = result.deliveries.map((d) => d.message.offset);
            await engine
              .nack({ topic, group, member, offsets, delayMs: 0, error: undefined, now: now() })
              .then(() => wakeups.wake(topic, group))
              .catch(() => undefined); // if that fails too, the lease runs out and they come back

            return answer([]);
          }
          return answer(result.deliveries);
        }
        const remaining = Math.floor(deadline - performance.now());
        if (remaining <= 0 || draining || opts.signal?.aborted) return answer([]);
        if (wakeups.heldClaims >= limits.maxWaiters) {
          throw unavailable(
            `${limits.maxWaiters} claims are already held (limits.maxWaiters); retry shortly`,
          );
        }
        const held = wakeups.wait(topic, group, result.last, remaining, opts.signal);
        // Something may have become claimable between the claim and the registration: look again.
        if (wakeups.generation(topic, group) !== generation) held.wake();
        else if ((await engineCall('read', () => engine.state(topic))).last > result.last) held.wake();
        if ((await held.promise) !== 'data') return answer([]);
      }
    },

    async ack(topic, group, offsets, opts = {}) {
      assertTopic(topic);
      assertGroup(group);
      const list = assertOffsets(offsets);
      const member = assertMember(opts.member);
      return settle('ack', topic, group, () =>
        engine.ack({ topic, group, member, offsets: list, now: now() }),
      );
    },

    async nack(topic, group, offsets, opts = {}) {
      assertTopic(topic);
      assertGroup(group);
      const list = assertOffsets(offsets);
      const member = assertMember(opts.member);
      const delayMs = wholeNumber('delayMs', opts.delayMs, GROUP_RANGES.delayMs, 0);
      const error = assertError(opts.error);
      const at = now();
      const answer = await settle('nack', topic, group, () =>
        engine.nack({ topic, group, member, offsets: list, delayMs, error, now: at }),
      );
      wakeups.wakeAt(topic, group, at + delayMs, now());
      return answer;
    },

    async release(topic, group, member) {
      assertTopic(topic);
      assertGroup(group);
      if (assertMember(member) === undefined)
        throw badRequest(`member is required: name the member to release`);
      const released = await engineCall('release the member', () =>
        engine.releaseMember(topic, group, member, now()),
      );
      if (released > 0) wakeups.wake(topic, group);
      return released;
    },

    async state(topic, group) {
      assertTopic(topic);
      assertGroup(group);
      const state = await engineCall('read the group', () => engine.groupState(topic, group, now()));
      if (!state) throw unknownGroup(topic, group);
      return recentMembersOnly(state, now());
    },

    async list(topic) {
      assertTopic(topic);
      const states = await engineCall('list groups', () => engine.groups(topic, now()));
      return states.map((state) => recentMembersOnly(state, now()));
    },

    async delete(topic, group) {
      assertTopic(topic);
      assertGroup(group);
      const deleted = await engineCall('delete the group', () => engine.deleteGroup(topic, group));
      known.delete(`${topic} ${group}`);
      if (!deleted) throw unknownGroup(topic, group);
    },

    openMember(topic, group, memberOptions) {
      if (draining) throw unavailable('the server is shutting down; subscribe again in a moment');
      const member = openGroupMember(topic, group, memberOptions, {
        groups,
        wakeups,
        now,
        claimOnce: (claim, create) => claimOnce(topic, group, claim, create),
        onClose: () => members.delete(member),
      });
      members.add(member);
      return member;
    },

    drain() {
      draining = true;
      stopWaking();
      stopHearingOtherNodes?.();
      wakeups.releaseAll();
      const closes = [...members].map((member) => member.close().catch(() => undefined));
      memberCloses = Promise.all(closes);
    },

    async drained() {
      await memberCloses;
    },
  };
  return groups;
}

function recentMembersOnly(state: GroupState, now: number): GroupState {
  const since = now - GROUP_DEFAULTS.memberRecentMs;
  return { ...state, members: state.members.filter((m) => m.lastSeen >= since || m.pending > 0) };
}
