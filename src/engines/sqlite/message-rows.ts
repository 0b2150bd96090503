/**
 * The `messages` table's rows as StoredMessages, and the column added after the first schema.
 *
 * `reply_to` (request-reply inboxes) came after files already existed: `CREATE TABLE IF NOT EXISTS`
 * does not add columns to an old table, so `addMessageColumns` adds it on open. A nullable column
 * added this way leaves every old row valid (NULL), and an older Switchboard can still write the
 * table (it names its columns), so the schema version does not change for it.
 */
import type Database from 'better-sqlite3';
import type { StoredMessage } from '../engine.js';

export interface MessageRow {
  offset: number;
  time: number;
  event: string | null;
  data: string;
  reply_to?: string | null;
}

export function storedMessage(topic: string, row: MessageRow): StoredMessage {
  const message: StoredMessage = {
    topic,
    offset: row.offset,
    time: row.time,
    event: row.event ?? undefined,
    data: row.data,
  };
  if (row.reply_to != null) message.replyTo = row.reply_to;
  return message;
}

/** Adds columns newer than the file (idempotent; runs inside open, before statements are prepared). */
export function addMessageColumns(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(messages)').all() as Array<{ name: string }>;
  if (!columns.some((column) => column.name === 'reply_to')) {
    db.exec('ALTER TABLE messages ADD COLUMN reply_to TEXT');
  }
}
