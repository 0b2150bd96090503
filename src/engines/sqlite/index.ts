/**
 * The SQLite engine, Switchboard's embedded default: one database file in WAL mode with
 * `synchronous=FULL`, so an acknowledged publish survives a crash or power loss.
 *
 * Group commit (`write-queue.ts`): appends and every other write queue up and are written by one
 * transaction per event-loop turn, so many concurrent publishes share one fsync and are acknowledged
 * together after it. Each write runs in its own savepoint, so one failing request cannot take its
 * neighbours down with it.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type {
  AppendedListener,
  AppendOutcome,
  AppendRequest,
  AppendResult,
  Engine,
  LogState,
  ReadResult,
  SweepRequest,
  TopicSummary,
} from '../engine.js';
import { newEpoch } from '../epoch.js';
import { AppendedSignal } from '../listeners.js';
import { createSqliteGroupStore } from './groups.js';
import { createSqliteJobStore } from './jobs.js';
import { addMessageColumns, type MessageRow, storedMessage } from './message-rows.js';
import { createSqliteMqttStore } from './mqtt.js';
import { createSqlitePushStore } from './push.js';
import { createSqliteScheduleStore } from './schedules.js';
import { SCHEMA, SCHEMA_VERSION } from './schema.js';
import { createSqliteWebhookStore } from './webhooks.js';
import { createWriteQueue } from './write-queue.js';

export interface SqliteEngineOptions {
  /** Directory holding `switchboard.db`; created when missing. */
  dataDir: string;
}

export interface SqliteEngine extends Engine {
  readonly name: 'sqlite';
  /** The durability settings read back from the open database. */
  durability(): { journalMode: string; synchronous: number };
}

interface TopicRow {
  epoch: string;
  floor: number;
  last: number;
}

const SYNCHRONOUS_FULL = 2;

export const DATABASE_FILE = 'switchboard.db';

export function createSqliteEngine(options: SqliteEngineOptions): SqliteEngine {
  const dataDir = resolve(options.dataDir);
  const file = join(dataDir, DATABASE_FILE);
  const signal = new AppendedSignal();
  let db: Database.Database | undefined;
  let statements: ReturnType<typeof prepare> | undefined;
  const open = (): { db: Database.Database; statements: ReturnType<typeof prepare> } => {
    if (!db || !statements) throw new Error(`SQLite engine at ${file} is not open`);
    return { db, statements };
  };

  const readState = (topic: string): LogState => {
    const row = open().statements.getTopic.get(topic) as TopicRow | undefined;
    return row ? { epoch: row.epoch, floor: row.floor, last: row.last } : { epoch: null, floor: 0, last: 0 };
  };

  // Every write (appends, group steps, jobs, webhooks) goes through one queue: one transaction and
  // one fsync per event-loop turn for all of them, each write in its own savepoint.
  const writes = createWriteQueue({
    database: () => open().db,
    appendInTransaction: (request) => applyAppend(open().statements, request),
    emitAppended: (topic, last) => signal.emit(topic, last),
  });
  const groups = createSqliteGroupStore(writes);

  return {
    ...groups.store,
    ...createSqliteJobStore(writes),
    ...createSqliteWebhookStore(writes),
    ...createSqlitePushStore(writes),
    ...createSqliteMqttStore(writes),
    ...createSqliteScheduleStore(writes),
    name: 'sqlite',
    location: file,

    async open() {
      mkdirSync(dataDir, { recursive: true });
      const database = new Database(file);
      try {
        database.pragma('journal_mode = WAL');
        // better-sqlite3 reopens WAL databases with synchronous=NORMAL: set FULL on every open, then prove it.
        database.pragma('synchronous = FULL');
        database.pragma('busy_timeout = 5000');
        const synchronous = database.pragma('synchronous', { simple: true });
        if (synchronous !== SYNCHRONOUS_FULL) {
          throw new Error(`SQLite at ${file} refused synchronous=FULL (got ${String(synchronous)})`);
        }
        const version = database.pragma('user_version', { simple: true }) as number;
        if (version > SCHEMA_VERSION) {
          throw new Error(
            `${file} was written by a newer Switchboard (schema ${version} > ${SCHEMA_VERSION}); upgrade Switchboard`,
          );
        }
        database.exec(SCHEMA);
        addMessageColumns(database);
        database.pragma(`user_version = ${SCHEMA_VERSION}`);
      } catch (error) {
        database.close();
        throw error;
      }
      db = database;
      statements = prepare(database);
    },

    async close() {
      if (!db) return;
      writes.flushNow();
      db.close();
      db = undefined;
      statements = undefined;
    },

    async ping() {
      open().db.prepare('SELECT 1').get();
    },

    durability() {
      const { db: database } = open();
      return {
        journalMode: String(database.pragma('journal_mode', { simple: true })),
        synchronous: Number(database.pragma('synchronous', { simple: true })),
      };
    },

    append(request: AppendRequest): Promise<AppendResult> {
      return writes.write((context) => context.append(request));
    },

    async read(topic: string, after: number, limit: number): Promise<ReadResult> {
      const state = readState(topic);
      if (state.epoch === null || after >= state.last) return { ...state, messages: [] };
      const rows = open().statements.readMessages.all(topic, after, limit) as MessageRow[];
      const messages = rows.map((row) => storedMessage(topic, row));
      return { ...state, messages };
    },

    async state(topic: string): Promise<LogState> {
      return readState(topic);
    },

    async topics(): Promise<TopicSummary[]> {
      const rows = open().statements.listTopics.all() as Array<TopicRow & { name: string }>;
      return rows.map((row) => ({ topic: row.name, epoch: row.epoch, floor: row.floor, last: row.last }));
    },

    async deleteTopic(topic: string): Promise<boolean> {
      const { db: database, statements: s } = open();
      return database.transaction(() => {
        s.deleteMessages.run(topic);
        s.deleteDedupe.run(topic);
        return s.deleteTopic.run(topic).changes > 0;
      })();
    },

    async sweep({ now, retentionFor, dedupeWindowMs }: SweepRequest): Promise<void> {
      const { db: database, statements: s } = open();
      const rows = s.listTopics.all() as Array<TopicRow & { name: string }>;
      database.transaction(() => {
        for (const row of rows) {
          const oldest = now - retentionFor(row.name).maxAgeMs;
          const newestExpired = s.newestOlderThan.get(row.name, oldest) as
            | { offset: number | null }
            | undefined;
          if (newestExpired?.offset != null && newestExpired.offset > row.floor) {
            trimThrough(s, row.name, newestExpired.offset);
          }
        }
        s.forgetDedupe.run(now - dedupeWindowMs);
      })();
    },

    onAppended(listener: AppendedListener): () => void {
      return signal.add(listener);
    },
  };
}

function prepare(db: Database.Database) {
  return {
    getTopic: db.prepare('SELECT epoch, floor, last FROM topics WHERE name = ?'),
    insertTopic: db.prepare('INSERT INTO topics (name, epoch, floor, last) VALUES (?, ?, 0, 0)'),
    setLast: db.prepare('UPDATE topics SET last = ? WHERE name = ?'),
    setFloor: db.prepare('UPDATE topics SET floor = ? WHERE name = ?'),
    listTopics: db.prepare('SELECT name, epoch, floor, last FROM topics ORDER BY name'),
    deleteTopic: db.prepare('DELETE FROM topics WHERE name = ?'),
    insertMessage: db.prepare(
      'INSERT INTO messages (topic, offset, time, event, data, reply_to) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    readMessages: db.prepare(
      'SELECT offset, time, event, data, reply_to FROM messages WHERE topic = ? AND offset > ? ORDER BY offset LIMIT ?',
    ),
    trimMessages: db.prepare('DELETE FROM messages WHERE topic = ? AND offset <= ?'),
    newestOlderThan: db.prepare('SELECT MAX(offset) AS offset FROM messages WHERE topic = ? AND time < ?'),
    deleteMessages: db.prepare('DELETE FROM messages WHERE topic = ?'),
    getDedupe: db.prepare('SELECT offset, time FROM dedupe WHERE topic = ? AND key = ?'),
    putDedupe: db.prepare('INSERT OR REPLACE INTO dedupe (topic, key, offset, time) VALUES (?, ?, ?, ?)'),
    deleteDedupe: db.prepare('DELETE FROM dedupe WHERE topic = ?'),
    forgetDedupe: db.prepare('DELETE FROM dedupe WHERE time < ?'),
  };
}

type Statements = ReturnType<typeof prepare>;

function trimThrough(s: Statements, topic: string, offset: number): void {
  s.trimMessages.run(topic, offset);
  s.setFloor.run(offset, topic);
}

/** One append, inside the group commit's transaction (its own savepoint). */
function applyAppend(s: Statements, request: AppendRequest): AppendResult {
  const { topic, entries, now, dedupeWindowMs, retention } = request;
  let row = s.getTopic.get(topic) as TopicRow | undefined;
  if (!row) {
    row = { epoch: newEpoch(), floor: 0, last: 0 };
    s.insertTopic.run(topic, row.epoch);
  }
  let last = row.last;
  const outcomes: AppendOutcome[] = [];
  for (const entry of entries) {
    const key = entry.idempotencyKey;
    if (key !== undefined) {
      const seen = s.getDedupe.get(topic, key) as { offset: number; time: number } | undefined;
      if (seen && seen.time >= now - dedupeWindowMs) {
        outcomes.push({ offset: seen.offset, time: seen.time, duplicate: true });
        continue;
      }
    }
    last++;
    s.insertMessage.run(topic, last, now, entry.event ?? null, entry.data, entry.replyTo ?? null);
    if (key !== undefined) s.putDedupe.run(topic, key, last, now);
    outcomes.push({ offset: last, time: now, duplicate: false });
  }
  let floor = row.floor;
  if (last !== row.last) {
    s.setLast.run(last, topic);
    if (last - floor > retention.maxCount) {
      floor = last - retention.maxCount;
      trimThrough(s, topic, floor);
    }
  }
  return { epoch: row.epoch, floor, last, outcomes };
}
