/**
 * MQTT sessions and retained messages for the SQLite engine: two tables of JSON records, written
 * through the shared write queue (group commit), so a stored cursor is durable once answered. The
 * tables are created on first use (CREATE TABLE IF NOT EXISTS), older files gain them unchanged.
 */
import type Database from 'better-sqlite3';
import type { MqttSessionRecord, MqttStore, RetainedRecord } from '../mqtt-store.js';
import type { WriteQueue } from './write-queue.js';

const TABLES = `
CREATE TABLE IF NOT EXISTS mqtt_sessions (
  client_id TEXT PRIMARY KEY,
  record    TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mqtt_retained (
  topic  TEXT PRIMARY KEY,
  record TEXT NOT NULL
) WITHOUT ROWID;
`;

function prepare(db: Database.Database) {
  db.exec(TABLES);
  return {
    getSession: db.prepare('SELECT record FROM mqtt_sessions WHERE client_id = ?'),
    putSession: db.prepare(
      'INSERT INTO mqtt_sessions (client_id, record) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET record = excluded.record',
    ),
    deleteSession: db.prepare('DELETE FROM mqtt_sessions WHERE client_id = ?'),
    putRetained: db.prepare(
      'INSERT INTO mqtt_retained (topic, record) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET record = excluded.record',
    ),
    deleteRetained: db.prepare('DELETE FROM mqtt_retained WHERE topic = ?'),
    listRetained: db.prepare('SELECT record FROM mqtt_retained ORDER BY topic'),
  };
}

export function createSqliteMqttStore(queue: WriteQueue): MqttStore {
  const statements = new WeakMap<Database.Database, ReturnType<typeof prepare>>();
  const sql = (db: Database.Database) => {
    let prepared = statements.get(db);
    if (!prepared) {
      prepared = prepare(db);
      statements.set(db, prepared);
    }
    return prepared;
  };
  return {
    getMqttSession: async (clientId) => {
      const row = sql(queue.database()).getSession.get(clientId) as { record: string } | undefined;
      return row ? (JSON.parse(row.record) as MqttSessionRecord) : null;
    },
    putMqttSession: (clientId, record) =>
      queue.write(({ db }) => void sql(db).putSession.run(clientId, JSON.stringify(record))),
    deleteMqttSession: (clientId) => queue.write(({ db }) => sql(db).deleteSession.run(clientId).changes > 0),
    setRetained: (topic, record) =>
      queue.write(({ db }) => {
        if (record === null) sql(db).deleteRetained.run(topic);
        else sql(db).putRetained.run(topic, JSON.stringify(record));
      }),
    listRetained: async () =>
      (sql(queue.database()).listRetained.all() as Array<{ record: string }>).map(
        (row) => JSON.parse(row.record) as RetainedRecord,
      ),
  };
}
