/**
 * Server-Sent Events wire rules shared by server and client: the named events besides plain
 * messages, and the event-id cursor. A single-topic stream's `id:` is the message offset; a
 * multi-topic stream's `id:` is a cursor over all its topics, `topic:offset` pairs joined by `,`
 * (`orders:57,billing:3`), which is unambiguous because topic names never contain `:` or `,`.
 * A reconnecting EventSource sends the last id back as `Last-Event-ID`, so resume covers every topic.
 */

/** Named events. Messages without an `event` name use the default `message` type (no `event:` line). */
export const SseEvent = {
  /** First event of every stream: the position each topic starts from (and its epoch and last offset). */
  Ready: 'ready',
  /** Messages after `after` up to `next` were removed by retention before they could be delivered. */
  Gap: 'gap',
  /** The cursor belongs to another log (other epoch, or past its end): delivery restarts at offset 1. */
  Reset: 'reset',
  /** The server ends the stream (shutdown or slow consumer); the client reconnects and resumes. */
  Close: 'close',
} as const;

export type TopicCursor = Map<string, number>;

/** Encodes a multi-topic cursor for an `id:` field. */
export function encodeCursor(cursor: ReadonlyMap<string, number>): string {
  let id = '';
  for (const [topic, offset] of cursor) id += `${id === '' ? '' : ','}${topic}:${offset}`;
  return id;
}

export type CursorParse = { ok: true; cursor: TopicCursor } | { ok: false; message: string };

const OFFSET_RE = /^\d{1,16}$/;

/**
 * Parses a multi-topic cursor (`a:1,b:2`). A bare whole number applies to every topic in `topics`.
 * Topics missing from the cursor start live; topics not in `topics` are ignored (the stream may
 * have been reopened with fewer topics).
 */
export function parseCursor(text: string, topics: readonly string[]): CursorParse {
  const cursor: TopicCursor = new Map();
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, cursor };
  if (OFFSET_RE.test(trimmed)) {
    const offset = Number(trimmed);
    if (!Number.isSafeInteger(offset)) return { ok: false, message: `cursor ${trimmed} is too large` };
    for (const topic of topics) cursor.set(topic, offset);
    return { ok: true, cursor };
  }
  const wanted = new Set(topics);
  for (const pair of trimmed.split(',')) {
    const colon = pair.lastIndexOf(':');
    const topic = pair.slice(0, colon);
    const offsetText = pair.slice(colon + 1);
    const offset = Number(offsetText);
    if (colon <= 0 || !OFFSET_RE.test(offsetText) || !Number.isSafeInteger(offset)) {
      return {
        ok: false,
        message: `cursor ${JSON.stringify(text.slice(0, 200))} is invalid: send topic:offset pairs joined by "," (e.g. orders:57,billing:3), as the stream's event ids are`,
      };
    }
    if (wanted.has(topic)) cursor.set(topic, offset);
  }
  return { ok: true, cursor };
}
