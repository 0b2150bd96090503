/**
 * Serializes fetch answers around the cached message JSON (no re-serialization of data), into one
 * Buffer per distinct answer. Long polls woken by one publish share one coalesced read, so they share
 * its message array: every waiter with the same (topic, cursor, limit) gets the very same Buffer, and
 * a wake-up of 1,000 held requests builds and encodes one body instead of 1,000.
 */
import type { FetchResult } from '../../core/hub.js';
import { messageJson } from '../../core/wire-json.js';
import type { StoredMessage } from '../../engines/engine.js';

/**
 * Bodies built from one read's message array, by every other field of the answer (the cursor decides
 * `next`, `gap` and `reset`; an engine may hand out one shared empty array for every topic, hence the
 * rest). Keyed weakly on the array, so a body lives exactly as long as the read's result.
 */
const bodiesByRead = new WeakMap<StoredMessage[], Map<string, Buffer>>();
/** A read has few distinct cursors behind it; more than this is not a fan-out worth caching. */
const MAX_BODIES_PER_READ = 16;

function build(result: FetchResult): Buffer {
  const messages = result.messages.map(messageJson).join(',');
  const epoch = result.epoch === null ? 'null' : `"${result.epoch}"`;
  return Buffer.from(
    `{"topic":"${result.topic}","epoch":${epoch},"messages":[${messages}],"next":${result.next},"first":${result.first},"last":${result.last},"gap":${result.gap},"reset":${result.reset}}`,
  );
}

/** Bodies by answer object: long polls answered from one read with one cursor share the object. */
const bodiesByResult = new WeakMap<FetchResult, Buffer>();

/** The contract's fetch answer as bytes; identical answers of one read share one Buffer (do not mutate it). */
export function fetchAnswerBody(result: FetchResult): Buffer {
  const shared = bodiesByResult.get(result);
  if (shared !== undefined) return shared;
  const body = bodyOf(result);
  bodiesByResult.set(result, body);
  return body;
}

function bodyOf(result: FetchResult): Buffer {
  let bodies = bodiesByRead.get(result.messages);
  const key = `${result.topic} ${result.epoch} ${result.next} ${result.first} ${result.last} ${result.gap} ${result.reset}`;
  const cached = bodies?.get(key);
  if (cached !== undefined) return cached;
  const body = build(result);
  if (bodies === undefined) {
    bodies = new Map();
    bodiesByRead.set(result.messages, bodies);
  }
  if (bodies.size < MAX_BODIES_PER_READ) bodies.set(key, body);
  return body;
}

/** The same answer as a string (for callers that embed it). */
export function fetchAnswerJson(result: FetchResult): string {
  return fetchAnswerBody(result).toString();
}
