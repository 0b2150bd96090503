/**
 * Presence records (see core/presence.ts), an engine capability beyond the log: who is subscribed
 * to a topic right now, on every node. Each node keeps its own records alive by putting them again
 * before `expiresAt`; a node that dies stops doing so, and its records expire.
 *
 * Engines that serve several nodes (Redis) implement it; single-node engines (memory, SQLite) leave
 * it out and the hub keeps records in process (local-presence.ts).
 */

export interface PresenceRecord {
  /** Unique per subscription (one client may subscribe twice, or over two transports). */
  id: string;
  topic: string;
  /** The client's id: given by the client, else the subscription id. */
  client: string;
  /** The token's subject (token mode). */
  sub?: string | undefined;
  transport: string;
  /** When the subscription started (ms epoch). */
  since: number;
  /** JSON text of the object the client gave at subscribe. */
  info?: string | undefined;
}

export interface PresenceStore {
  /** Adds or refreshes records of this node; each counts as present until `expiresAt` (ms epoch). */
  putPresence(records: readonly PresenceRecord[], expiresAt: number): Promise<void>;
  removePresence(topic: string, id: string): Promise<void>;
  /** Present records of a topic (not expired at `now`), any order. */
  listPresence(topic: string, now: number): Promise<PresenceRecord[]>;
  /** Removes every record expired at `now`; each removed record is answered to exactly one caller. */
  expirePresence(now: number): Promise<PresenceRecord[]>;
}
