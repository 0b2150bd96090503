/**
 * MQTT ↔ Switchboard names and payloads (docs/mqtt.md):
 * - topic `a/b/c` is Switchboard topic `a.b.c`; each level must be a valid topic segment, so the
 *   mapping is one-to-one (a level with a dot, an empty level or a `$` topic is outside the rule);
 * - filter `+` / `#` map to the pattern wildcards `*` / `>` (`a/#` also matches `a`, as MQTT says);
 * - a payload that is valid JSON text is stored as that JSON, other UTF-8 text as a JSON string;
 *   delivery is the data's JSON text, except a string, which goes out as its raw text.
 */
import type { StoredMessage } from '../../engines/engine.js';
import { JsonInputError, parseJson } from '../../protocol/json.js';
import { TOPIC_RULE } from '../../protocol/message.js';

const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_LEVELS = 8;

/** The Switchboard topic of an MQTT topic name, or undefined when it is outside the topic rule. */
export function topicFromMqtt(name: string): string | undefined {
  const levels = name.split('/');
  if (levels.length > MAX_LEVELS) return undefined;
  for (const level of levels) if (!SEGMENT.test(level)) return undefined;
  return levels.join('.');
}

export const mqttTopicOf = (topic: string): string => topic.replaceAll('.', '/');

/**
 * A parsed MQTT filter: `exact` for a filter without wildcards; otherwise `pattern` (Switchboard
 * `*`/`>` form) and, for a trailing `#`, the `parent` topic it also matches (`a/#` matches `a`).
 */
export interface MqttFilter {
  filter: string;
  exact?: string;
  pattern?: string;
  parent?: string;
}

export function parseFilter(filter: string): MqttFilter | undefined {
  const levels = filter.split('/');
  if (levels.length > MAX_LEVELS) return undefined;
  const out: string[] = [];
  let wildcard = false;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === '+') {
      out.push('*');
      wildcard = true;
    } else if (level === '#') {
      if (i !== levels.length - 1) return undefined;
      out.push('>');
      wildcard = true;
    } else if (SEGMENT.test(level)) out.push(level);
    else return undefined;
  }
  if (!wildcard) return { filter, exact: out.join('.') };
  const pattern = out.join('.');
  const parent =
    out.at(-1) === '>' && out.length > 1 && !out.includes('*') ? out.slice(0, -1).join('.') : undefined;
  return parent === undefined ? { filter, pattern } : { filter, pattern, parent };
}

export const FILTER_RULE = `MQTT topics map level by level onto Switchboard topics (a/b/c is a.b.c): ${TOPIC_RULE}`;

/** Payload bytes → the data's JSON text, or undefined when it is not UTF-8 text. */
export function dataFromPayload(payload: Buffer): string | undefined {
  const text = payload.toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD: compare lengths to tell (one replacement per bad sequence).
  if (text.includes('\uFFFD') && Buffer.byteLength(text) !== payload.length) return undefined;
  if (looksLikeJson(text)) {
    try {
      parseJson(text, 64);
      return text.trim();
    } catch (error) {
      if (!(error instanceof JsonInputError)) throw error;
    }
  }
  return JSON.stringify(text);
}

/** Cheap pre-check before a full parse: JSON text starts with one of these (after whitespace). */
function looksLikeJson(text: string): boolean {
  const first = text.trimStart().charCodeAt(0);
  return (
    first === 0x7b || // {
    first === 0x5b || // [
    first === 0x22 || // "
    first === 0x2d || // -
    (first >= 0x30 && first <= 0x39) ||
    first === 0x74 || // true
    first === 0x66 || // false
    first === 0x6e // null
  );
}

const payloads = new WeakMap<StoredMessage, Buffer>();

/** The MQTT payload of a stored message (cached per message object: one encoding for every subscriber). */
export function payloadOf(message: StoredMessage): Buffer {
  let payload = payloads.get(message);
  if (!payload) {
    const data = message.data;
    payload =
      data.charCodeAt(0) === 0x22
        ? Buffer.from(JSON.parse(data) as string, 'utf8')
        : Buffer.from(data, 'utf8');
    payloads.set(message, payload);
  }
  return payload;
}
