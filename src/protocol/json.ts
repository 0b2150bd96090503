/**
 * JSON helpers for untrusted input. `parseJson` refuses nesting deeper than the contract allows
 * before `JSON.parse` sees the text; `rawMembers` returns an object's members as their original
 * text, so message data is stored and delivered exactly as sent ("numbers are kept as sent").
 */
import { MAX_JSON_DEPTH } from './message.js';

export class JsonInputError extends Error {
  override name = 'JsonInputError' as const;
}

/** Deepest bracket nesting in `text`, ignoring brackets inside strings; stops early past `limit`. */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return deepest;
}

/**
 * Parses untrusted JSON text. A document's depth counts its outer container, so an envelope
 * `{"data":…}` may carry data nested `maxDepth` deep.
 */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH + 2): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new JsonInputError(`JSON is nested deeper than ${MAX_JSON_DEPTH} levels; flatten the data`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new JsonInputError(`body is not valid JSON (${(error as Error).message}); send a JSON document`);
  }
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && WHITESPACE.has(text.charCodeAt(i))) i++;
  return i;
}

/** End index (exclusive) of the JSON value starting at `i`. `text` must be valid JSON. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) {
    for (let j = i + 1; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === 0x5c) j++;
      else if (d === 0x22) return j + 1;
    }
    return text.length;
  }
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === 0x22) j = skipValue(text, j) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return text.length;
  }
  let j = i;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || WHITESPACE.has(d)) break;
    j++;
  }
  return j;
}

export interface RawObject {
  /** Member name → the member's value exactly as written. */
  members: Map<string, string>;
  end: number;
}

/** Members of the object at `start` (default: the document's top value). `text` must be valid JSON. */
export function rawMembers(text: string, start = skipWhitespace(text, 0)): RawObject {
  const members = new Map<string, string>();
  let i = start + 1;
  for (;;) {
    i = skipWhitespace(text, i);
    if (text.charCodeAt(i) === 0x7d) return { members, end: i + 1 };
    if (text.charCodeAt(i) === 0x2c) i = skipWhitespace(text, i + 1);
    const keyEnd = skipValue(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, keyEnd) + 1; // past ':'
    i = skipWhitespace(text, i);
    const valueEnd = skipValue(text, i);
    members.set(key, text.slice(i, valueEnd));
    i = valueEnd;
  }
}

/** Raw members of each object element of the array at the document's top. `text` must be valid JSON. */
export function rawArrayOfObjects(text: string): RawObject[] {
  const objects: RawObject[] = [];
  let i = skipWhitespace(text, 0) + 1;
  for (;;) {
    i = skipWhitespace(text, i);
    const c = text.charCodeAt(i);
    if (c === 0x5d || i >= text.length) return objects;
    if (c === 0x2c) {
      i++;
      continue;
    }
    if (c === 0x7b) {
      const object = rawMembers(text, i);
      objects.push(object);
      i = object.end;
    } else {
      i = skipValue(text, i);
    }
  }
}
