/**
 * Turns a publish body (one envelope or an array of them) into publish inputs whose `data` is the
 * sender's own JSON text. Shared by every wire that accepts JSON publishes (HTTP, WebSocket).
 */
import { badRequest } from '../protocol/errors.js';
import { JsonInputError, jsonDepth, parseJson, rawArrayOfObjects, rawMembers } from '../protocol/json.js';
import { MAX_JSON_DEPTH } from '../protocol/message.js';
import type { PublishInput } from './hub.js';

export interface ParsedPublish {
  inputs: PublishInput[];
  batch: boolean;
}

// delayMs/deliverAt: delayed delivery (core/schedules.ts); the wire decides what to do with them.
const ENVELOPE_KEYS = new Set(['data', 'event', 'idempotencyKey', 'delayMs', 'deliverAt']);
const ENVELOPE_HINT = 'send {"data":<any JSON>, "event"?:"name", "idempotencyKey"?:"key"}';

function toInput(value: unknown, raw: Map<string, string>, where: string): PublishInput {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(`${where} must be a JSON object; ${ENVELOPE_HINT}`);
  }
  const envelope = value as Record<string, unknown>;
  for (const key of Object.keys(envelope)) {
    if (!ENVELOPE_KEYS.has(key)) {
      throw badRequest(`${where} has unknown field "${key}"; ${ENVELOPE_HINT}`);
    }
  }
  const data = raw.get('data');
  if (data === undefined) throw badRequest(`${where} has no "data" field; ${ENVELOPE_HINT}`);
  if (jsonDepth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw badRequest(`${where} data is nested deeper than ${MAX_JSON_DEPTH} levels; flatten the data`);
  }
  const input: PublishInput = { data, event: envelope.event, idempotencyKey: envelope.idempotencyKey };
  if ('delayMs' in envelope) input.delayMs = envelope.delayMs;
  if ('deliverAt' in envelope) input.deliverAt = envelope.deliverAt;
  return input;
}

/** Parses a JSON publish body; throws `bad_request` naming what is wrong. */
export function parsePublishBody(text: string): ParsedPublish {
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (error) {
    if (error instanceof JsonInputError) throw badRequest(error.message);
    throw error;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw badRequest('batch is empty; send at least one envelope');
    value.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        throw badRequest(`batch element ${i} must be a JSON object; ${ENVELOPE_HINT}`);
      }
    });
    const raws = rawArrayOfObjects(text);
    if (raws.length !== value.length) {
      throw badRequest(`every batch element must be an envelope object; ${ENVELOPE_HINT}`);
    }
    return {
      batch: true,
      inputs: value.map((item, i) => toInput(item, raws[i]!.members, `batch element ${i}`)),
    };
  }
  if (value === null || typeof value !== 'object') {
    throw badRequest(`body must be an envelope object or an array of them; ${ENVELOPE_HINT}`);
  }
  return { batch: false, inputs: [toInput(value, rawMembers(text).members, 'body')] };
}

/** Members of an already-parsed object, as raw text, for wires that carry envelopes inside a larger frame. */
export { rawMembers };
