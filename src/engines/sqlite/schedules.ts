/**
 * Scheduled messages for the SQLite engine (tables of schema version 4, `SCHEDULE_SCHEMA`). Writes
 * go through the shared write queue (group commit); a due message's append and the deletion of its
 * schedule share one savepoint, so after a crash it is either still scheduled or appended, never
 * both and never neither.
 */
import type Database from 'better-sqlite3';
import type { ScheduledMessage, ScheduleStore } from '../schedule-store.js';
import type { WriteQueue } from './write-queue.js';

/** Added in schema version 4; `CREATE … IF NOT EXISTS`, so older files gain the tables on open. */
export const SCHEDULE_SCHEMA = `
CREATE TABLE IF NOT EXISTS scheduled (
  id         TEXT PRIMARY KEY,
  topic      TEXT NOT NULL,
  deliver_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  event      TEXT,
  data       TEXT NOT NULL,
  key        TEXT
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS scheduled_by_due ON scheduled (deliver_at, id);
CREATE INDEX IF NOT EXISTS scheduled_by_topic ON scheduled (topic, deliver_at, id);

CREATE TABLE IF NOT EXISTS scheduled_keys (
  topic      TEXT NOT NULL,
  key        TEXT NOT NULL,
  id         TEXT NOT NULL,
  deliver_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (topic, key)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS scheduled_keys_by_time ON scheduled_keys (created_at);
`;

interface ScheduledRow {
  id: string;
  topic: string;
  deliver_at: number;
  created_at: number;
  event: string | null;
  data: string;
  key: string | null;
}

const COLUMNS = 'id, topic, deliver_at, created_at, event, data, key';

function prepare(db: Database.Database) {
  return {
    insert: db.prepare(`INSERT INTO scheduled (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`),
    get: db.prepare(`SELECT ${COLUMNS} FROM scheduled WHERE id = ?`),
    byTopic: db.prepare(`SELECT ${COLUMNS} FROM scheduled WHERE topic = ? ORDER BY deliver_at, id LIMIT ?`),
    due: db.prepare(`SELECT ${COLUMNS} FROM scheduled WHERE deliver_at <= ? ORDER BY deliver_at, id LIMIT ?`),
    next: db.prepare('SELECT MIN(deliver_at) AS at FROM scheduled'),
    count: db.prepare('SELECT COUNT(*) AS n FROM scheduled'),
    delete: db.prepare('DELETE FROM scheduled WHERE id = ?'),
    getKey: db.prepare('SELECT id, deliver_at FROM scheduled_keys WHERE topic = ? AND key = ?'),
    putKey: db.prepare(
      'INSERT OR REPLACE INTO scheduled_keys (topic, key, id, deliver_at, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    forgetKeys: db.prepare('DELETE FROM scheduled_keys WHERE created_at < ?'),
  };
}

const toMessage = (row: ScheduledRow): ScheduledMessage => ({
  id: row.id,
  topic: row.topic,
  deliverAt: row.deliver_at,
  createdAt: row.created_at,
  event: row.event ?? undefined,
  data: row.data,
  idempotencyKey: row.key ?? undefined,
});

export function createSqliteScheduleStore(queue: WriteQueue): ScheduleStore {
  const statements = new WeakMap<Database.Database, ReturnType<typeof prepare>>();
  const sql = (db: Database.Database) => {
    let prepared = statements.get(db);
    if (!prepared) {
      prepared = prepare(db);
      statements.set(db, prepared);
    }
    return prepared;
  };
  const read = async <T>(run: (s: ReturnType<typeof prepare>) => T): Promise<T> => run(sql(queue.database()));

  return {
    addScheduled: (message, dedupeWindowMs) =>
      queue.write((context) => {
        const s = sql(context.db);
        s.forgetKeys.run(message.createdAt - dedupeWindowMs);
        const key = message.idempotencyKey;
        if (key !== undefined) {
          const seen = s.getKey.get(message.topic, key) as { id: string; deliver_at: number } | undefined;
          if (seen) return { id: seen.id, deliverAt: seen.deliver_at, duplicate: true };
          s.putKey.run(message.topic, key, message.id, message.deliverAt, message.createdAt);
        }
        s.insert.run(
          message.id,
          message.topic,
          message.deliverAt,
          message.createdAt,
          message.event ?? null,
          message.data,
          key ?? null,
        );
        return { id: message.id, deliverAt: message.deliverAt, duplicate: false };
      }),
    getScheduled: (id) =>
      read((s) => ((row) => (row ? toMessage(row) : null))(s.get.get(id) as ScheduledRow | undefined)),
    listScheduled: (topic, limit) =>
      read((s) => (s.byTopic.all(topic, limit) as ScheduledRow[]).map(toMessage)),
    dueScheduled: (now, limit) => read((s) => (s.due.all(now, limit) as ScheduledRow[]).map(toMessage)),
    nextScheduledAt: () => read((s) => (s.next.get() as { at: number | null }).at),
    countScheduled: () => read((s) => (s.count.get() as { n: number }).n),
    cancelScheduled: (id) => queue.write((context) => sql(context.db).delete.run(id).changes > 0),
    deliverScheduled: ({ id, topic, now, dedupeWindowMs, retention }) =>
      queue.write((context) => {
        const s = sql(context.db);
        const row = s.get.get(id) as ScheduledRow | undefined;
        if (!row || row.topic !== topic) return null;
        s.delete.run(id);
        return context.append({
          topic,
          entries: [{ event: row.event ?? undefined, data: row.data }],
          now,
          dedupeWindowMs,
          retention,
        });
      }),
  };
}
