/** Schema of the SQLite engine's single database file. Bump SCHEMA_VERSION with every change. */
export const SCHEMA_VERSION = 1;

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
`;
