/**
 * Consumer groups for the SQLite engine. Writes (ensure, claim, ack, nack, release, delete) get
 * their own group commit, like appends do: every group step queued during one event-loop turn
 * runs in one transaction, each in its own savepoint, and all are answered after the commit (one
 * fsync with synchronous=FULL). So a delivery is handed out, and an ack is answered, only once it
 * would survive `kill -9`. Dead letters are appended by the engine's own append step inside the
 * same transaction, so offsets stay contiguous; their wake-up signal is sent after the commit.
 * Reads (groupState, groups) run directly against committed data.
 */
import type Database from 'better-sqlite3';
import type { AppendRequest, AppendResult } from '../engine.js';
import type { GroupTables } from '../group-logic.js';
import * as logic from '../group-logic.js';
import type { GroupStore } from '../group-store.js';
import { createGroupTables } from './group-tables.js';

export interface SqliteGroupAccess {
  /** The open database; throws when the engine is closed. */
  database(): Database.Database;
  /** The engine's append step, to run inside the group transaction. */
  appendInTransaction(request: AppendRequest): AppendResult;
  /** Wakes readers of a topic that grew, once its append is committed. */
  emitAppended(topic: string, last: number): void;
}

interface QueuedStep {
  run: (tables: GroupTables) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface SqliteGroups {
  store: GroupStore;
  /** Runs queued group steps now (before the engine closes its database). */
  flushNow(): void;
}

export function createSqliteGroupStore(access: SqliteGroupAccess): SqliteGroups {
  const tablesByDatabase = new WeakMap<Database.Database, GroupTables>();
  /** Topics that grew by dead letters during the current transaction → their new last offset. */
  const grown = new Map<string, number>();
  let queue: QueuedStep[] = [];
  let scheduled = false;

  const tables = (): GroupTables => {
    const db = access.database();
    let found = tablesByDatabase.get(db);
    if (!found) {
      found = createGroupTables(db, (request) => {
        const result = access.appendInTransaction(request);
        if (result.outcomes.some((o) => !o.duplicate)) grown.set(request.topic, result.last);
        return result;
      });
      tablesByDatabase.set(db, found);
    }
    return found;
  };

  const flushNow = (): void => {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    grown.clear();
    let db: Database.Database;
    let t: GroupTables;
    try {
      db = access.database();
      t = tables();
    } catch (error) {
      for (const step of batch) step.reject(error);
      return;
    }
    const results: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    const runOne = db.transaction((step: QueuedStep) => step.run(t)); // a savepoint when nested
    try {
      db.transaction(() => {
        for (const step of batch) {
          try {
            results.push({ ok: true, value: runOne(step) });
          } catch (error) {
            results.push({ ok: false, error });
          }
        }
      })();
    } catch (error) {
      for (const step of batch) step.reject(error);
      return;
    }
    batch.forEach((step, i) => {
      const result = results[i]!;
      if (result.ok) step.resolve(result.value);
      else step.reject(result.error);
    });
    for (const [topic, last] of grown) access.emitAppended(topic, last);
    grown.clear();
  };

  const write = <T>(run: (t: GroupTables) => T): Promise<T> => {
    try {
      access.database();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushNow);
      }
    });
  };

  const read = async <T>(run: (t: GroupTables) => T): Promise<T> => run(tables());

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
  return { store, flushNow };
}
