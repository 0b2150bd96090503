/**
 * Consumer groups for the SQLite engine. Writes (ensure, claim, ack, nack, release, delete) go
 * through the engine's one write queue (`write-queue.ts`): group-committed with appends, jobs and
 * webhooks, each in its own savepoint, and answered after the commit (one fsync with
 * synchronous=FULL). So a delivery is handed out, and an ack is answered, only once it would
 * survive `kill -9`. Dead letters are appended by the engine's own append step inside the same
 * transaction, so offsets stay contiguous; their wake-up signal is sent after the commit.
 * Reads (groupState, groups) run directly against committed data.
 */
import type Database from 'better-sqlite3';
import type { AppendRequest, AppendResult } from '../engine.js';
import type { GroupTables } from '../group-logic.js';
import * as logic from '../group-logic.js';
import type { GroupStore } from '../group-store.js';
import { createGroupTables } from './group-tables.js';
import type { WriteQueue } from './write-queue.js';

export interface SqliteGroups {
  store: GroupStore;
}

export function createSqliteGroupStore(writes: WriteQueue): SqliteGroups {
  const tablesByDatabase = new WeakMap<Database.Database, GroupTables>();
  /** The running write's append step (it records the topics that grew, for after the commit). */
  let appendInWrite: ((request: AppendRequest) => AppendResult) | undefined;

  const tables = (db: Database.Database): GroupTables => {
    let found = tablesByDatabase.get(db);
    if (!found) {
      found = createGroupTables(db, (request) => {
        if (!appendInWrite) throw new Error('dead letters can only be appended inside a group write');
        return appendInWrite(request);
      });
      tablesByDatabase.set(db, found);
    }
    return found;
  };

  const write = <T>(run: (t: GroupTables) => T): Promise<T> =>
    writes.write((context) => {
      appendInWrite = context.append;
      try {
        return run(tables(context.db));
      } finally {
        appendInWrite = undefined;
      }
    });

  const read = async <T>(run: (t: GroupTables) => T): Promise<T> => run(tables(writes.database()));

  const store: GroupStore = {
    ensureGroup: (request) => write((t) => logic.ensureGroup(t, request)),
    claim: (request) => write((t) => logic.claim(t, request)),
    ack: (request) => write((t) => logic.ack(t, request)),
    nack: (request) => write((t) => logic.nack(t, request)),
    releaseMember: (topic, group, member, now) =>
      write((t) => logic.releaseMember(t, topic, group, member, now)),
    deleteGroup: (topic, group) => write((t) => t.deleteGroup(topic, group)),
    groupState: (topic, group, now) =>
      read((t) => {
        const record = t.getGroup(topic, group);
        return record ? logic.groupState(t, record, now) : null;
      }),
    groups: (topic, now) =>
      read((t) => t.listGroups(topic).map((record) => logic.groupState(t, record, now))),
  };
  return { store };
}
