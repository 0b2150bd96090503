/**
 * Group commit for every SQLite write (appends, group steps, jobs, webhooks): every write queued
 * during one event-loop turn runs in one transaction, each in its own savepoint
 * (one failing write cannot take its neighbours down), and all are answered after the commit — one
 * fsync with synchronous=FULL. Status messages appended inside a write wake their readers only
 * after that commit.
 */
import type Database from 'better-sqlite3';
import type { AppendRequest, AppendResult } from '../engine.js';

export interface WriteQueueAccess {
  /** The open database; throws when the engine is closed. */
  database(): Database.Database;
  /** The engine's append step, run inside the write's transaction. */
  appendInTransaction(request: AppendRequest): AppendResult;
  /** Wakes readers of a topic that grew, once its append is committed. */
  emitAppended(topic: string, last: number): void;
}

export interface WriteContext {
  db: Database.Database;
  /** Appends through the engine's own path (contiguous offsets, retention, dedupe). */
  append(request: AppendRequest): AppendResult;
}

interface QueuedWrite {
  run: (context: WriteContext) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface WriteQueue {
  write<T>(run: (context: WriteContext) => T): Promise<T>;
  /** Reads committed data (no queueing); throws when the engine is closed. */
  database(): Database.Database;
  /** Runs queued writes now (before the engine closes its database). */
  flushNow(): void;
}

export function createWriteQueue(access: WriteQueueAccess): WriteQueue {
  let queue: QueuedWrite[] = [];
  let scheduled = false;
  const grown = new Map<string, number>();
  const context = (db: Database.Database): WriteContext => ({
    db,
    append(request) {
      const result = access.appendInTransaction(request);
      if (result.outcomes.some((o) => !o.duplicate)) grown.set(request.topic, result.last);
      return result;
    },
  });

  const flushNow = (): void => {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    grown.clear();
    let db: Database.Database;
    try {
      db = access.database();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    const ctx = context(db);
    const results: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    const runOne = db.transaction((item: QueuedWrite) => item.run(ctx)); // a savepoint when nested
    try {
      db.transaction(() => {
        for (const item of batch) {
          try {
            results.push({ ok: true, value: runOne(item) });
          } catch (error) {
            results.push({ ok: false, error });
          }
        }
      })();
    } catch (error) {
      grown.clear();
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const result = results[i]!;
      if (result.ok) item.resolve(result.value);
      else item.reject(result.error);
    });
    const woken = [...grown];
    grown.clear();
    for (const [topic, last] of woken) access.emitAppended(topic, last);
  };

  return {
    write<T>(run: (context: WriteContext) => T): Promise<T> {
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
    },
    database: () => access.database(),
    flushNow,
  };
}
