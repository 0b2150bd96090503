/**
 * Consumer groups ("competing consumers") as an engine capability, in domain words only.
 *
 * A group keeps, per topic: a read cursor (the highest offset handed out for the first time) and a
 * pending list of in-flight deliveries (offset, holder, attempts, when it becomes claimable again).
 * The shape follows Redis Streams consumer groups (a cursor like last-delivered-id, a pending list
 * like the PEL with a holder and a delivery count), so Redis can implement it either with streams
 * commands or, as src/engines/redis/groups.ts does, with Lua scripts over hashes and sorted sets:
 *   ensureGroup    ≈ XGROUP CREATE topic group (0 | $) MKSTREAM
 *   claim          ≈ XAUTOCLAIM of due pending entries (lease passed, nacked, released), then
 *                    XREADGROUP … > for new offsets; the dead-letter XADD in the same script
 *   ack            ≈ XACK (after checking the holder, as XPENDING … consumer shows it)
 *   nack           ≈ resetting the entry's due time (Streams have no delay: a sorted set beside the PEL)
 *   releaseMember  ≈ XCLAIM of the member's entries with their due time set to now
 *   groupState     ≈ XINFO GROUPS + XPENDING summary; groups ≈ XINFO GROUPS
 *
 * Every write is one atomic step (one SQLite transaction, one synchronous step in memory, one Lua
 * script in Redis) and resolves only once durable, so a delivery handed out or an ack answered
 * survives a crash. Validation and wire errors are the core's job: engines report rejections as data.
 */
import type { RetentionPolicy, StoredMessage } from './engine.js';

export type GroupStart = 'earliest' | 'latest';

/** Named members not seen for this long are forgotten (anonymous members are never recorded). */
export const FORGET_MEMBERS_AFTER_MS = 3_600_000;

export interface EnsureGroupRequest {
  topic: string;
  group: string;
  /** Where a new group begins: the oldest retained message, or after the newest one. */
  start: GroupStart;
  /** Deliveries per message before it is dead-lettered. Updates an existing group when given. */
  maxAttempts: number | undefined;
  /** Used when the group is created and `maxAttempts` is undefined. */
  defaultMaxAttempts: number;
  now: number;
}

export interface GroupSettings {
  topic: string;
  group: string;
  start: GroupStart;
  maxAttempts: number;
  createdAt: number;
}

export interface EnsureGroupResult {
  created: boolean;
  settings: GroupSettings;
}

/** Where messages that ran out of attempts go; null on a topic that is itself a dead letter. */
export interface DeadLetterTarget {
  topic: string;
  retention: RetentionPolicy;
  dedupeWindowMs: number;
}

export interface ClaimRequest {
  topic: string;
  group: string;
  member: string;
  /** Records the member for `groupState().members`; false for one-off anonymous callers. */
  recordMember: boolean;
  /** Most deliveries to hand out; dead-lettered messages do not count. */
  max: number;
  leaseMs: number;
  now: number;
  deadLetter: DeadLetterTarget | null;
}

export interface GroupDelivery {
  message: StoredMessage;
  /** 1 for the first delivery to this group, +1 for each redelivery. */
  attempt: number;
  leaseExpiresAt: number;
}

export interface ClaimResult {
  /** Redeliveries first (oldest offset first), then new offsets in order. */
  deliveries: GroupDelivery[];
  /** Offsets moved to the dead letter (or dropped, without a target) by this claim. */
  deadLettered: number[];
  /** The topic's last offset when the claim ran: an empty claim may wait for anything after it. */
  last: number;
  /** Earliest future time a pending entry becomes claimable (lease end, nack delay), or null. */
  nextDueAt: number | null;
}

export interface SettleRequest {
  topic: string;
  group: string;
  /** When given, only this member's own leases may be settled (stale-lease protection). */
  member: string | undefined;
  offsets: number[];
  now: number;
}

export interface NackRequest extends SettleRequest {
  /** The message becomes claimable again this long after `now` (0: at once). */
  delayMs: number;
  /** Kept as the message's last error; it goes into the dead-letter record. */
  error: string | undefined;
}

/**
 * Why an offset cannot be acked or nacked:
 * - `never-delivered`: the group has not handed it out (beyond its cursor, or before its start);
 * - `not-pending`: handed out once but no longer in flight (acked, dead-lettered, or trimmed);
 * - `leased-to-other`: its lease passed and another member holds it now;
 * - `released`: nacked or released, waiting to be claimed again, so nobody holds it.
 */
export type SettleRejectionReason = 'never-delivered' | 'not-pending' | 'leased-to-other' | 'released';

export interface SettleRejection {
  offset: number;
  reason: SettleRejectionReason;
  /** The current holder for `leased-to-other`. */
  holder?: string;
}

/** All or nothing: when `rejected` is not empty, nothing changed and `settled` is empty. */
export interface SettleResult {
  settled: number[];
  rejected: SettleRejection[];
  /** The group's committed offset after the operation. */
  committed: number;
}

export interface GroupMemberState {
  member: string;
  lastSeen: number;
  /** Deliveries this member holds now. */
  pending: number;
}

export interface GroupState extends GroupSettings {
  /** Highest offset such that every offset up to it is acked, dead-lettered or trimmed. */
  committed: number;
  /** Highest offset handed out at least once (the read cursor). */
  delivered: number;
  /** Deliveries in flight (leased, or waiting after a nack/release/expiry). */
  pending: number;
  /** Of those, how many may be claimed right now. */
  ready: number;
  /** The topic's last offset, and `last - committed`. */
  last: number;
  lag: number;
  /** Messages this group moved to the dead letter. */
  deadLettered: number;
  /** Named members, most recently seen first (forgotten after FORGET_MEMBERS_AFTER_MS). */
  members: GroupMemberState[];
}

export interface GroupStore {
  /** Creates the group when missing; an existing group keeps its position. */
  ensureGroup(request: EnsureGroupRequest): Promise<EnsureGroupResult>;
  /** Null when the group does not exist. */
  claim(request: ClaimRequest): Promise<ClaimResult | null>;
  ack(request: SettleRequest): Promise<SettleResult | null>;
  nack(request: NackRequest): Promise<SettleResult | null>;
  /** Makes everything `member` holds claimable at once (a disconnect); answers how many. */
  releaseMember(topic: string, group: string, member: string, now: number): Promise<number>;
  groupState(topic: string, group: string, now: number): Promise<GroupState | null>;
  groups(topic: string, now: number): Promise<GroupState[]>;
  deleteGroup(topic: string, group: string): Promise<boolean>;
}

/** The dead-letter record's data: the contract's fields around the original's raw JSON text. */
export function deadLetterData(
  message: StoredMessage,
  group: string,
  attempts: number,
  error: string | null | undefined,
): string {
  const lastError = error == null ? '' : `,"error":${JSON.stringify(error)}`;
  return `{"topic":${JSON.stringify(message.topic)},"offset":${message.offset},"group":${JSON.stringify(group)},"attempts":${attempts}${lastError},"data":${message.data}}`;
}

/**
 * Optional, for engines shared by several nodes (Redis): announces nacks and releases made on
 * other nodes, so claims held here wake at once. Single-node engines do not need it: the core
 * wakes its own claims after its own nacks and releases.
 */
export interface GroupReadySignal {
  onGroupReady(listener: (topic: string, group: string, at: number) => void): () => void;
}
