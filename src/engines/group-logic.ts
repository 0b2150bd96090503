/**
 * The consumer-group algorithms shared by the single-node engines (memory, SQLite), written once
 * over synchronous storage primitives (`GroupTables`) so both engines have identical semantics.
 * Each exported function is meant to run as one atomic step: inside one SQLite transaction, or
 * synchronously in memory. A Redis engine would run the same steps as Lua scripts instead.
 */
import type { AppendRequest, AppendResult, LogState, StoredMessage } from './engine.js';
import {
  type ClaimRequest,
  type ClaimResult,
  deadLetterData,
  type EnsureGroupRequest,
  type EnsureGroupResult,
  FORGET_MEMBERS_AFTER_MS,
  type GroupDelivery,
  type GroupSettings,
  type GroupState,
  type NackRequest,
  type SettleRejection,
  type SettleRequest,
  type SettleResult,
} from './group-store.js';

export interface GroupRecord {
  settings: GroupSettings;
  /** Epoch of the log the cursor belongs to; null while the topic has no log. */
  epoch: string | null;
  /** Cursor at creation: offsets up to it were never handed out. */
  origin: number;
  /** Highest offset handed out for the first time. */
  cursor: number;
  deadLettered: number;
}

export interface PendingEntry {
  offset: number;
  /** Holder of the lease; null after a nack or a release. */
  member: string | null;
  attempts: number;
  /** Lease end, or when a nacked/released message may be claimed again. */
  dueAt: number;
  error: string | null;
}

export interface PendingSummary {
  count: number;
  ready: number;
  minOffset: number | null;
}

/** Synchronous storage primitives, all called inside one atomic step. */
export interface GroupTables {
  getGroup(topic: string, group: string): GroupRecord | undefined;
  putGroup(record: GroupRecord): void;
  deleteGroup(topic: string, group: string): boolean;
  listGroups(topic: string): GroupRecord[];
  logState(topic: string): LogState;
  message(topic: string, offset: number): StoredMessage | undefined;
  messagesAfter(topic: string, after: number, limit: number): StoredMessage[];
  /** Pending entries with dueAt <= now, lowest offset first. */
  dueEntries(topic: string, group: string, now: number, limit: number): PendingEntry[];
  entry(topic: string, group: string, offset: number): PendingEntry | undefined;
  putEntry(topic: string, group: string, entry: PendingEntry): void;
  deleteEntry(topic: string, group: string, offset: number): void;
  clearEntries(topic: string, group: string): void;
  releaseMember(topic: string, group: string, member: string, now: number): number;
  pendingSummary(topic: string, group: string, now: number): PendingSummary;
  nextDueAt(topic: string, group: string, now: number): number | null;
  pendingByMember(topic: string, group: string): Map<string, number>;
  /** Records that a member was seen and forgets members not seen since `forgetBefore`. */
  touchMember(topic: string, group: string, member: string, now: number, forgetBefore: number): void;
  members(topic: string, group: string): Array<{ member: string; lastSeen: number }>;
  /** The engine's own append path, so dead-letter offsets stay contiguous and readers are woken. */
  append(request: AppendRequest): AppendResult;
}

export function ensureGroup(t: GroupTables, request: EnsureGroupRequest): EnsureGroupResult {
  const { topic, group, start, maxAttempts, now } = request;
  const existing = t.getGroup(topic, group);
  if (existing) {
    if (maxAttempts !== undefined && maxAttempts !== existing.settings.maxAttempts) {
      existing.settings = { ...existing.settings, maxAttempts };
      t.putGroup(existing);
    }
    return { created: false, settings: existing.settings };
  }
  const log = t.logState(topic);
  const cursor = start === 'latest' ? log.last : 0;
  const settings: GroupSettings = {
    topic,
    group,
    start,
    maxAttempts: maxAttempts ?? request.defaultMaxAttempts,
    createdAt: now,
  };
  t.putGroup({ settings, epoch: log.epoch, origin: cursor, cursor, deadLettered: 0 });
  return { created: true, settings };
}

/**
 * A group whose cursor belongs to a deleted (and maybe recreated) log starts over on the current
 * one: the old offsets now name other messages, so old leases and the cursor mean nothing.
 */
function syncEpoch(t: GroupTables, record: GroupRecord): LogState {
  const log = t.logState(record.settings.topic);
  if (record.epoch === log.epoch) return log;
  if (record.epoch !== null) {
    record.cursor = 0;
    record.origin = 0;
    t.clearEntries(record.settings.topic, record.settings.group);
  }
  record.epoch = log.epoch;
  t.putGroup(record);
  return log;
}

export function claim(t: GroupTables, request: ClaimRequest): ClaimResult | null {
  const { topic, group, member, max, leaseMs, now } = request;
  const record = t.getGroup(topic, group);
  if (!record) return null;
  const log = syncEpoch(t, record);
  if (request.recordMember) t.touchMember(topic, group, member, now, now - FORGET_MEMBERS_AFTER_MS);
  const deliveries: GroupDelivery[] = [];
  const deadLettered: number[] = [];
  let recordChanged = false;

  // Redeliveries first, oldest offset first: every entry handled here stops being due (it is
  // re-leased into the future or deleted), so the loop ends.
  while (deliveries.length < max) {
    const due = t.dueEntries(topic, group, now, max - deliveries.length);
    if (due.length === 0) break;
    for (const entry of due) {
      const message = t.message(topic, entry.offset);
      if (!message) {
        t.deleteEntry(topic, group, entry.offset); // removed by retention while in flight
      } else if (entry.attempts >= record.settings.maxAttempts) {
        t.deleteEntry(topic, group, entry.offset);
        record.deadLettered++;
        recordChanged = true;
        deadLettered.push(entry.offset);
        if (request.deadLetter) {
          const { topic: target, retention, dedupeWindowMs } = request.deadLetter;
          const data = deadLetterData(message, group, entry.attempts, entry.error);
          t.append({
            topic: target,
            entries: [{ event: message.event, data }],
            now,
            dedupeWindowMs,
            retention,
          });
        }
      } else {
        const leased = { ...entry, member, attempts: entry.attempts + 1, dueAt: now + leaseMs };
        t.putEntry(topic, group, leased);
        deliveries.push({ message, attempt: leased.attempts, leaseExpiresAt: leased.dueAt });
      }
    }
  }

  // Then new offsets after the cursor; messages trimmed before the group read them are skipped.
  if (deliveries.length < max) {
    const from = Math.max(record.cursor, log.floor);
    const fresh = t.messagesAfter(topic, from, max - deliveries.length);
    for (const message of fresh) {
      const entry = { offset: message.offset, member, attempts: 1, dueAt: now + leaseMs, error: null };
      t.putEntry(topic, group, entry);
      deliveries.push({ message, attempt: 1, leaseExpiresAt: entry.dueAt });
    }
    const cursor = fresh.at(-1)?.offset ?? from;
    if (cursor !== record.cursor) {
      record.cursor = cursor;
      recordChanged = true;
    }
  }
  if (recordChanged) t.putGroup(record);
  return { deliveries, deadLettered, last: log.last, nextDueAt: t.nextDueAt(topic, group, now) };
}

function committedOf(t: GroupTables, record: GroupRecord, log: LogState): number {
  const { minOffset } = t.pendingSummary(record.settings.topic, record.settings.group, 0);
  return minOffset !== null ? minOffset - 1 : Math.max(record.cursor, log.floor);
}

/** Ack and nack: check every offset first, then apply to all or to none. */
function settle(
  t: GroupTables,
  request: SettleRequest,
  apply: (entry: PendingEntry) => void,
): SettleResult | null {
  const { topic, group, member, offsets } = request;
  const record = t.getGroup(topic, group);
  if (!record) return null;
  const log = syncEpoch(t, record);
  const accepted: PendingEntry[] = [];
  const rejected: SettleRejection[] = [];
  for (const offset of offsets) {
    const entry = t.entry(topic, group, offset);
    if (!entry) {
      const handedOut = offset > record.origin && offset <= record.cursor;
      rejected.push({ offset, reason: handedOut ? 'not-pending' : 'never-delivered' });
    } else if (member !== undefined && entry.member !== member) {
      rejected.push(
        entry.member === null
          ? { offset, reason: 'released' }
          : { offset, reason: 'leased-to-other', holder: entry.member },
      );
    } else accepted.push(entry);
  }
  if (rejected.length > 0) return { settled: [], rejected, committed: committedOf(t, record, log) };
  for (const entry of accepted) apply(entry);
  return { settled: [...offsets], rejected: [], committed: committedOf(t, record, log) };
}

export function ack(t: GroupTables, request: SettleRequest): SettleResult | null {
  return settle(t, request, (entry) => t.deleteEntry(request.topic, request.group, entry.offset));
}

export function nack(t: GroupTables, request: NackRequest): SettleResult | null {
  const dueAt = request.now + request.delayMs;
  return settle(t, request, (entry) =>
    t.putEntry(request.topic, request.group, {
      ...entry,
      member: null,
      dueAt,
      error: request.error ?? entry.error,
    }),
  );
}

export function releaseMember(t: GroupTables, topic: string, group: string, member: string, now: number) {
  return t.getGroup(topic, group) ? t.releaseMember(topic, group, member, now) : 0;
}

/** Read-only: a group whose log was replaced is reported as it will be once it starts over. */
export function groupState(t: GroupTables, record: GroupRecord, now: number): GroupState {
  const { topic, group } = record.settings;
  const log = t.logState(topic);
  const stale = record.epoch !== null && record.epoch !== log.epoch;
  const summary = stale ? { count: 0, ready: 0, minOffset: null } : t.pendingSummary(topic, group, now);
  const cursor = stale ? 0 : record.cursor;
  const committed = summary.minOffset !== null ? summary.minOffset - 1 : Math.max(cursor, log.floor);
  const held = stale ? new Map<string, number>() : t.pendingByMember(topic, group);
  const members = t
    .members(topic, group)
    .filter((m) => m.lastSeen >= now - FORGET_MEMBERS_AFTER_MS)
    .sort((a, b) => b.lastSeen - a.lastSeen)
    .map((m) => ({ ...m, pending: held.get(m.member) ?? 0 }));
  return {
    ...record.settings,
    committed,
    delivered: cursor,
    pending: summary.count,
    ready: summary.ready,
    last: log.last,
    lag: Math.max(0, log.last - committed),
    deadLettered: record.deadLettered,
    members,
  };
}
