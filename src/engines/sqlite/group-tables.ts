/**
 * The consumer-group storage primitives (`GroupTables`) as SQL over the tables added in schema
 * version 2. Statements are prepared once per database handle; callers run them inside a
 * transaction (writes) or on their own (reads).
 */
import type Database from 'better-sqlite3';
import type { AppendRequest, AppendResult, StoredMessage } from '../engine.js';
import type { GroupRecord, GroupTables, PendingEntry } from '../group-logic.js';
import type { GroupStart } from '../group-store.js';
import { type MessageRow, storedMessage } from './message-rows.js';

interface GroupRow {
  name: string;
  start: GroupStart;
  max_attempts: number;
  created_at: number;
  epoch: string | null;
  origin: number;
  cursor: number;
  dead_lettered: number;
}

interface EntryRow {
  offset: number;
  member: string | null;
  attempts: number;
  due_at: number;
  error: string | null;
}

const GROUP_COLUMNS = 'name, start, max_attempts, created_at, epoch, origin, cursor, dead_lettered';
const ENTRY_COLUMNS = 'offset, member, attempts, due_at, error';

function prepare(db: Database.Database) {
  return {
    getGroup: db.prepare(`SELECT ${GROUP_COLUMNS} FROM consumer_groups WHERE topic = ? AND name = ?`),
    listGroups: db.prepare(`SELECT ${GROUP_COLUMNS} FROM consumer_groups WHERE topic = ? ORDER BY name`),
    putGroup: db.prepare(
      `INSERT OR REPLACE INTO consumer_groups (topic, ${GROUP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteGroup: db.prepare('DELETE FROM consumer_groups WHERE topic = ? AND name = ?'),
    deleteMembers: db.prepare('DELETE FROM group_members WHERE topic = ? AND grp = ?'),
    getTopic: db.prepare('SELECT epoch, floor, last FROM topics WHERE name = ?'),
    message: db.prepare(
      'SELECT offset, time, event, data, reply_to FROM messages WHERE topic = ? AND offset = ?',
    ),
    messagesAfter: db.prepare(
      'SELECT offset, time, event, data, reply_to FROM messages WHERE topic = ? AND offset > ? ORDER BY offset LIMIT ?',
    ),
    dueEntries: db.prepare(
      `SELECT ${ENTRY_COLUMNS} FROM group_pending WHERE topic = ? AND grp = ? AND due_at <= ? ORDER BY offset LIMIT ?`,
    ),
    entry: db.prepare(
      `SELECT ${ENTRY_COLUMNS} FROM group_pending WHERE topic = ? AND grp = ? AND offset = ?`,
    ),
    putEntry: db.prepare(
      `INSERT OR REPLACE INTO group_pending (topic, grp, ${ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteEntry: db.prepare('DELETE FROM group_pending WHERE topic = ? AND grp = ? AND offset = ?'),
    clearEntries: db.prepare('DELETE FROM group_pending WHERE topic = ? AND grp = ?'),
    releaseMember: db.prepare(
      'UPDATE group_pending SET member = NULL, due_at = ? WHERE topic = ? AND grp = ? AND member = ?',
    ),
    pendingSummary: db.prepare(
      'SELECT COUNT(*) AS count, COALESCE(SUM(due_at <= ?), 0) AS ready, MIN(offset) AS minOffset FROM group_pending WHERE topic = ? AND grp = ?',
    ),
    nextDueAt: db.prepare(
      'SELECT MIN(due_at) AS next FROM group_pending WHERE topic = ? AND grp = ? AND due_at > ?',
    ),
    pendingByMember: db.prepare(
      'SELECT member, COUNT(*) AS count FROM group_pending WHERE topic = ? AND grp = ? AND member IS NOT NULL GROUP BY member',
    ),
    // Skips the write when the member was seen within the last second, so an idle member's empty
    // claims commit nothing (no fsync).
    touchMember: db.prepare(
      `INSERT INTO group_members (topic, grp, member, last_seen) VALUES (?, ?, ?, ?)
       ON CONFLICT (topic, grp, member) DO UPDATE SET last_seen = excluded.last_seen
       WHERE last_seen < excluded.last_seen - 1000`,
    ),
    forgetMembers: db.prepare('DELETE FROM group_members WHERE topic = ? AND grp = ? AND last_seen < ?'),
    members: db.prepare(
      'SELECT member, last_seen AS lastSeen FROM group_members WHERE topic = ? AND grp = ?',
    ),
  };
}

const toMessage = (topic: string, row: MessageRow): StoredMessage => storedMessage(topic, row);

const toEntry = (row: EntryRow): PendingEntry => ({
  offset: row.offset,
  member: row.member,
  attempts: row.attempts,
  dueAt: row.due_at,
  error: row.error,
});

const toRecord = (topic: string, row: GroupRow): GroupRecord => ({
  settings: {
    topic,
    group: row.name,
    start: row.start,
    maxAttempts: row.max_attempts,
    createdAt: row.created_at,
  },
  epoch: row.epoch,
  origin: row.origin,
  cursor: row.cursor,
  deadLettered: row.dead_lettered,
});

/** `append` must be the engine's own append step, run inside the caller's transaction. */
export function createGroupTables(
  db: Database.Database,
  append: (request: AppendRequest) => AppendResult,
): GroupTables {
  const s = prepare(db);
  return {
    getGroup(topic, group) {
      const row = s.getGroup.get(topic, group) as GroupRow | undefined;
      return row && toRecord(topic, row);
    },
    putGroup({ settings: g, epoch, origin, cursor, deadLettered }) {
      s.putGroup.run(
        g.topic,
        g.group,
        g.start,
        g.maxAttempts,
        g.createdAt,
        epoch,
        origin,
        cursor,
        deadLettered,
      );
    },
    deleteGroup(topic, group) {
      s.clearEntries.run(topic, group);
      s.deleteMembers.run(topic, group);
      return s.deleteGroup.run(topic, group).changes > 0;
    },
    listGroups: (topic) => (s.listGroups.all(topic) as GroupRow[]).map((row) => toRecord(topic, row)),
    logState(topic) {
      const row = s.getTopic.get(topic) as { epoch: string; floor: number; last: number } | undefined;
      return row ?? { epoch: null, floor: 0, last: 0 };
    },
    message(topic, offset) {
      const row = s.message.get(topic, offset) as MessageRow | undefined;
      return row && toMessage(topic, row);
    },
    messagesAfter: (topic, after, limit) =>
      (s.messagesAfter.all(topic, after, limit) as MessageRow[]).map((row) => toMessage(topic, row)),
    dueEntries: (topic, group, now, limit) =>
      (s.dueEntries.all(topic, group, now, limit) as EntryRow[]).map(toEntry),
    entry(topic, group, offset) {
      const row = s.entry.get(topic, group, offset) as EntryRow | undefined;
      return row && toEntry(row);
    },
    putEntry(topic, group, e) {
      s.putEntry.run(topic, group, e.offset, e.member, e.attempts, e.dueAt, e.error);
    },
    deleteEntry(topic, group, offset) {
      s.deleteEntry.run(topic, group, offset);
    },
    clearEntries(topic, group) {
      s.clearEntries.run(topic, group);
    },
    releaseMember: (topic, group, member, now) => s.releaseMember.run(now, topic, group, member).changes,
    pendingSummary: (topic, group, now) =>
      s.pendingSummary.get(now, topic, group) as { count: number; ready: number; minOffset: number | null },
    nextDueAt: (topic, group, now) => (s.nextDueAt.get(topic, group, now) as { next: number | null }).next,
    pendingByMember(topic, group) {
      const rows = s.pendingByMember.all(topic, group) as Array<{ member: string; count: number }>;
      return new Map(rows.map((row) => [row.member, row.count]));
    },
    touchMember(topic, group, member, now, forgetBefore) {
      s.touchMember.run(topic, group, member, now);
      s.forgetMembers.run(topic, group, forgetBefore);
    },
    members: (topic, group) => s.members.all(topic, group) as Array<{ member: string; lastSeen: number }>,
    append,
  };
}
