/**
 * Web Push subscriptions for the SQLite engine (`PUSH_SCHEMA`), written through the shared write
 * queue (group commit), so an advanced cursor is durable once answered.
 */
import type Database from 'better-sqlite3';
import type { PushSubscriptionRecord, PushSubscriptionStore } from '../push-store.js';
import type { WriteQueue } from './write-queue.js';

/** `CREATE … IF NOT EXISTS`, so older files gain the table on open. */
export const PUSH_SCHEMA = `
CREATE TABLE IF NOT EXISTS push_subscriptions (
  id       TEXT PRIMARY KEY,
  revision INTEGER NOT NULL,
  record   TEXT NOT NULL
);
`;

function prepare(db: Database.Database) {
  return {
    insert: db.prepare('INSERT OR IGNORE INTO push_subscriptions (id, revision, record) VALUES (?, ?, ?)'),
    get: db.prepare('SELECT record FROM push_subscriptions WHERE id = ?'),
    list: db.prepare('SELECT record FROM push_subscriptions ORDER BY rowid'),
    update: db.prepare(
      'UPDATE push_subscriptions SET revision = ?, record = ? WHERE id = ? AND revision = ?',
    ),
    delete: db.prepare('DELETE FROM push_subscriptions WHERE id = ?'),
  };
}

export function createSqlitePushStore(queue: WriteQueue): PushSubscriptionStore {
  const statements = new WeakMap<Database.Database, ReturnType<typeof prepare>>();
  const sql = (db: Database.Database) => {
    let prepared = statements.get(db);
    if (!prepared) {
      prepared = prepare(db);
      statements.set(db, prepared);
    }
    return prepared;
  };
  const parse = (row: unknown): PushSubscriptionRecord | null =>
    row ? (JSON.parse((row as { record: string }).record) as PushSubscriptionRecord) : null;

  return {
    createPushSubscription: (record) =>
      queue.write(
        ({ db }) => sql(db).insert.run(record.id, record.revision, JSON.stringify(record)).changes > 0,
      ),
    getPushSubscription: async (id) => parse(sql(queue.database()).get.get(id)),
    listPushSubscriptions: async () =>
      sql(queue.database())
        .list.all()
        .map((row) => parse(row)!),
    updatePushSubscription: (record, expectedRevision) =>
      queue.write(
        ({ db }) =>
          sql(db).update.run(record.revision, JSON.stringify(record), record.id, expectedRevision).changes >
          0,
      ),
    deletePushSubscription: (id) => queue.write(({ db }) => sql(db).delete.run(id).changes > 0),
  };
}
