/** Schema of the SQLite engine's single database file. Bump SCHEMA_VERSION with every change. */
import { PUSH_SCHEMA } from './push.js';
import { SCHEDULE_SCHEMA } from './schedules.js';

export const SCHEMA_VERSION = 5;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS topics (
  name  TEXT PRIMARY KEY,
  epoch TEXT NOT NULL,
  floor INTEGER NOT NULL DEFAULT 0,
  last  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS messages (
  topic  TEXT NOT NULL,
  offset INTEGER NOT NULL,
  time   INTEGER NOT NULL,
  event  TEXT,
  data   TEXT NOT NULL,
  PRIMARY KEY (topic, offset)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dedupe (
  topic  TEXT NOT NULL,
  key    TEXT NOT NULL,
  offset INTEGER NOT NULL,
  time   INTEGER NOT NULL,
  PRIMARY KEY (topic, key)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS dedupe_by_time ON dedupe (time);

-- Version 2: consumer groups (src/engines/sqlite/groups.ts). "groups" is an SQL keyword, hence the names.
CREATE TABLE IF NOT EXISTS consumer_groups (
  topic         TEXT NOT NULL,
  name          TEXT NOT NULL,
  start         TEXT NOT NULL,
  max_attempts  INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  epoch         TEXT,
  origin        INTEGER NOT NULL,
  cursor        INTEGER NOT NULL,
  dead_lettered INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (topic, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS group_pending (
  topic    TEXT NOT NULL,
  grp      TEXT NOT NULL,
  offset   INTEGER NOT NULL,
  member   TEXT,
  attempts INTEGER NOT NULL,
  due_at   INTEGER NOT NULL,
  error    TEXT,
  PRIMARY KEY (topic, grp, offset)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS group_pending_by_due ON group_pending (topic, grp, due_at);

CREATE TABLE IF NOT EXISTS group_members (
  topic     TEXT NOT NULL,
  grp       TEXT NOT NULL,
  member    TEXT NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (topic, grp, member)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS group_members_by_time ON group_members (topic, grp, last_seen);

-- Version 3: jobs (src/engines/sqlite/jobs.ts); webhooks, settings, leases (src/engines/sqlite/webhooks.ts).
CREATE TABLE IF NOT EXISTS jobs (
  id               TEXT PRIMARY KEY,
  queue            TEXT NOT NULL,
  status           TEXT NOT NULL,
  revision         INTEGER NOT NULL,
  idempotency_key  TEXT,
  lease_expires_at INTEGER,
  finished_at      INTEGER,
  queue_offset     INTEGER,
  created_at       INTEGER NOT NULL,
  payload          TEXT NOT NULL,
  record           TEXT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_key ON jobs (queue, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_lease ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_active ON jobs (queue, status, created_at) WHERE status IN ('queued', 'running');

CREATE TABLE IF NOT EXISTS webhooks (
  id       TEXT PRIMARY KEY,
  revision INTEGER NOT NULL,
  record   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS settings (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS leases (
  name   TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  until  INTEGER NOT NULL
) WITHOUT ROWID;
-- Version 4: scheduled messages (src/engines/sqlite/schedules.ts).
${SCHEDULE_SCHEMA}
-- Version 5: Web Push subscriptions (src/engines/sqlite/push.ts).
${PUSH_SCHEMA}`;
