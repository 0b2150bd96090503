/**
 * Webhook delivery state, settings and leases for the SQLite engine (schema version 3), written
 * through the shared write queue (group commit), so an advanced cursor is durable once answered.
 */
import type Database from 'better-sqlite3';
import type { WebhookRecord, WebhookStore } from '../webhook-store.js';
import type { WriteQueue } from './write-queue.js';

function prepare(db: Database.Database) {
  return {
    insert: db.prepare('INSERT OR IGNORE INTO webhooks (id, revision, record) VALUES (?, ?, ?)'),
    get: db.prepare('SELECT record FROM webhooks WHERE id = ?'),
    list: db.prepare('SELECT record FROM webhooks ORDER BY rowid'),
    update: db.prepare('UPDATE webhooks SET revision = ?, record = ? WHERE id = ? AND revision = ?'),
    delete: db.prepare('DELETE FROM webhooks WHERE id = ?'),
    insertSetting: db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)'),
    getSetting: db.prepare('SELECT value FROM settings WHERE name = ?'),
    takeLease: db.prepare(
      `INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
       WHERE leases.holder = excluded.holder OR leases.until <= ?`,
    ),
  };
}

export function createSqliteWebhookStore(queue: WriteQueue): WebhookStore {
  const statements = new WeakMap<Database.Database, ReturnType<typeof prepare>>();
  const sql = (db: Database.Database) => {
    let prepared = statements.get(db);
    if (!prepared) {
      prepared = prepare(db);
      statements.set(db, prepared);
    }
    return prepared;
  };
  const parse = (row: unknown): WebhookRecord | null =>
    row ? (JSON.parse((row as { record: string }).record) as WebhookRecord) : null;

  return {
    createWebhook: (record) =>
      queue.write(
        ({ db }) => sql(db).insert.run(record.id, record.revision, JSON.stringify(record)).changes > 0,
      ),
    getWebhook: async (id) => parse(sql(queue.database()).get.get(id)),
    listWebhooks: async () =>
      sql(queue.database())
        .list.all()
        .map((row) => parse(row)!),
    updateWebhook: (record, expectedRevision) =>
      queue.write(
        ({ db }) =>
          sql(db).update.run(record.revision, JSON.stringify(record), record.id, expectedRevision).changes >
          0,
      ),
    deleteWebhook: (id) => queue.write(({ db }) => sql(db).delete.run(id).changes > 0),
    ensureSetting: (name, value) =>
      queue.write(({ db }) => {
        const s = sql(db);
        s.insertSetting.run(name, value);
        return (s.getSetting.get(name) as { value: string }).value;
      }),
    acquireLease: (name, holder, now, ttlMs) =>
      queue.write(({ db }) => sql(db).takeLease.run(name, holder, now + ttlMs, now).changes > 0),
  };
}
