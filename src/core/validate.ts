/** Validation of the contract's names and numbers, with messages that say what to send instead. */
import { badRequest } from '../protocol/errors.js';
import {
  EVENT_RULE,
  IDEMPOTENCY_KEY_RULE,
  isValidEvent,
  isValidIdempotencyKey,
  isValidTopic,
  TOPIC_RULE,
} from '../protocol/message.js';

export function assertTopic(topic: unknown, what = 'topic'): string {
  if (typeof topic !== 'string' || !isValidTopic(topic)) {
    throw badRequest(`${what} ${JSON.stringify(topic)} is invalid: use ${TOPIC_RULE}`);
  }
  return topic;
}

export function assertEvent(event: unknown): string | undefined {
  if (event === undefined || event === null) return undefined;
  if (typeof event !== 'string' || !isValidEvent(event)) {
    throw badRequest(`event ${JSON.stringify(event)} is invalid: use ${EVENT_RULE}, or leave it out`);
  }
  return event;
}

export function assertIdempotencyKey(key: unknown): string | undefined {
  if (key === undefined || key === null) return undefined;
  if (typeof key !== 'string' || !isValidIdempotencyKey(key)) {
    throw badRequest(`idempotencyKey must be ${IDEMPOTENCY_KEY_RULE}, or left out`);
  }
  return key;
}

export interface IntegerRule {
  min: number;
  max: number;
  fallback: number;
}

const WHOLE_NUMBER = /^-?\d{1,16}$/;

/** Parses a query parameter that must be a whole number within [min, max]. */
export function integerParam(name: string, raw: unknown, rule: IntegerRule): number {
  if (raw === undefined || raw === '') return rule.fallback;
  if (Array.isArray(raw)) throw badRequest(`${name} was given ${raw.length} times; send it once`);
  const text = String(raw);
  const value = WHOLE_NUMBER.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < rule.min || value > rule.max) {
    throw badRequest(
      `${name}=${JSON.stringify(text).slice(1, -1)} is invalid: send a whole number from ${rule.min} to ${rule.max}`,
    );
  }
  return value;
}
