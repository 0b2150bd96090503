/**
 * Presence: who is subscribed to a topic right now, across every push transport and node. The feed
 * (feed.ts) joins each push subscription here and leaves when it closes, so every door that
 * subscribes through `hub.feed` (WebSocket, SSE, gRPC, GraphQL, MQTT…) is listed without code of
 * its own; a door only passes the client's identity (`client`, `sub`, `info`).
 *
 * Records live in the engine's PresenceStore (Redis: shared, kept alive by this node's heartbeat,
 * so a crashed node's clients expire within the TTL) or in process (memory, SQLite). Topics that
 * match `presenceEvents` also get `join` / `leave` messages on `{topic}.presence`, a system topic
 * written through the hub's internal publish.
 */
import { randomBytes } from 'node:crypto';
import type { PresenceRecord, PresenceStore } from '../engines/presence-store.js';
import { badRequest } from '../protocol/errors.js';
import { MAX_JSON_DEPTH, PRESENCE_TOPIC_SUFFIX } from '../protocol/message.js';
import { isSystemTopic } from './system-topics.js';
import { matchTopic } from './topic-pattern.js';

/** Who a subscriber is, as a door knows it. All optional. */
export interface PresenceIdentity {
  /** The client's own id (e.g. a connection id); a random id when left out. */
  client?: string | undefined;
  /** The token's subject. */
  sub?: string | undefined;
  /** JSON text of an object (checked by `presenceInfo`). */
  info?: string | undefined;
}

/** One present client, as `GET /v1/topics/{topic}/presence` lists it. */
export interface PresentClient {
  client: string;
  sub?: string;
  transport: string;
  since: number;
  info?: Record<string, unknown>;
}

export interface PresenceList {
  topic: string;
  count: number;
  clients: PresentClient[];
}

export interface Presence {
  /** A push subscriber arrived; call the returned function when it leaves. */
  join(topic: string, transport: string, identity?: PresenceIdentity): () => void;
  /** Every present client of a topic on every node, oldest first. */
  list(topic: string): Promise<PresenceList>;
  /** `list` as its JSON text, built around each client's stored `info` text (no parse per client). */
  listJson(topic: string): Promise<string>;
  /** Present clients on this node (metrics). */
  readonly size: number;
  /** Stops the heartbeat; removes this node's records and waits for pending writes. */
  close(): Promise<void>;
}

export interface PresenceDeps {
  store: PresenceStore;
  /** True when the store is shared by several nodes: records then need a heartbeat. */
  shared: boolean;
  /** A record not refreshed for this long is gone (its node died). */
  ttlMs: number;
  /** Topic patterns whose joins and leaves are published on `{topic}.presence`. */
  eventPatterns: readonly string[];
  /** The hub's internal publish (system topics allowed). */
  publishEvent(topic: string, event: 'join' | 'leave', data: string): Promise<unknown>;
  now: () => number;
}

/** The `sub` a presence list shows for a principal: none for open mode's anonymous principal. */
export const presenceSub = (
  principal: { sub: string; anonymous?: boolean } | undefined,
): string | undefined => (principal === undefined || principal.anonymous ? undefined : principal.sub);

export const MAX_PRESENCE_INFO_BYTES = 1_024;
const CLIENT_ID_RE = /^[\x21-\x7e]{1,128}$/;

/**
 * Checks a client's `info` (already parsed JSON): a plain object of at most 1 KiB serialized.
 * Answers its JSON text, or undefined when absent; throws 400 otherwise.
 */
export function presenceInfo(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('info must be a JSON object (e.g. {"name":"Ada"}) of at most 1024 bytes');
  }
  const text = JSON.stringify(value);
  if (Buffer.byteLength(text) > MAX_PRESENCE_INFO_BYTES) {
    throw badRequest(`info is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_PRESENCE_INFO_BYTES}`);
  }
  if (depth(value) > MAX_JSON_DEPTH) throw badRequest(`info is nested deeper than ${MAX_JSON_DEPTH}`);
  return text;
}

/** Parses `info` given as text (an SSE `info=` query parameter). */
export function presenceInfoText(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (Buffer.byteLength(text) > MAX_PRESENCE_INFO_BYTES) {
    throw badRequest(`info is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_PRESENCE_INFO_BYTES}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('info must be a JSON object (e.g. {"name":"Ada"}) of at most 1024 bytes');
  }
  return presenceInfo(value);
}

export function createPresence(deps: PresenceDeps): Presence {
  const { store, ttlMs, now } = deps;
  const local = new Map<string, PresenceRecord>();
  const writes = new Set<Promise<unknown>>();
  let closed = false;

  /** Store writes are best effort (the heartbeat re-puts); tracked so close() can wait for them. */
  const track = (write: Promise<unknown>): void => {
    const settled = write.catch(() => {}).finally(() => writes.delete(settled));
    writes.add(settled);
  };

  const announce = (record: PresenceRecord, event: 'join' | 'leave'): void => {
    if (isSystemTopic(record.topic) || !deps.eventPatterns.some((p) => matchTopic(p, record.topic))) return;
    track(deps.publishEvent(`${record.topic}${PRESENCE_TOPIC_SUFFIX}`, event, clientJson(record)));
  };

  let heartbeat: NodeJS.Timeout | undefined;
  if (deps.shared) {
    // Re-put this node's records well before they expire; sweep everybody's expired ones.
    heartbeat = setInterval(
      () => {
        const at = now();
        track(store.putPresence([...local.values()], at + ttlMs));
        track(
          store.expirePresence(at).then((expired) => {
            for (const record of expired) announce(record, 'leave');
          }),
        );
      },
      Math.max(50, Math.floor(ttlMs / 3)),
    );
    heartbeat.unref();
  }

  const sortedRecords = async (topic: string): Promise<PresenceRecord[]> => {
    const records = await store.listPresence(topic, now());
    return records.sort((a, b) => a.since - b.since || (a.id < b.id ? -1 : 1));
  };

  return {
    join(topic, transport, identity = {}) {
      const id = randomBytes(9).toString('base64url');
      const client =
        identity.client !== undefined && CLIENT_ID_RE.test(identity.client) ? identity.client : id;
      const record: PresenceRecord = { id, topic, client, transport, since: now() };
      if (identity.sub !== undefined) record.sub = identity.sub;
      if (identity.info !== undefined) record.info = identity.info;
      local.set(id, record);
      track(store.putPresence([record], record.since + ttlMs));
      announce(record, 'join');
      let left = false;
      return () => {
        if (left) return;
        left = true;
        local.delete(id);
        if (closed) return;
        track(store.removePresence(topic, id));
        announce(record, 'leave');
      };
    },

    async list(topic) {
      const records = await sortedRecords(topic);
      return { topic, count: records.length, clients: records.map(presentClient) };
    },

    async listJson(topic) {
      const records = await sortedRecords(topic);
      return `{"topic":${JSON.stringify(topic)},"count":${records.length},"clients":[${records.map(clientJson).join(',')}]}`;
    },

    get size() {
      return local.size;
    },

    async close() {
      clearInterval(heartbeat);
      const leaving = [...local.values()];
      for (const record of leaving) {
        track(store.removePresence(record.topic, record.id));
        announce(record, 'leave');
      }
      local.clear();
      closed = true;
      await Promise.all([...writes]);
    },
  };
}

function presentClient(record: PresenceRecord): PresentClient {
  const client: PresentClient = { client: record.client, transport: record.transport, since: record.since };
  if (record.sub !== undefined) client.sub = record.sub;
  if (record.info !== undefined) client.info = JSON.parse(record.info) as Record<string, unknown>;
  return client;
}

/** A client as the presence list shows it (also the `data` of its join/leave messages). */
function clientJson(record: PresenceRecord): string {
  const sub = record.sub === undefined ? '' : `,"sub":${JSON.stringify(record.sub)}`;
  const info = record.info === undefined ? '' : `,"info":${record.info}`;
  return `{"client":${JSON.stringify(record.client)}${sub},"transport":${JSON.stringify(record.transport)},"since":${record.since}${info}}`;
}

function depth(value: unknown, level = 1): number {
  if (value === null || typeof value !== 'object') return level - 1;
  let deepest = level;
  for (const child of Object.values(value as Record<string, unknown>)) {
    deepest = Math.max(deepest, depth(child, level + 1));
  }
  return deepest;
}
