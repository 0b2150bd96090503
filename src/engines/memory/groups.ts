/**
 * Consumer groups for the memory engine: plain maps under the shared algorithms of
 * `../group-logic.ts`. Every operation is one synchronous step, so it is atomic by construction.
 */
import type { AppendRequest, AppendResult, LogState, StoredMessage } from '../engine.js';
import type { GroupRecord, GroupTables, PendingEntry } from '../group-logic.js';
import * as logic from '../group-logic.js';
import type { GroupStore } from '../group-store.js';

/** What the groups need from the memory engine's logs. */
export interface MemoryLogAccess {
  state(topic: string): LogState;
  /** The retained message at `offset`, if any. */
  messageAt(topic: string, offset: number): StoredMessage | undefined;
  /** Retained messages with offset > after, oldest first, at most `limit`. */
  messagesAfter(topic: string, after: number, limit: number): StoredMessage[];
  /** The engine's synchronous append (it wakes readers itself). */
  append(request: AppendRequest): AppendResult;
  assertOpen(): void;
}

interface MemoryGroup {
  record: GroupRecord;
  pending: Map<number, PendingEntry>;
  members: Map<string, number>;
}

export function createMemoryGroupStore(logs: MemoryLogAccess): GroupStore {
  const byTopic = new Map<string, Map<string, MemoryGroup>>();
  const find = (topic: string, group: string): MemoryGroup | undefined => byTopic.get(topic)?.get(group);
  const pendingOf = (topic: string, group: string): Map<number, PendingEntry> =>
    find(topic, group)?.pending ?? new Map();

  const tables: GroupTables = {
    getGroup: (topic, group) => find(topic, group)?.record,
    putGroup(record) {
      const { topic, group } = record.settings;
      const existing = find(topic, group);
      if (existing) {
        existing.record = record;
        return;
      }
      let groups = byTopic.get(topic);
      if (!groups) {
        groups = new Map();
        byTopic.set(topic, groups);
      }
      groups.set(group, { record, pending: new Map(), members: new Map() });
    },
    deleteGroup(topic, group) {
      const groups = byTopic.get(topic);
      const deleted = groups?.delete(group) ?? false;
      if (groups?.size === 0) byTopic.delete(topic);
      return deleted;
    },
    listGroups: (topic) => [...(byTopic.get(topic)?.values() ?? [])].map((g) => g.record),
    logState: (topic) => logs.state(topic),
    message(topic, offset) {
      return logs.messageAt(topic, offset);
    },
    messagesAfter(topic, after, limit) {
      return logs.messagesAfter(topic, after, limit);
    },
    dueEntries(topic, group, now, limit) {
      return [...pendingOf(topic, group).values()]
        .filter((entry) => entry.dueAt <= now)
        .sort((a, b) => a.offset - b.offset)
        .slice(0, limit)
        .map((entry) => ({ ...entry }));
    },
    entry(topic, group, offset) {
      const entry = pendingOf(topic, group).get(offset);
      return entry && { ...entry };
    },
    putEntry: (topic, group, entry) => find(topic, group)?.pending.set(entry.offset, { ...entry }),
    deleteEntry: (topic, group, offset) => find(topic, group)?.pending.delete(offset),
    clearEntries: (topic, group) => find(topic, group)?.pending.clear(),
    releaseMember(topic, group, member, now) {
      let released = 0;
      for (const entry of pendingOf(topic, group).values()) {
        if (entry.member !== member) continue;
        entry.member = null;
        entry.dueAt = now;
        released++;
      }
      return released;
    },
    pendingSummary(topic, group, now) {
      let ready = 0;
      let minOffset: number | null = null;
      const pending = pendingOf(topic, group);
      for (const entry of pending.values()) {
        if (entry.dueAt <= now) ready++;
        if (minOffset === null || entry.offset < minOffset) minOffset = entry.offset;
      }
      return { count: pending.size, ready, minOffset };
    },
    nextDueAt(topic, group, now) {
      let next: number | null = null;
      for (const entry of pendingOf(topic, group).values()) {
        if (entry.dueAt > now && (next === null || entry.dueAt < next)) next = entry.dueAt;
      }
      return next;
    },
    pendingByMember(topic, group) {
      const counts = new Map<string, number>();
      for (const { member } of pendingOf(topic, group).values()) {
        if (member !== null) counts.set(member, (counts.get(member) ?? 0) + 1);
      }
      return counts;
    },
    touchMember(topic, group, member, now, forgetBefore) {
      const members = find(topic, group)?.members;
      if (!members) return;
      members.delete(member); // re-insert so the map stays in last-seen order
      members.set(member, now);
      for (const [name, lastSeen] of members) {
        if (lastSeen >= forgetBefore) break;
        members.delete(name);
      }
    },
    members: (topic, group) =>
      [...(find(topic, group)?.members ?? [])].map(([member, lastSeen]) => ({ member, lastSeen })),
    append: (request) => logs.append(request),
  };

  // Every method checks the engine is open first, like the log methods do.
  const run = async <T>(step: () => T): Promise<T> => {
    logs.assertOpen();
    return step();
  };

  return {
    ensureGroup: (request) => run(() => logic.ensureGroup(tables, request)),
    claim: (request) => run(() => logic.claim(tables, request)),
    ack: (request) => run(() => logic.ack(tables, request)),
    nack: (request) => run(() => logic.nack(tables, request)),
    releaseMember: (topic, group, member, now) =>
      run(() => logic.releaseMember(tables, topic, group, member, now)),
    groupState: (topic, group, now) =>
      run(() => {
        const record = tables.getGroup(topic, group);
        return record ? logic.groupState(tables, record, now) : null;
      }),
    groups: (topic, now) =>
      run(() =>
        tables
          .listGroups(topic)
          .sort((a, b) => (a.settings.group < b.settings.group ? -1 : 1))
          .map((record) => logic.groupState(tables, record, now)),
      ),
    deleteGroup: (topic, group) => run(() => tables.deleteGroup(topic, group)),
  };
}
