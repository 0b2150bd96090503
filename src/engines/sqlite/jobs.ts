/**
 * Jobs for the SQLite engine (tables of schema version 3). The payload has its own column, written
 * once; everything else is one JSON column, with the columns the queries need beside it. Each write
 * goes through the shared write queue (group commit), and a status message is appended in the same
 * savepoint, so a job change and its status message are committed together or not at all.
 */
import type Database from 'better-sqlite3';
import type { JobCount, JobRecord, JobStatusMessage, JobStore } from '../job-store.js';
import type { WriteContext, WriteQueue } from './write-queue.js';

interface JobRow {
  payload: string;
  record: string;
}

type StoredFields = Omit<JobRecord, 'payload'>;

function prepare(db: Database.Database) {
  const columns =
    'id, queue, status, revision, idempotency_key, lease_expires_at, finished_at, queue_offset, created_at';
  return {
    get: db.prepare('SELECT payload, record FROM jobs WHERE id = ?'),
    byKey: db.prepare('SELECT payload, record FROM jobs WHERE queue = ? AND idempotency_key = ?'),
    insert: db.prepare(
      `INSERT INTO jobs (${columns}, payload, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    update: db.prepare(
      `UPDATE jobs SET status = ?, revision = ?, lease_expires_at = ?, finished_at = ?, queue_offset = ?, record = ?
       WHERE id = ? AND revision = ?`,
    ),
    delete: db.prepare('DELETE FROM jobs WHERE id = ?'),
    expired: db.prepare(
      `SELECT payload, record FROM jobs WHERE status = 'running' AND lease_expires_at <= ?
       ORDER BY lease_expires_at LIMIT ?`,
    ),
    finished: db.prepare(
      'SELECT payload, record FROM jobs WHERE finished_at < ? ORDER BY finished_at LIMIT ?',
    ),
    countJobs: db.prepare('SELECT queue, status, count(*) AS count FROM jobs GROUP BY queue, status'),
    activeQueues: db.prepare(
      `SELECT DISTINCT queue FROM jobs WHERE status IN ('queued', 'running') ORDER BY queue`,
    ),
    queuedThrough: db.prepare(
      `SELECT payload, record FROM jobs WHERE queue = ? AND status = 'queued'
       AND (queue_offset IS NULL OR queue_offset <= ?) ORDER BY created_at LIMIT ?`,
    ),
  };
}

const toRecord = (row: JobRow): JobRecord => ({
  ...(JSON.parse(row.record) as StoredFields),
  payload: row.payload,
});

function storedFields(job: JobRecord): string {
  const { payload: _payload, ...fields } = job;
  return JSON.stringify(fields);
}

export function createSqliteJobStore(queue: WriteQueue): JobStore {
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
  const rows = (list: unknown[]): JobRecord[] => (list as JobRow[]).map(toRecord);

  /** Appends a job's message inside the write; answers its offset. */
  const appendStatus = (context: WriteContext, status: JobStatusMessage): number =>
    context.append({
      topic: status.topic,
      entries: [{ event: status.event, data: status.data }],
      now: status.now,
      dedupeWindowMs: status.dedupeWindowMs,
      retention: status.retention,
    }).outcomes[0]!.offset;

  return {
    createJob: ({ job: request, submission, status }) =>
      queue.write((context) => {
        const s = sql(context.db);
        if (request.idempotencyKey !== null) {
          const existing = s.byKey.get(request.queue, request.idempotencyKey) as JobRow | undefined;
          if (existing) return { job: toRecord(existing), created: false };
        }
        const job = { ...request, offset: appendStatus(context, submission) };
        s.insert.run(
          job.id,
          job.queue,
          job.status,
          job.revision,
          job.idempotencyKey,
          job.leaseExpiresAt,
          job.finishedAt,
          job.offset,
          job.createdAt,
          job.payload,
          storedFields(job),
        );
        appendStatus(context, status);
        return { job, created: true };
      }),

    getJob: (id) => read((s) => ((row) => (row ? toRecord(row) : null))(s.get.get(id) as JobRow | undefined)),

    updateJob: ({ job, expectedRevision, status }) =>
      queue.write((context) => {
        const changed = sql(context.db).update.run(
          job.status,
          job.revision,
          job.leaseExpiresAt,
          job.finishedAt,
          job.offset,
          storedFields(job),
          job.id,
          expectedRevision,
        ).changes;
        if (changed === 0) return false;
        if (status) appendStatus(context, status);
        return true;
      }),

    deleteJob: (id) => queue.write((context) => sql(context.db).delete.run(id).changes > 0),
    expiredLeases: (now, limit) => read((s) => rows(s.expired.all(now, limit))),
    finishedBefore: (time, limit) => read((s) => rows(s.finished.all(time, limit))),
    countJobs: () => read((s) => s.countJobs.all() as JobCount[]),
    activeQueues: () => read((s) => (s.activeQueues.all() as Array<{ queue: string }>).map((r) => r.queue)),
    queuedThrough: (name, offset, limit) => read((s) => rows(s.queuedThrough.all(name, offset, limit))),
  };
}
