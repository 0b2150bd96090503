/**
 * A push-style group member, for transports that hold a connection (WebSocket): it claims on its
 * own whenever it has room in its window and something may be claimable, and hands each delivery
 * to `onDelivery`. At most `window` unacked deliveries are out at once, so a fast member (acking
 * quickly) gets more messages than a slow one. `close()` (the connection went away) makes what it
 * still holds claimable by the other members at once.
 */
import { randomUUID } from 'node:crypto';
import type { ClaimResult, GroupDelivery, GroupStart } from '../engines/group-store.js';
import type { EnsureGroupOptions, Groups, SettleAnswer } from './group-api.js';
import {
  assertGroup,
  assertMember,
  assertStart,
  GROUP_DEFAULTS,
  GROUP_RANGES,
  wholeNumber,
} from './group-rules.js';
import type { GroupWakeups } from './group-wakeups.js';
import { assertTopic } from './validate.js';

export interface OpenMemberOptions {
  /** Stable name of this member (e.g. the connection id); one is made up when absent. */
  member?: string | undefined;
  /** Most unacked deliveries held at once. @default 16 */
  window?: number | undefined;
  leaseMs?: number | undefined;
  /** Only used when this member creates the group. */
  start?: GroupStart | undefined;
  maxAttempts?: number | undefined;
  /** Called once per delivery; the WebSocket layer sends `{"op":"message",…,"group","attempt"}`. */
  onDelivery: (delivery: GroupDelivery) => void;
  /** Engine failures while claiming (the member retries every second) and throwing callbacks. */
  onError?: ((error: unknown) => void) | undefined;
}

export interface GroupMember {
  readonly topic: string;
  readonly group: string;
  readonly member: string;
  /** Deliveries handed to `onDelivery` and not yet acked, nacked or expired. */
  readonly inFlight: number;
  /** True when every offset is a delivery this member holds now (an ack of it settles something). */
  holds(offsets: readonly number[]): boolean;
  ack(offsets: number[]): Promise<SettleAnswer>;
  nack(offsets: number[], options?: { delayMs?: number; error?: string }): Promise<SettleAnswer>;
  /** Stops delivering and releases what this member holds to the others. Idempotent. */
  close(): Promise<void>;
}

export interface MemberDependencies {
  groups: Pick<Groups, 'ack' | 'nack' | 'release'>;
  wakeups: GroupWakeups;
  now: () => number;
  claimOnce(
    claim: { member: string; named: boolean; max: number; leaseMs: number },
    create: EnsureGroupOptions,
  ): Promise<ClaimResult>;
  onClose(): void;
}

const RETRY_AFTER_FAILURE_MS = 1_000;

export function openGroupMember(
  topic: string,
  group: string,
  options: OpenMemberOptions,
  deps: MemberDependencies,
): GroupMember {
  assertTopic(topic);
  assertGroup(group);
  const member = assertMember(options.member) ?? `member-${randomUUID().slice(0, 13)}`;
  const window = wholeNumber('window', options.window, GROUP_RANGES.window, GROUP_DEFAULTS.window);
  const leaseMs = wholeNumber('leaseMs', options.leaseMs, GROUP_RANGES.leaseMs, GROUP_DEFAULTS.leaseMs);
  const create = {
    start: assertStart(options.start),
    maxAttempts: wholeNumber('maxAttempts', options.maxAttempts, GROUP_RANGES.maxAttempts),
  };
  const report = options.onError ?? (() => undefined);

  /** offset → lease end of every delivery this member holds. */
  const held = new Map<number, number>();
  let closed = false;
  let again = false;
  let pumping: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  const dropExpired = (): void => {
    const now = deps.now();
    for (const [offset, leaseEnd] of held) if (leaseEnd <= now) held.delete(offset);
  };

  const pump = async (): Promise<void> => {
    do {
      again = false;
      dropExpired();
      const room = window - held.size;
      if (room <= 0) return;
      const result = await deps.claimOnce({ member, named: true, max: room, leaseMs }, create);
      for (const delivery of result.deliveries) {
        held.set(delivery.message.offset, delivery.leaseExpiresAt);
        if (closed) continue; // close() releases them once this claim is done
        try {
          options.onDelivery(delivery);
        } catch (error) {
          report(error);
        }
      }
      if (result.deliveries.length >= room) again = true; // maybe more waiting
    } while (again && !closed);
  };

  /** Claims now, or right after the claim that is running (never two at once). */
  const kick = (): void => {
    if (closed) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = pump()
      .catch((error: unknown) => {
        report(error);
        if (!closed && !retryTimer) {
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            kick();
          }, RETRY_AFTER_FAILURE_MS);
          retryTimer.unref();
        }
      })
      .finally(() => {
        pumping = undefined;
        if (again && !closed) kick();
      });
  };

  const stopListening = deps.wakeups.listen(topic, group, kick);
  queueMicrotask(kick);

  return {
    topic,
    group,
    member,
    get inFlight() {
      dropExpired();
      return held.size;
    },

    holds(offsets) {
      return offsets.length > 0 && offsets.every((offset) => held.has(offset));
    },

    async ack(offsets) {
      const answer = await deps.groups.ack(topic, group, offsets, { member });
      for (const offset of answer.offsets) held.delete(offset);
      kick();
      return answer;
    },

    async nack(offsets, nackOptions = {}) {
      const answer = await deps.groups.nack(topic, group, offsets, { member, ...nackOptions });
      for (const offset of answer.offsets) held.delete(offset);
      kick();
      return answer;
    },

    close() {
      closing ??= (async () => {
        closed = true;
        stopListening();
        if (retryTimer) clearTimeout(retryTimer);
        await pumping; // a claim still running would lease to us after the release otherwise
        held.clear();
        deps.onClose();
        await deps.groups.release(topic, group, member);
      })();
      return closing;
    },
  };
}
